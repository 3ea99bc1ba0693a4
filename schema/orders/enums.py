"""Order and checkout enums (schema enums made from the domain's, every value described)."""

import strawberry

from domain import orders as domain
from schema.base import describe_values

OrderStatus = strawberry.enum(
    domain.OrderStatus,
    name="OrderStatus",
    description="INCOMPLETE (new), COMPLETE (payment reached PAID) or CANCELLED (final).",
)


OrderPaymentStatus = strawberry.enum(
    domain.PaymentStatus, name="OrderPaymentStatus", description="Where the order's money is."
)


OrderShippingStatus = strawberry.enum(
    domain.ShippingStatus, name="OrderShippingStatus", description="Whether the goods went out."
)


OrderSortField = strawberry.enum(
    domain.OrderSortField, name="OrderSortField", description="What orders are sorted by."
)


describe_values(
    OrderStatus,
    {
        "INCOMPLETE": "New: not yet paid in full.",
        "COMPLETE": "Its payment reached PAID.",
        "CANCELLED": "Cancelled (final); cancelling never refunds by itself.",
    },
)


describe_values(
    OrderPaymentStatus,
    {
        "UNPAID": "Nothing paid or authorized.",
        "AUTHORIZED": "Authorized (or promised on delivery through `manual`), not yet captured.",
        "PAID": "Captured or purchased in full.",
        "PARTIALLY_REFUNDED": "Part of the captured money was refunded.",
        "REFUNDED": "All the captured money was refunded.",
    },
)


describe_values(
    OrderShippingStatus, {"UNFULFILLED": "Not shipped yet.", "FULFILLED": "Shipped (orderFulfill)."}
)


describe_values(
    OrderSortField,
    {
        "NUMBER": "The order number.",
        "CREATED_AT": "When it was placed.",
        "UPDATED_AT": "When it last changed.",
        "TOTAL": "Its total, in the order's own currency.",
    },
)
