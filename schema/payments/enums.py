"""Payment enums (schema enums made from the domain's, every value described)."""

from enum import Enum

import strawberry

from domain.payments import Method
from schema.base import describe_values

TransactionMethod = strawberry.enum(
    Method,
    name="TransactionMethod",
    description=(
        "What a transaction did: PURCHASE (charge at once), AUTHORIZE (hold the money or "
        "record a promise to pay), CAPTURE (take authorized money), REFUND, CANCEL (void an "
        "authorization)."
    ),
)


describe_values(
    TransactionMethod,
    {
        "PURCHASE": "Charged at once.",
        "AUTHORIZE": "Money held (or promised on delivery), to capture later.",
        "CAPTURE": "Authorized money taken.",
        "REFUND": "Captured money given back (in part or in full).",
        "CANCEL": "An authorization voided.",
    },
)


@strawberry.enum(description="How orderPay takes the money.")
class PaymentMethod(Enum):
    PURCHASE = strawberry.enum_value("PURCHASE", description="Charge now: the order is PAID.")
    AUTHORIZE = strawberry.enum_value(
        "AUTHORIZE",
        description="Authorize now, capture later (transactionCapture): the order is AUTHORIZED.",
    )


@strawberry.enum(description="How a transaction ended.")
class TransactionStatus(Enum):
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="The gateway did it.")
    FAILED = strawberry.enum_value(
        "FAILED", description="The gateway refused (see errorMessage); nothing moved."
    )
