"""Promotion resolvers: admin CRUD and listing, codes on carts, and the DataLoaders behind
promotion and order-discount fields."""

import uuid
from collections.abc import Sequence
from typing import Any

from domain import promotions
from domain.pagination import Page, PageRequest
from models.promotions import OrderDiscount, Promotion, PromotionCategory, PromotionProduct
from resolvers.carts import CartView, buyer, cart_view, currencies, ttl
from resolvers.context import Context
from resolvers.ids import decode_id

# --- loaders ---------------------------------------------------------------------------


async def load_product_links(ctx: Context, ids: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
    async with ctx.read() as session:
        return await promotions.links_of(session, ids, PromotionProduct)


async def load_category_links(ctx: Context, ids: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
    async with ctx.read() as session:
        return await promotions.links_of(session, ids, PromotionCategory)


async def load_order_discounts(
    ctx: Context, order_ids: Sequence[uuid.UUID]
) -> list[list[OrderDiscount]]:
    async with ctx.read() as session:
        return await promotions.discounts_of_orders(session, order_ids)


async def promotion(ctx: Context, pk: uuid.UUID) -> Promotion | None:
    return await ctx.load_by_ids(Promotion).load(pk)


async def product_ids(ctx: Context, pk: uuid.UUID) -> list[uuid.UUID]:
    return await ctx.loader(load_product_links).load(pk)


async def category_ids(ctx: Context, pk: uuid.UUID) -> list[uuid.UUID]:
    return await ctx.loader(load_category_links).load(pk)


async def order_discounts(ctx: Context, order_id: uuid.UUID) -> list[OrderDiscount]:
    return await ctx.loader(load_order_discounts).load(order_id)


# --- admin -----------------------------------------------------------------------------


async def promotion_page(
    ctx: Context, where: promotions.PromotionFilter, request: PageRequest
) -> Page[Promotion]:
    async with ctx.read() as session:
        return await promotions.promotion_page(session, where, request)


def promotion_input(data: dict[str, Any]) -> dict[str, Any]:
    """The input's global ids as primary keys (NOT_FOUND names the list entry)."""
    data = dict(data)
    for name, kind, camel in (
        ("product_ids", "Product", "productIds"),
        ("category_ids", "Category", "categoryIds"),
    ):
        if data.get(name) is not None:
            data[name] = [
                decode_id(v, kind, ["input", camel, str(i)]) for i, v in enumerate(data[name])
            ]
    return data


async def create_promotion(ctx: Context, data: dict[str, Any]) -> Promotion:
    async with ctx.write() as session:
        return await promotions.create_promotion(session, promotion_input(data))


async def update_promotion(ctx: Context, global_id: str, data: dict[str, Any]) -> Promotion:
    pk = decode_id(global_id, "Promotion")
    async with ctx.write() as session:
        return await promotions.update_promotion(session, pk, promotion_input(data))


async def delete_promotion(ctx: Context, global_id: str) -> Promotion:
    pk = decode_id(global_id, "Promotion")
    async with ctx.write() as session:
        return await promotions.delete_promotion(session, pk)


# --- codes on carts --------------------------------------------------------------------


async def apply_code(ctx: Context, reference: str, code: str) -> CartView:
    store, display = await currencies(ctx)
    async with ctx.write() as session:
        await promotions.apply_code(session, reference, code, ttl(ctx), store, display, buyer(ctx))
    return await cart_view(ctx, reference)


async def remove_code(ctx: Context, reference: str, code: str) -> CartView:
    await currencies(ctx)
    async with ctx.write() as session:
        await promotions.remove_code(session, reference, code, ttl(ctx))
    return await cart_view(ctx, reference)
