"""Payments: gateways, orderPay and the transaction operations (API.md section 8)."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from domain import pricing
from domain.errors import DomainError, DomainErrors
from domain.payments import Method, Outcome
from models.payments import Gateway as GatewayRow
from models.payments import PaymentTransaction as TransactionRow
from resolvers import payments as resolve
from resolvers.ids import decode_id
from schema import orders
from schema.base import (
    IsAdmin,
    Money,
    Node,
    StrawberryInfo,
    UserError,
    describe_values,
    described,
    global_id,
    input_data,
    mutate_row,
    node_type,
)

Order = Annotated["Order", strawberry.lazy("schema.orders")]
"""Lazy: `schema.orders` puts `Order.transactions` together with types of this module."""

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


# --- gateways --------------------------------------------------------------------------


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


@strawberry.type(description="The result of gatewayUpdate.")
class GatewayPayload:
    gateway: Gateway | None = strawberry.field(default=None, description="The gateway after it.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- transactions ----------------------------------------------------------------------


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


@node_type("Transaction")
async def _transaction_node(info: StrawberryInfo, pk: uuid.UUID) -> Transaction | None:
    row = await resolve.transaction(info.context, pk)
    return Transaction.of(row) if row else None


async def order_transactions(info: StrawberryInfo, order_id: uuid.UUID) -> list[Transaction]:
    """For `Order.transactions` (one batched query for every order of a response)."""
    return [Transaction.of(r) for r in await resolve.order_transactions(info.context, order_id)]


# --- orderPay and the transaction operations ---------------------------------------------


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


@strawberry.type(
    description="The result of orderPay. A declined payment has a FAILED transaction and a "
    "PAYMENT_DECLINED error; the order is then unchanged (UNPAID, nothing allocated)."
)
class OrderPayPayload:
    order: Order | None = strawberry.field(default=None, description="The order after paying.")
    transaction: Transaction | None = strawberry.field(
        default=None, description="The transaction recorded (FAILED when declined)."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(
    description="The result of transactionCapture, transactionRefund and transactionCancel. "
    "When the gateway refuses, the FAILED transaction is returned with a PAYMENT_DECLINED error."
)
class TransactionPayload:
    order: Order | None = strawberry.field(default=None, description="The order after it.")
    transaction: Transaction | None = strawberry.field(
        default=None, description="The new CAPTURE, REFUND or CANCEL transaction."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


PayloadT = type[OrderPayPayload] | type[TransactionPayload]


async def _outcome_payload(
    info: StrawberryInfo, payload: PayloadT, run: Callable[[], Awaitable[Outcome]]
) -> Any:
    """Run a payment operation. Argument and rule failures raise (nothing changed: only
    errors); an outcome carries the order and the transaction, and its error if the gateway
    declined. Other failed outcomes (e.g. a replayed INSUFFICIENT_STOCK) carry no objects."""
    try:
        outcome = await run()
    except DomainError as error:
        return payload(errors=[UserError.from_domain(error)])
    except DomainErrors as many:
        return payload(errors=[UserError.from_domain(e) for e in many.errors])
    errors = [UserError.from_domain(outcome.error)] if outcome.error else []
    if outcome.transaction_id is None:
        return payload(errors=errors)
    order, tx = await resolve.outcome_rows(info.context, outcome)
    return payload(
        order=orders.Order.of(order) if order else None,
        transaction=Transaction.of(tx) if tx else None,
        errors=errors,
    )


OrderIdArg = described(strawberry.ID, "The order's global id.")
TransactionIdArg = described(strawberry.ID, "The transaction to act on (one of the order's).")


@strawberry.type
class PaymentsQuery:
    @strawberry.field(description="Enabled payment gateways (admins: every gateway), by slug.")
    async def gateways(self, info: StrawberryInfo) -> list[Gateway]:
        return [Gateway.of(r) for r in await resolve.gateways(info.context)]


@strawberry.type
class PaymentsMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Enable, disable or rename a gateway."
    )
    async def gateway_update(
        self,
        info: StrawberryInfo,
        slug: Annotated[str, strawberry.argument(description="The gateway, e.g. `card`.")],
        input: Annotated[GatewayInput, strawberry.argument(description="What to change.")],
    ) -> GatewayPayload | None:
        return await mutate_row(
            GatewayPayload,
            "gateway",
            Gateway.of,
            lambda: resolve.update_gateway(info.context, slug, input_data(input)),
        )

    @strawberry.mutation(
        description="Pay an UNPAID order: allocates stock for every managed line (all or "
        "nothing: INSUFFICIENT_STOCK and no charge), then asks the gateway. Any token may pay "
        "an order whose id it holds."
    )
    async def order_pay(
        self,
        info: StrawberryInfo,
        order_id: OrderIdArg,
        input: Annotated[OrderPayInput, strawberry.argument(description="How to pay.")],
    ) -> OrderPayPayload:
        async def run() -> Outcome:
            pk = decode_id(order_id, "Order", ["orderId"])
            return await resolve.pay_order(info.context, pk, input_data(input))

        result: OrderPayPayload = await _outcome_payload(info, OrderPayPayload, run)
        return result

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Capture an authorization: the order becomes PAID and COMPLETE.",
    )
    async def transaction_capture(
        self, info: StrawberryInfo, order_id: OrderIdArg, transaction_id: TransactionIdArg
    ) -> TransactionPayload | None:
        async def run() -> Outcome:
            pk = decode_id(order_id, "Order", ["orderId"])
            tx = decode_id(transaction_id, "Transaction", ["transactionId"])
            return await resolve.capture(info.context, pk, tx)

        result: TransactionPayload = await _outcome_payload(info, TransactionPayload, run)
        return result

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Refund captured money, in part or in full; never more than was captured.",
    )
    async def transaction_refund(
        self,
        info: StrawberryInfo,
        order_id: OrderIdArg,
        transaction_id: TransactionIdArg,
        amount: Annotated[
            int | None,
            strawberry.argument(
                description="Minor units of the order currency; omitted: all that is left."
            ),
        ] = None,
    ) -> TransactionPayload | None:
        async def run() -> Outcome:
            pk = decode_id(order_id, "Order", ["orderId"])
            tx = decode_id(transaction_id, "Transaction", ["transactionId"])
            return await resolve.refund(info.context, pk, tx, amount)

        result: TransactionPayload = await _outcome_payload(info, TransactionPayload, run)
        return result

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Void an authorization: the order is UNPAID again and its stock released.",
    )
    async def transaction_cancel(
        self, info: StrawberryInfo, order_id: OrderIdArg, transaction_id: TransactionIdArg
    ) -> TransactionPayload | None:
        async def run() -> Outcome:
            pk = decode_id(order_id, "Order", ["orderId"])
            tx = decode_id(transaction_id, "Transaction", ["transactionId"])
            return await resolve.cancel(info.context, pk, tx)

        result: TransactionPayload = await _outcome_payload(info, TransactionPayload, run)
        return result


QUERIES: tuple[type, ...] = (PaymentsQuery,)
MUTATIONS: tuple[type, ...] = (PaymentsMutation,)
