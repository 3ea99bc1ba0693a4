"""Carts (API.md section 6). Checkout is in `schema.orders`."""

from schema.base import Node
from schema.carts.mutations import CartMutation
from schema.carts.queries import CartQuery
from schema.carts.types import CartItem

QUERIES: tuple[type, ...] = (CartQuery,)
MUTATIONS: tuple[type, ...] = (CartMutation,)
NODE_TYPES: tuple[type[Node], ...] = (CartItem,)
