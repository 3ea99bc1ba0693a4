"""Payment object types; Node types also say how `node(id:)` fetches them."""

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from domain import pricing
from domain.payments import Method
from models.payments import Gateway as GatewayRow
from models.payments import PaymentTransaction as TransactionRow
from resolvers import payments as resolve
from schema.base import IsAdmin, Money, Node, StrawberryInfo, global_id
from schema.payments.enums import TransactionMethod, TransactionStatus

Order = Annotated["Order", strawberry.lazy("schema.orders.types")]


"""Lazy: `schema.orders` puts `Order.transactions` together with types of this module."""


@strawberry.type(description="A payment gateway (`manual` and `card` are built in).")
class Gateway:
    slug: str = strawberry.field(description="Stable identifier, e.g. `card`; orderPay names it.")
    name: str = strawberry.field(description="Display name for buyers.")
    enabled: bool = strawberry.field(description="Whether orderPay may use it.")
    row: strawberry.Private[GatewayRow]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Provider settings (admin only), e.g. `instructions` of `manual`.",
    )
    def settings(self) -> JSON | None:
        return self.row.settings

    @classmethod
    def of(cls, row: GatewayRow) -> "Gateway":
        return cls(slug=row.slug, name=row.name, enabled=row.enabled, row=row)


async def enabled_gateways(info: StrawberryInfo) -> list[Gateway]:
    """For `Cart.gateways`: what the buyer may pay with, whoever asks."""
    return [Gateway.of(r) for r in await resolve.enabled_gateways(info.context)]


@strawberry.type(description="What is kept of a card: never its number.")
class PaymentCard:
    brand: str = strawberry.field(
        description="visa, mastercard, amex, discover or unknown (from the number's prefix)."
    )
    last4: str = strawberry.field(description="The last four digits.")


@strawberry.type(
    description="One operation of a gateway on an order's money, successful or not. "
    "A FAILED transaction is kept as a record of the attempt."
)
class Transaction(Node):
    gateway: str = strawberry.field(description="The gateway's slug.")
    method: TransactionMethod = strawberry.field(description="What was asked of the gateway.")
    status: TransactionStatus = strawberry.field(description="SUCCEEDED or FAILED.")
    reference: str | None = strawberry.field(
        description="The gateway's reference for it (null for `manual`)."
    )
    card: PaymentCard | None = strawberry.field(description="The card used, if any.")
    error_message: str | None = strawberry.field(
        description="Why it failed, as the gateway put it (null when it succeeded)."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    row: strawberry.Private[TransactionRow]

    @strawberry.field(description="The amount, in the order's currency.")
    async def amount(self, info: StrawberryInfo) -> Money:
        spec = await resolve.currency(info.context, self.row.currency)
        return Money.of(pricing.Money(self.row.amount, spec))

    @strawberry.field(
        description="Money refunded from this transaction so far (PURCHASE and CAPTURE; "
        "0 for the others). What is left to refund is amount - refunded."
    )
    async def refunded(self, info: StrawberryInfo) -> Money:
        spec = await resolve.currency(info.context, self.row.currency)
        return Money.of(pricing.Money(self.row.refunded_amount, spec))

    @strawberry.field(description="The transaction a CAPTURE, REFUND or CANCEL acted on (its id).")
    def parent_id(self) -> strawberry.ID | None:
        parent = self.row.parent_id
        return global_id("Transaction", parent) if parent else None

    @classmethod
    def of(cls, row: TransactionRow) -> "Transaction":
        card = None
        if row.card_last4 is not None:
            card = PaymentCard(brand=row.card_brand or "unknown", last4=row.card_last4)
        return cls(
            id=global_id("Transaction", row.id),
            gateway=row.gateway,
            method=Method(row.method),
            status=TransactionStatus(row.status),
            reference=row.reference,
            card=card,
            error_message=row.error_message,
            created_at=row.created_at,
            row=row,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Transaction | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.transaction(info.context, pk)
        return cls.of(row) if row else None


async def order_transactions(info: StrawberryInfo, order_id: uuid.UUID) -> list[Transaction]:
    """For `Order.transactions` (one batched query for every order of a response)."""
    return [Transaction.of(r) for r in await resolve.order_transactions(info.context, order_id)]
