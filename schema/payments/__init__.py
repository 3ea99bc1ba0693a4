"""Payments: gateways, orderPay and the transaction operations (API.md section 8)."""

from schema.payments.mutations import PaymentsMutation
from schema.payments.queries import PaymentsQuery

QUERIES: tuple[type, ...] = (PaymentsQuery,)
MUTATIONS: tuple[type, ...] = (PaymentsMutation,)
