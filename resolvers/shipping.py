"""Shipping resolvers: arguments in, domain call, rows out; and the shipping-method DataLoader."""

import uuid
from typing import Any

from domain import shipping
from domain.pricing import PriceBreakdown, breakdown
from domain.versions import SHIPPING
from models.shipping import ShippingMethod
from resolvers import catalog
from resolvers.context import Context


async def shipping_method_row(ctx: Context, pk: uuid.UUID) -> ShippingMethod | None:
    """Any method by id, disabled ones too (e.g. the method an order was placed with)."""
    return await ctx.load_by_ids(ShippingMethod).load(pk)


async def visible_method(ctx: Context, pk: uuid.UUID) -> ShippingMethod | None:
    """A method by id; disabled methods only for admins."""
    row = await shipping_method_row(ctx, pk)
    return row if row is not None and (row.enabled or ctx.is_admin) else None


async def methods(ctx: Context) -> list[ShippingMethod]:
    """Enabled methods, cheapest first; admins also see disabled ones."""
    async with ctx.read() as session:
        return await shipping.list_methods(session, include_disabled=ctx.is_admin)


async def all_methods(ctx: Context) -> list[ShippingMethod]:
    """Every method, cheapest first, kept by the process until any process changes one (the
    `shipping` version stamp)."""

    async def load() -> list[ShippingMethod]:
        async with ctx.read() as session:
            rows = await shipping.list_methods(session, include_disabled=True)
            session.expunge_all()  # kept beyond the session
        return rows

    return await ctx.kept("shipping_methods", [SHIPPING], load)


async def eligible_methods(ctx: Context, subtotal: int, weight: int) -> list[ShippingMethod]:
    """The enabled methods a cart of `subtotal` and `weight` may use, cheapest first (from
    the kept methods: no statement)."""
    return [m for m in await all_methods(ctx) if shipping.is_eligible(m, subtotal, weight)]


async def create_method(ctx: Context, data: dict[str, Any]) -> ShippingMethod:
    return await ctx.written(shipping.create_method, data)


async def update_method(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> ShippingMethod:
    return await ctx.written(shipping.update_method, pk, data)


async def delete_method(ctx: Context, pk: uuid.UUID) -> ShippingMethod:
    return await ctx.written(shipping.delete_method, pk)


async def price(ctx: Context, row: ShippingMethod) -> PriceBreakdown:
    """The method's price in the request's display currency, taxed at its band's rate."""
    band = await catalog.tax_band(ctx, row.tax_band_id) if row.tax_band_id else None
    store, target = await ctx.store_currency(), await ctx.display_currency()
    return breakdown(row.price, band.rate if band else None, store, target)
