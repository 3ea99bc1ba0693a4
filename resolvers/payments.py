"""Payment resolvers: gateways, orderPay and the transaction operations; the transaction
DataLoaders (an order's transactions, currencies by code)."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from domain import payments
from domain.gateways.base import CardDetails
from domain.payments import Method, Outcome, PayRequest, TxStatus
from domain.pricing import CurrencySpec
from domain.versions import GATEWAY
from models.orders import Order
from models.payments import Gateway, PaymentTransaction
from resolvers import orders as resolve_orders
from resolvers.context import Context


async def all_gateways(ctx: Context) -> list[Gateway]:
    """Every registered gateway, kept by the process until any process changes one (the
    `gateway` version stamp)."""

    async def load() -> list[Gateway]:
        async with ctx.read() as session:
            rows = await payments.list_gateways(session, include_disabled=True)
            session.expunge_all()  # kept beyond the session
        return rows

    return await ctx.kept("gateways", [GATEWAY], load)


async def gateways(ctx: Context) -> list[Gateway]:
    """Every gateway for admins; the enabled ones for everyone else."""
    return [g for g in await all_gateways(ctx) if g.enabled or ctx.is_admin]


async def enabled_gateways(ctx: Context) -> list[Gateway]:
    return [g for g in await all_gateways(ctx) if g.enabled]


async def update_gateway(ctx: Context, slug: str, data: dict[str, Any]) -> Gateway:
    return await ctx.written(payments.update_gateway, slug, data)


def card_details(card: dict[str, Any] | None) -> CardDetails | None:
    if card is None:
        return None
    return CardDetails(
        number=card["number"],
        exp_month=card["exp_month"],
        exp_year=card["exp_year"],
        cvc=card["cvc"],
    )


async def pay_order(ctx: Context, order_id: uuid.UUID, data: dict[str, Any]) -> Outcome:
    request = PayRequest(
        order_id=order_id,
        gateway=data["gateway"],
        method=Method(data["method"].value),
        card=card_details(data.get("card")),
        idempotency_key=data.get("idempotency_key"),
    )
    return await payments.pay_order(ctx.write, ctx.read, request, is_admin=ctx.is_admin)


async def capture(ctx: Context, order_id: uuid.UUID, tx_id: uuid.UUID) -> Outcome:
    specs = (await ctx.currencies()).every
    return await ctx.written(payments.capture, order_id, tx_id, specs)


async def refund(
    ctx: Context, order_id: uuid.UUID, tx_id: uuid.UUID, amount: int | None
) -> Outcome:
    specs = (await ctx.currencies()).every
    return await ctx.written(payments.refund, order_id, tx_id, amount, specs)


async def cancel(ctx: Context, order_id: uuid.UUID, tx_id: uuid.UUID) -> Outcome:
    return await ctx.written(payments.cancel_authorization, order_id, tx_id)


async def outcome_rows(
    ctx: Context, outcome: Outcome
) -> tuple[Order | None, PaymentTransaction | None]:
    """The order and transaction of an outcome, as committed."""
    async with ctx.read() as session:
        order = await session.get(Order, outcome.order_id)
        tx = (
            await session.get(PaymentTransaction, outcome.transaction_id)
            if outcome.transaction_id
            else None
        )
    return order, tx


async def transaction(ctx: Context, pk: uuid.UUID) -> PaymentTransaction | None:
    """A settled transaction, for whoever may see its order (admins, the order's customer)."""
    async with ctx.read() as session:
        row = await session.get(PaymentTransaction, pk)
    if row is None or row.status == TxStatus.PENDING.value:
        return None
    return row if await resolve_orders.visible_order(ctx, row.order_id) else None


async def load_order_transactions(
    ctx: Context, order_ids: Sequence[uuid.UUID]
) -> list[list[PaymentTransaction]]:
    """Each order's settled transactions, oldest first (PENDING ones are in flight)."""
    async with ctx.read() as session:
        rows = (
            await session.scalars(
                select(PaymentTransaction)
                .where(
                    PaymentTransaction.order_id.in_(list(order_ids)),
                    PaymentTransaction.status != TxStatus.PENDING.value,
                )
                .order_by(PaymentTransaction.created_at, PaymentTransaction.id)
            )
        ).all()
    by_order: dict[uuid.UUID, list[PaymentTransaction]] = defaultdict(list)
    for row in rows:
        by_order[row.order_id].append(row)
    return [by_order[i] for i in order_ids]


async def order_transactions(ctx: Context, order_id: uuid.UUID) -> list[PaymentTransaction]:
    return await ctx.loader(load_order_transactions).load(order_id)


async def currency(ctx: Context, code: str) -> CurrencySpec:
    """A transaction's currency (the order's), disabled ones too."""
    return await ctx.loader(resolve_orders.load_currency_specs).load(code)
