"""Order resolvers: who may see which order, checkout and orderCreate, the state-changing
mutations, and the DataLoaders behind order fields (no N+1 in listings)."""

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from domain import eventbus, orders
from domain.customfields import CustomFieldEntity, definitions_of
from domain.pagination import Page, PageRequest
from domain.pricing import CurrencySpec, default_spec
from domain.versions import FIELDS
from models.catalog import FieldDefinition
from models.orders import Order, OrderEvent, OrderItem
from resolvers import shipping
from resolvers.carts import automatic_promotions, currencies, ttl
from resolvers.context import Context
from resolvers.ids import decode_id, maybe_decode_id, pk_or_no_row

# --- loaders ---------------------------------------------------------------------------


async def load_items(ctx: Context, order_ids: Sequence[uuid.UUID]) -> list[list[OrderItem]]:
    async with ctx.read() as session:
        return await orders.items_of_orders(session, order_ids)


async def load_events(ctx: Context, order_ids: Sequence[uuid.UUID]) -> list[list[OrderEvent]]:
    async with ctx.read() as session:
        return await orders.events_of_orders(session, order_ids)


async def load_currency_specs(ctx: Context, codes: Sequence[str]) -> list[CurrencySpec]:
    """Formatting of the orders' currencies (disabled ones too: an order keeps its currency),
    from the currency table the process keeps."""
    by_code = (await ctx.currencies()).every
    return [by_code.get(code) or _unknown_currency(code) for code in codes]


def _unknown_currency(code: str) -> CurrencySpec:
    _, fmt, places = default_spec(code)
    return CurrencySpec(code=code, format=fmt, decimal_places=places)


async def items_of(ctx: Context, order_id: uuid.UUID) -> list[OrderItem]:
    return await ctx.loader(load_items).load(order_id)


async def events_of(ctx: Context, order_id: uuid.UUID) -> list[OrderEvent]:
    return await ctx.loader(load_events).load(order_id)


async def currency_of(ctx: Context, order: Order) -> CurrencySpec:
    return await ctx.loader(load_currency_specs).load(order.currency)


# --- reads -----------------------------------------------------------------------------


def may_see(ctx: Context, order: Order | None) -> bool:
    """Admins see every order; a signed-in customer sees their own; nobody else any."""
    if order is None:
        return False
    return ctx.is_admin or (ctx.customer_id is not None and order.customer_id == ctx.customer_id)


async def visible_order(ctx: Context, pk: uuid.UUID) -> Order | None:
    order = await ctx.load_by_ids(Order).load(pk)
    return order if may_see(ctx, order) else None


async def visible_order_item(ctx: Context, pk: uuid.UUID) -> tuple[OrderItem, Order] | None:
    """An order line and its order, if the caller may see the order."""
    async with ctx.read() as session:
        item = await orders.order_item(session, pk)
    order = await visible_order(ctx, item.order_id) if item else None
    return (item, order) if item and order else None


async def order_by_global_id(ctx: Context, global_id: str) -> Order | None:
    pk = maybe_decode_id(global_id, "Order")
    return await visible_order(ctx, pk) if pk else None


async def watch_order(ctx: Context, global_id: str) -> AsyncIterator[Order]:
    """The order now, then again after each committed change any process announces
    (domain/eventbus.py: no polling); ends when the caller may not see it, or it is gone.
    Each look reads afresh (no cached loaders)."""
    pk = maybe_decode_id(global_id, "Order")
    if pk is None:
        return
    async with eventbus.bus_of(ctx.db).subscribe([eventbus.order_topic(pk)]) as subscription:
        while True:
            ctx.forget_cached()
            order = await visible_order(ctx, pk)
            if order is None:
                return
            yield order
            await subscription.wait()


async def order_page(
    ctx: Context,
    where: orders.OrderFilter,
    sort: orders.OrderSortField,
    descending: bool,
    request: PageRequest,
    customer_id: uuid.UUID | None = None,
) -> Page[Order]:
    async with ctx.read() as session:
        return await orders.order_page(session, where, sort, descending, request, customer_id)


# --- placing orders --------------------------------------------------------------------


def order_input(data: dict[str, Any]) -> dict[str, Any]:
    """An order input's global ids as primary keys. An unknown customer is NOT_FOUND; a
    shipping method id naming no method is passed on as one no method has, so that the
    domain reports it SHIPPING_METHOD_NOT_ELIGIBLE like any other unusable method."""
    data = dict(data)
    if data.get("customer_id") is not None:
        data["customer_id"] = decode_id(data["customer_id"], "Customer", ["input", "customerId"])
    if data.get("shipping_method_id") is not None:
        data["shipping_method_id"] = pk_or_no_row(data["shipping_method_id"], "ShippingMethod")
    return data


def item_input(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    decoded = []
    for index, item in enumerate(items):
        item = dict(item)
        path = ["input", "items", str(index)]
        if item.get("product_id") is not None:
            item["product_id"] = decode_id(item["product_id"], "Product", [*path, "productId"])
        if item.get("tax_band_id") is not None:
            item["tax_band_id"] = decode_id(item["tax_band_id"], "TaxBand", [*path, "taxBandId"])
        decoded.append(item)
    return decoded


async def order_fields(ctx: Context) -> Mapping[str, FieldDefinition]:
    """The ORDER custom-field definitions, kept by the process until any process changes a
    definition (the `fields` version stamp)."""

    async def load() -> Mapping[str, FieldDefinition]:
        async with ctx.read() as session:
            found = await definitions_of(session, CustomFieldEntity.ORDER.value)
            session.expunge_all()  # kept beyond the session
        return found

    return await ctx.kept("order_fields", [FIELDS], load)


async def kept(ctx: Context) -> orders.Kept:
    """The reference data an order is placed with, as the process keeps it."""
    methods = {m.id: m for m in await shipping.all_methods(ctx)}
    return orders.Kept(
        methods, await ctx.tax_rates(), await automatic_promotions(ctx), await order_fields(ctx)
    )


async def _placement(ctx: Context, data: dict[str, Any], message: str) -> orders.Placement:
    store, display = await currencies(ctx)
    return orders.Placement(
        kept=await kept(ctx),
        data=order_input(data),
        caller=orders.Caller(is_admin=ctx.is_admin, customer_id=ctx.customer_id),
        store=store,
        currency=display,
        line_fields={},
        event_message=message,
        hold_seconds=ctx.settings.reservation_seconds,
    )


async def checkout(ctx: Context, reference: str, data: dict[str, Any]) -> Order:
    """Place an order from the cart, in the buyer's display currency, and delete the cart."""
    placement = await _placement(ctx, data, f"Order placed from cart {reference}")
    async with ctx.write() as session:
        return await orders.checkout(session, reference, ttl(ctx), placement)


async def create_order(ctx: Context, data: dict[str, Any]) -> Order:
    """An admin's order without a cart, through the same rules as checkout."""
    items = item_input(data.pop("items", None) or [])
    placement = await _placement(ctx, data, "Order created by an admin")
    async with ctx.write() as session:
        return await orders.create_order(session, items, placement)


# --- changing orders -------------------------------------------------------------------


async def update_order(ctx: Context, global_id: str, data: dict[str, Any]) -> Order:
    pk = decode_id(global_id, "Order")
    async with ctx.write() as session:
        return await orders.update_order(session, pk, data)


async def cancel_order(ctx: Context, global_id: str) -> Order:
    pk = decode_id(global_id, "Order")
    async with ctx.write() as session:
        return await orders.cancel_order(session, pk)


async def fulfil_order(ctx: Context, global_id: str) -> Order:
    pk = decode_id(global_id, "Order")
    async with ctx.write() as session:
        return await orders.fulfil_order(session, pk)
