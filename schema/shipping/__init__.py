"""Shipping methods (API.md section 5)."""

from schema.shipping.mutations import ShippingMutation
from schema.shipping.queries import ShippingQuery

QUERIES: tuple[type, ...] = (ShippingQuery,)
MUTATIONS: tuple[type, ...] = (ShippingMutation,)
