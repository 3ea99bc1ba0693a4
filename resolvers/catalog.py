"""Catalogue resolvers: arguments in, domain call, rows out; and the catalogue DataLoaders."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from domain import catalog
from models.catalog import Currency, TaxBand
from resolvers.context import Context


async def load_tax_bands(ctx: Context, ids: Sequence[uuid.UUID]) -> list[TaxBand | None]:
    async with ctx.read() as session:
        rows = (await session.scalars(select(TaxBand).where(TaxBand.id.in_(ids)))).all()
    by_id = {r.id: r for r in rows}
    return [by_id.get(i) for i in ids]


async def tax_band(ctx: Context, pk: uuid.UUID) -> TaxBand | None:
    return await ctx.loader(load_tax_bands).load(pk)


async def tax_bands(ctx: Context) -> Sequence[TaxBand]:
    async with ctx.read() as session:
        return (await session.scalars(select(TaxBand).order_by(TaxBand.name, TaxBand.id))).all()


async def create_tax_band(ctx: Context, data: dict[str, Any]) -> TaxBand:
    async with ctx.write() as session:
        return await catalog.create_tax_band(session, data)


async def update_tax_band(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> TaxBand:
    async with ctx.write() as session:
        return await catalog.update_tax_band(session, pk, data)


async def delete_tax_band(ctx: Context, pk: uuid.UUID) -> TaxBand:
    async with ctx.write() as session:
        return await catalog.delete_tax_band(session, pk)


async def currencies(ctx: Context) -> Sequence[Currency]:
    """Every currency for admins; the enabled ones for everyone else."""
    stmt = select(Currency).order_by(Currency.is_default.desc(), Currency.code)
    if not ctx.is_admin:
        stmt = stmt.where(Currency.enabled)
    async with ctx.read() as session:
        return (await session.scalars(stmt)).all()


async def currency(ctx: Context, pk: uuid.UUID | None, code: str | None) -> Currency | None:
    stmt = select(Currency)
    stmt = (
        stmt.where(Currency.id == pk) if pk else stmt.where(Currency.code == (code or "").upper())
    )
    if not ctx.is_admin:
        stmt = stmt.where(Currency.enabled)
    async with ctx.read() as session:
        return await session.scalar(stmt)


async def create_currency(ctx: Context, data: dict[str, Any]) -> Currency:
    async with ctx.write() as session:
        return await catalog.create_currency(session, data)


async def update_currency(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> Currency:
    async with ctx.write() as session:
        return await catalog.update_currency(session, pk, data)


async def delete_currency(ctx: Context, pk: uuid.UUID) -> Currency:
    async with ctx.write() as session:
        return await catalog.delete_currency(session, pk)
