"""Cart resolvers: arguments in, domain call, a priced view of the cart out."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import carts, promotions
from domain.pricing import CurrencySpec
from models.carts import Cart
from models.shipping import ShippingMethod
from resolvers import shipping
from resolvers.context import Context
from resolvers.ids import decode_id


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart as shown to the caller: its lines priced now in the display currency. `cart` is
    None for a reference never used (or expired): an empty cart, as Moltin shows it."""

    reference: str
    cart: Cart | None
    priced: carts.PricedLines
    ttl: timedelta
    promotions: promotions.CartPromotions

    @property
    def expires_at(self) -> datetime | None:
        return self.cart.updated_at + self.ttl if self.cart else None


def ttl(ctx: Context) -> timedelta:
    return timedelta(days=ctx.settings.cart_ttl_days)


async def currencies(ctx: Context) -> tuple[CurrencySpec, CurrencySpec]:
    """Store and display currency; resolved before any write, so that a bad X-Currency
    header fails the request before it changes anything."""
    return await ctx.store_currency(), await ctx.display_currency()


async def cart_view(ctx: Context, reference: str) -> CartView:
    store, display = await currencies(ctx)
    async with ctx.read() as session:
        contents = await carts.cart_contents(session, reference, ttl(ctx))
        lines = contents.lines if contents else []
        priced = carts.price_lines(lines, store, display)
        found = await promotions.cart_promotions(
            session, contents.cart.id if contents else None, lines, priced, buyer(ctx), store
        )
    return CartView(
        reference=reference,
        cart=contents.cart if contents else None,
        priced=priced,
        ttl=ttl(ctx),
        promotions=found,
    )


def buyer(ctx: Context) -> str | None:
    """Whose per-customer promotion limits a cart shows: the signed-in customer's (a guest's
    email is known only at checkout)."""
    return str(ctx.customer_id) if ctx.customer_id else None


async def item_view(ctx: Context, item_id: uuid.UUID) -> carts.PricedLine | None:
    """A line of a live cart, priced like the cart shows it; None for an unknown line or one
    of an expired cart. Whoever holds a line's id may read it, as whoever holds its cart's
    reference may read the cart."""
    async with ctx.read() as session:
        reference = await carts.reference_of_item(session, item_id)
    if reference is None:
        return None
    view = await cart_view(ctx, reference)
    return next((p for p in view.priced.lines if p.line.item_id == item_id), None)


async def eligible_methods(ctx: Context, view: CartView) -> list[ShippingMethod]:
    return await shipping.eligible_methods(ctx, view.priced.store_subtotal, view.priced.weight)


async def add_item(ctx: Context, reference: str, product_id: str, quantity: int) -> CartView:
    pk = decode_id(product_id, "Product", ["productId"])
    await currencies(ctx)
    async with ctx.write() as session:
        await carts.add_item(session, reference, pk, quantity, ttl(ctx))
    return await cart_view(ctx, reference)


async def add_custom_item(ctx: Context, reference: str, data: dict[str, Any]) -> CartView:
    if data.get("tax_band_id") is not None:
        data["tax_band_id"] = decode_id(data["tax_band_id"], "TaxBand", ["input", "taxBandId"])
    await currencies(ctx)
    async with ctx.write() as session:
        await carts.add_custom_item(session, reference, data, ttl(ctx))
    return await cart_view(ctx, reference)


async def update_item(ctx: Context, reference: str, item_id: str, quantity: int) -> CartView:
    pk = decode_id(item_id, "CartItem", ["itemId"])
    await currencies(ctx)
    async with ctx.write() as session:
        await carts.update_item(session, reference, pk, quantity, ttl(ctx))
    return await cart_view(ctx, reference)


async def remove_item(ctx: Context, reference: str, item_id: str) -> CartView:
    pk = decode_id(item_id, "CartItem", ["itemId"])
    await currencies(ctx)
    async with ctx.write() as session:
        await carts.remove_item(session, reference, pk, ttl(ctx))
    return await cart_view(ctx, reference)


async def delete_cart(ctx: Context, reference: str) -> CartView:
    await currencies(ctx)
    async with ctx.write() as session:
        await carts.delete_cart(session, reference)
    return await cart_view(ctx, reference)
