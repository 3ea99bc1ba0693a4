"""Checkout and orders (API.md section 7)."""

from schema.orders.mutations import OrderMutation
from schema.orders.queries import OrderQuery
from schema.orders.subscriptions import OrderSubscription

QUERIES: tuple[type, ...] = (OrderQuery,)
MUTATIONS: tuple[type, ...] = (OrderMutation,)
SUBSCRIPTIONS: tuple[type, ...] = (OrderSubscription,)
