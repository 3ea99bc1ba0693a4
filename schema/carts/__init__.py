"""Carts (API.md section 6). Checkout is in `schema.orders`."""

from schema.carts.mutations import CartMutation
from schema.carts.queries import CartQuery

QUERIES: tuple[type, ...] = (CartQuery,)
MUTATIONS: tuple[type, ...] = (CartMutation,)
