"""Payments: gateways, orderPay and the transaction operations (API.md section 8)."""

from schema.base import Node
from schema.payments.mutations import PaymentsMutation
from schema.payments.queries import PaymentsQuery
from schema.payments.types import Transaction

QUERIES: tuple[type, ...] = (PaymentsQuery,)
MUTATIONS: tuple[type, ...] = (PaymentsMutation,)
NODE_TYPES: tuple[type[Node], ...] = (Transaction,)
