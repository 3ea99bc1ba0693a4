"""Inventory resolvers: manual stock transactions and the stock ledger."""

import uuid
from collections.abc import Sequence
from typing import Any

from domain import holds, inventory
from domain.inventory import StockAction
from domain.pagination import Page, PageRequest
from models.catalog import Product
from models.inventory import StockTransaction
from resolvers.context import Context


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
