"""Checkout and orders (API.md section 7)."""

from schema.base import Node
from schema.orders.mutations import OrderMutation
from schema.orders.queries import OrderQuery
from schema.orders.subscriptions import OrderSubscription
from schema.orders.types import Order, OrderItem

QUERIES: tuple[type, ...] = (OrderQuery,)
MUTATIONS: tuple[type, ...] = (OrderMutation,)
SUBSCRIPTIONS: tuple[type, ...] = (OrderSubscription,)
NODE_TYPES: tuple[type[Node], ...] = (
    Order,
    OrderItem,
)
