"""Facet counts and bulk product creation (API.md section 15); the search itself serves the
product listings of resolvers/catalog.py."""

from typing import Any

from domain import bulk, facets
from domain.catalog import ProductQuery
from domain.versions import CATALOG
from models.catalog import Product
from resolvers.catalog import _decode_product_ids
from resolvers.context import Context


async def product_facets(ctx: Context, query: ProductQuery) -> facets.Facets:
    """The facets of `query`; those of the whole catalogue (the storefront's sidebar before any
    filter: a scan of every product) are kept by the process until the `catalog` version stamp
    moves (any product, stock, category or brand change by any process)."""

    async def load() -> facets.Facets:
        async with ctx.read() as session:
            return await facets.product_facets(session, query, not ctx.is_admin, ctx.db.is_sqlite)

    if query != ProductQuery():
        return await load()
    role = "admin" if ctx.is_admin else "storefront"
    return await ctx.kept(f"product_facets:{role}", [CATALOG], load)


async def create_products(ctx: Context, inputs: list[dict[str, Any]]) -> list[Product]:
    async with ctx.write() as session:
        return await bulk.create_products(session, [_decode_product_ids(d) for d in inputs])
