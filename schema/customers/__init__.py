"""Customers, their sign-in tokens and address books; the Address types every area shares
(API.md section 5)."""

from schema.base import Node
from schema.customers.mutations import CustomerMutation
from schema.customers.queries import CustomerQuery
from schema.customers.types import Customer, CustomerAddress

QUERIES: tuple[type, ...] = (CustomerQuery,)
MUTATIONS: tuple[type, ...] = (CustomerMutation,)
NODE_TYPES: tuple[type[Node], ...] = (
    Customer,
    CustomerAddress,
)
