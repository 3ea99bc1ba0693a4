"""Inventory resolvers: manual stock transactions and the stock ledger."""

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from domain import eventbus, holds, inventory
from domain.errors import DomainError, ErrorCode
from domain.inventory import StockAction
from domain.pagination import Page, PageRequest
from models.catalog import Product
from models.inventory import StockTransaction
from resolvers.catalog import visible
from resolvers.context import Context
from resolvers.ids import maybe_decode_id

MAX_WATCHED_PRODUCTS = 100
"""Products one `stockUpdated` subscription may list."""


async def create_stock_transaction(
    ctx: Context, product_id: uuid.UUID, action: StockAction, quantity: int
) -> tuple[Product, StockTransaction]:
    return await ctx.written(inventory.create_stock_transaction, product_id, action, quantity)


async def load_reserved(ctx: Context, product_ids: Sequence[uuid.UUID]) -> list[int]:
    async with ctx.read() as session:
        return await holds.reserved_by_product(session, product_ids)


async def reserved_of(ctx: Context, product_id: uuid.UUID) -> int:
    """`Stock.reserved`: batched over every product of the request."""
    return int(await ctx.loader(load_reserved).load(product_id))


async def stock_transactions(
    ctx: Context, product_id: uuid.UUID, request: PageRequest
) -> Page[StockTransaction]:
    async with ctx.read() as session:
        return await inventory.list_stock_transactions(session, product_id, request)


async def stock_transaction(ctx: Context, pk: uuid.UUID) -> StockTransaction | None:
    async with ctx.read() as session:
        row: Any = await session.get(StockTransaction, pk)
        return row


def watched_products(global_ids: Sequence[str]) -> list[uuid.UUID]:
    """The products a `stockUpdated` lists, once each, in order. An id that names no product
    is never yielded, like one of a product the caller may not see (storefronts learn nothing
    about DRAFT products)."""
    if not 1 <= len(global_ids) <= MAX_WATCHED_PRODUCTS:
        message = f"list 1 to {MAX_WATCHED_PRODUCTS} product ids"
        raise DomainError(ErrorCode.INVALID, message, ["productIds"])
    pks = (maybe_decode_id(g, "Product") for g in global_ids)
    return list(dict.fromkeys(pk for pk in pks if pk is not None))


def _stock_state(row: Product) -> tuple[Any, ...]:
    """What a stock update shows of a product (its status decides who may see it)."""
    return (row.status, row.manage_stock, row.stock_total, row.stock_allocated)


async def watch_stock(ctx: Context, pks: Sequence[uuid.UUID]) -> AsyncIterator[Product]:
    """Each listed product the caller may see (storefronts: LIVE ones) now, then again each
    time a committed change of its stock (or status) is announced by any process. A product
    re-read unchanged (an announcement of a commit older than the last read, a resync after
    the listener reconnected) is not sent again."""
    topics = [eventbus.stock_topic(pk) for pk in pks]
    sent: dict[uuid.UUID, tuple[Any, ...]] = {}
    bus = eventbus.bus_of(ctx.db)
    async with bus.subscribe(topics) as subscription:
        changed = list(pks)
        while True:
            ctx.forget_cached()
            rows = await bus.fresh_rows(ctx.db, Product, changed, subscription.delivery)
            for row in rows:
                if row is not None and visible(ctx, row) and sent.get(row.id) != _stock_state(row):
                    sent[row.id] = _stock_state(row)
                    yield row
            woke = await subscription.wait()
            changed = [pk for pk, topic in zip(pks, topics, strict=True) if topic in woke]
