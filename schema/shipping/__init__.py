"""Shipping methods (API.md section 5)."""

from schema.base import Node
from schema.shipping.mutations import ShippingMutation
from schema.shipping.queries import ShippingQuery
from schema.shipping.types import ShippingMethod

QUERIES: tuple[type, ...] = (ShippingQuery,)
MUTATIONS: tuple[type, ...] = (ShippingMutation,)
NODE_TYPES: tuple[type[Node], ...] = (ShippingMethod,)
