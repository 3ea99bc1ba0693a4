"""Cart resolvers: arguments in, domain call, a priced view of the cart out."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import carts, promotions
from domain.pricing import CurrencySpec
from domain.versions import CATALOG, PROMOTION
from models.catalog import Product
from models.shipping import ShippingMethod
from resolvers import shipping
from resolvers.context import Context
from resolvers.ids import decode_id


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart as shown to the caller: its lines priced now in the display currency. `cart` is
    None for a reference never used (or expired): an empty cart, as Moltin shows it."""

    reference: str
    cart: carts.CartRow | None
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


async def automatic_promotions(
    ctx: Context, session: AsyncSession | None = None
) -> list[promotions.Candidate]:
    """The automatic promotions, kept by the process under the `promotion` stamp, and under
    the `catalog` stamp too while any is narrowed to categories (read with `session`, or a
    read session of their own, when they are not kept)."""
    stamps = await ctx.version_stamps()
    catalog = stamps.get(CATALOG, 0)

    async def read(session: AsyncSession) -> tuple[list[promotions.Candidate], int | None]:
        found = await promotions.automatic_candidates(session)
        return found, catalog if any(c.category_ids for c in found) else None

    async def load() -> tuple[list[promotions.Candidate], int | None]:
        if session is not None:
            return await read(session)
        async with ctx.read() as own:
            return await read(own)

    name, version = "automatic_promotions", stamps.get(PROMOTION, 0)
    found, read_at = await ctx.db.stamps.value(name, version, load)
    if read_at is not None and read_at != catalog:  # the category tree may have changed
        found, read_at = await load()
        ctx.db.stamps.keep(name, version, (found, read_at))
    return list(found)


async def view_of(
    ctx: Context,
    session: AsyncSession,
    reference: str,
    contents: carts.CartContents | None,
    currencies: tuple[CurrencySpec, CurrencySpec],
) -> CartView:
    """The answer for a cart as `contents` holds it, its promotions read with `session` (the
    write's own transaction after a change: no second session, no second read of the cart)."""
    store, display = currencies
    lines = contents.lines if contents else []
    priced = carts.price_lines(lines, store, display)
    automatic = await automatic_promotions(ctx, session)
    cart = contents.cart if contents else None
    found = await promotions.cart_promotions(
        session, cart, lines, priced, buyer(ctx), store, automatic
    )
    return CartView(reference=reference, cart=cart, priced=priced, ttl=ttl(ctx), promotions=found)


def prime(ctx: Context, contents: carts.CartContents | None) -> None:
    """Give the request's product loader the rows the cart was read with (the answer's
    `items { product }` then reads nothing). After a write: its commit drops the loaders."""
    if contents is not None:
        loader = ctx.load_by_ids(Product)
        for product in contents.products.values():
            loader.prime(product.id, product)


async def cart_view(ctx: Context, reference: str) -> CartView:
    shown = await currencies(ctx)
    async with ctx.read() as session:
        contents = await carts.cart_contents(session, reference, ttl(ctx))
        view = await view_of(ctx, session, reference, contents, shown)
    prime(ctx, contents)
    return view


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


Change = Callable[[AsyncSession], Awaitable[carts.CartContents | None]]


async def changed(ctx: Context, reference: str, change: Change) -> CartView:
    """`change` in one write transaction, and the answer built in it from what the change
    returns (the cart as it left it; None: no cart)."""
    shown = await currencies(ctx)
    async with ctx.write() as session:
        contents = await change(session)
        view = await view_of(ctx, session, reference, contents, shown)
    prime(ctx, contents)
    return view


async def add_item(ctx: Context, reference: str, product_id: str, quantity: int) -> CartView:
    pk = decode_id(product_id, "Product", ["productId"])
    return await changed(
        ctx, reference, lambda s: carts.add_item(s, reference, pk, quantity, ttl(ctx))
    )


async def add_custom_item(ctx: Context, reference: str, data: dict[str, Any]) -> CartView:
    if data.get("tax_band_id") is not None:
        data["tax_band_id"] = decode_id(data["tax_band_id"], "TaxBand", ["input", "taxBandId"])
    return await changed(
        ctx, reference, lambda s: carts.add_custom_item(s, reference, data, ttl(ctx))
    )


async def update_item(ctx: Context, reference: str, item_id: str, quantity: int) -> CartView:
    pk = decode_id(item_id, "CartItem", ["itemId"])
    return await changed(
        ctx, reference, lambda s: carts.update_item(s, reference, pk, quantity, ttl(ctx))
    )


async def remove_item(ctx: Context, reference: str, item_id: str) -> CartView:
    pk = decode_id(item_id, "CartItem", ["itemId"])
    return await changed(ctx, reference, lambda s: carts.remove_item(s, reference, pk, ttl(ctx)))


async def delete_cart(ctx: Context, reference: str) -> CartView:
    async def change(session: AsyncSession) -> None:
        await carts.delete_cart(session, reference)

    return await changed(ctx, reference, change)
