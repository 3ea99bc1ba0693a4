"""Payment input types and argument annotations."""

import strawberry
from strawberry.scalars import JSON

from schema.base import described
from schema.payments.enums import PaymentMethod


@strawberry.input(description="A gateway's changes (omitted fields are left unchanged).")
class GatewayInput:
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Turn the gateway on or off for new payments."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    settings: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Settings to change, merged into the current ones (null removes one); "
        "only the gateway's own setting names are accepted.",
    )


@strawberry.input(description="Card details. Only the brand and last four digits are kept.")
class CardInput:
    number: str = strawberry.field(description="12 to 19 digits (spaces and dashes allowed).")
    exp_month: int = strawberry.field(description="1 to 12.")
    exp_year: int = strawberry.field(description="e.g. 2030 (two digits, 30, also work).")
    cvc: str = strawberry.field(description="3 or 4 digits.")


@strawberry.input(description="How to pay an order.")
class OrderPayInput:
    gateway: str = strawberry.field(description="The slug of an enabled gateway (see gateways).")
    method: PaymentMethod = strawberry.field(
        description="PURCHASE or AUTHORIZE. A storefront may AUTHORIZE through `manual` (pay "
        "on delivery) but never PURCHASE through it (that marks the order paid)."
    )
    card: CardInput | None = strawberry.field(
        default=strawberry.UNSET, description="Required by `card`; refused by `manual`."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Any unique string (1 to 255 characters, e.g. a UUID) per payment attempt: "
        "retrying with it returns the first result and never charges twice; reusing it with "
        "other arguments is IDEMPOTENCY_KEY_REUSED.",
    )


OrderIdArg = described(strawberry.ID, "The order's global id.")


TransactionIdArg = described(strawberry.ID, "The transaction to act on (one of the order's).")
