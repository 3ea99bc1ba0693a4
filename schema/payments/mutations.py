"""Payment root mutation fields and their payload types."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from domain.errors import DomainError, DomainErrors
from domain.payments import Outcome
from resolvers import payments as resolve
from resolvers.ids import decode_id
from schema.base import IsAdmin, StrawberryInfo, UserError, input_data, row_result
from schema.orders import types as orders
from schema.payments.inputs import GatewayInput, OrderIdArg, OrderPayInput, TransactionIdArg
from schema.payments.types import Gateway, Order, Transaction


@strawberry.type(description="The result of gatewayUpdate.")
class GatewayPayload:
    gateway: Gateway | None = strawberry.field(default=None, description="The gateway after it.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


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
    order, tx = outcome.order, outcome.transaction
    if order is None or tx is None:
        order, tx = await resolve.outcome_rows(info.context, outcome)
    return payload(
        order=orders.Order.of(order) if order else None,
        transaction=Transaction.of(tx) if tx else None,
        errors=errors,
    )


gateway_result = row_result(GatewayPayload, "gateway", Gateway.of)


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
        return await gateway_result(
            lambda: resolve.update_gateway(info.context, slug, input_data(input))
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
