"""Customers, their sign-in tokens and address books; the Address types every area shares
(API.md section 5)."""

from schema.customers.mutations import CustomerMutation
from schema.customers.queries import CustomerQuery

QUERIES: tuple[type, ...] = (CustomerQuery,)
MUTATIONS: tuple[type, ...] = (CustomerMutation,)
