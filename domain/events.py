"""Domain events into the transactional outbox (models/events.py; API.md sections 12 and 13).

Every change worth an event calls `emit` in its own transaction: one INSERT, whose `sequence`
is the object's last one plus one (the caller holds the object's row lock, as every change
point does: the order's transition UPDATE, the product's stock UPDATE, SQLite's write lock).
So a rolled-back change leaves no event and a committed one is in the table, whatever happens
to the process next. Webhook deliveries fan out from the table (domain/delivery.py); other
consumers (the subscription bus) hook in with `after_emit`.

`data` is the object as the admin API shows it, with global ids and the GraphQL field names:
order events carry the order (`order_data`), stock events `{id, sku, stock}`, product events
the product's own fields (`product_data`).
"""

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.ids import encode_id
from models.base import new_id, utcnow
from models.catalog import Product
from models.events import Event
from models.orders import Order, OrderItem

ORDER, PRODUCT = "Order", "Product"
"""Object kinds: the global-id type names of the objects events are about."""

ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
ORDER_FULFILLED = "order.fulfilled"
ORDER_CANCELLED = "order.cancelled"
ORDER_UPDATED = "order.updated"
PAYMENT_FAILED = "payment.failed"
REFUND_CREATED = "refund.created"
STOCK_LOW = "stock.low"
STOCK_OUT = "stock.out"
STOCK_CHANGED = "stock.changed"
PRODUCT_CREATED = "product.created"
PRODUCT_UPDATED = "product.updated"
PRODUCT_DELETED = "product.deleted"

WEBHOOK_TYPES = (
    ORDER_CREATED,
    ORDER_PAID,
    ORDER_FULFILLED,
    ORDER_CANCELLED,
    ORDER_UPDATED,
    PAYMENT_FAILED,
    REFUND_CREATED,
    STOCK_LOW,
    STOCK_OUT,
    PRODUCT_CREATED,
    PRODUCT_UPDATED,
    PRODUCT_DELETED,
)
"""The types a webhook can ask for (API.md section 12's WebhookEvent, in lower case with a dot).
`stock.changed` (every change of a product's stock figures) is for subscriptions only."""


@dataclass(frozen=True, slots=True)
class Emitted:
    """An event as written (its row's values), handed to every `after_emit` listener."""

    id: uuid.UUID
    type: str
    object_kind: str
    object_id: uuid.UUID
    sequence: int
    data: Mapping[str, Any]
    created_at: datetime


AfterEmit = Callable[[AsyncSession, Emitted], Awaitable[None]]
_listeners: list[AfterEmit] = []


def after_emit(listener: AfterEmit) -> AfterEmit:
    """Register `listener(session, event)`, awaited right after each event's INSERT, in the
    emitting transaction (e.g. a `pg_notify`, delivered only if that transaction commits).
    Usable as a decorator; registering the same listener twice has no effect."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def _insert_event() -> Insert:
    table = Event.__table__  # type: ignore[attr-defined]
    last = select(func.coalesce(func.max(table.c.sequence), 0) + 1).where(
        table.c.object_id == bindparam("of_object", type_=table.c.object_id.type)
    )
    columns = ("id", "type", "object_kind", "object_id", "data", "created_at", "dispatched_at")
    binds = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    return (
        insert(table)
        .values(**binds, sequence=last.scalar_subquery())
        .returning(table.c.sequence, table.c.id)
    )


_INSERT_EVENT = _insert_event()
"""An event's INSERT, built once and run with bind parameters (building it per event cost
more than running it); run with many rows' parameters it is one multi-row INSERT."""


def _event_values(
    type_: str, kind: str, object_id: uuid.UUID, data: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "type": type_,
        "object_kind": kind,
        "object_id": object_id,
        "data": dict(data),
        "created_at": utcnow(),
    }


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    """`_INSERT_EVENT`'s parameters for an event's values."""
    at = dispatched_at(values["type"], values["created_at"])
    return {**values, "of_object": values["object_id"], "dispatched_at": at}


def dispatched_at(type_: str, now: datetime) -> datetime | None:
    """An event no webhook can ask for (`stock.changed`, for subscriptions only) is written as
    dispatched: the delivery worker has nothing to fan out for it (and is not woken)."""
    return None if type_ in WEBHOOK_TYPES else now


async def _announce(session: AsyncSession, emitted: Emitted) -> Emitted:
    for listener in _listeners:
        await listener(session, emitted)
    return emitted


async def emit(
    session: AsyncSession, type_: str, kind: str, object_id: uuid.UUID, data: Mapping[str, Any]
) -> Emitted:
    """Write one event in the caller's transaction (one INSERT); hold `object_id`'s row lock."""
    values = _event_values(type_, kind, object_id, data)
    result = await session.execute(_INSERT_EVENT, _params(values))
    return await _announce(session, Emitted(sequence=int(result.first()[0]), **values))


async def emit_each(
    session: AsyncSession, type_: str, kind: str, objects: Sequence[tuple[uuid.UUID, Mapping]]
) -> list[Emitted]:
    """One event of `type_` for each of many distinct objects (hold each one's row lock), each
    numbered after its object's last: one INSERT of many rows."""
    if len(objects) < 2:
        return [await emit(session, type_, kind, pk, data) for pk, data in objects]
    rows = [_event_values(type_, kind, pk, data) for pk, data in objects]
    result = await session.execute(_INSERT_EVENT, [_params(r) for r in rows])
    sequences = {pk: int(sequence) for sequence, pk in result.all()}
    return [await _announce(session, Emitted(sequence=sequences[r["id"]], **r)) for r in rows]


async def emit_new(
    session: AsyncSession, kind: str, written: Sequence[tuple[str, uuid.UUID, Mapping]]
) -> list[Emitted]:
    """The events (type, object id, data) of new objects (bulk creation), each object's
    numbered 1, 2, ... in the order given: one multi-row INSERT (nobody else can know the
    new ids yet, so no sequence is looked up)."""
    if not written:
        return []
    now = utcnow()
    numbered: Counter[uuid.UUID] = Counter()
    emitted = []
    for type_, pk, data in written:
        numbered[pk] += 1
        emitted.append(Emitted(new_id(), type_, kind, pk, numbered[pk], dict(data), now))
    await session.execute(
        insert(Event.__table__),  # (Core: the ORM's bulk path checks every row again)
        [
            {
                "id": e.id,
                "type": e.type,
                "object_kind": kind,
                "object_id": e.object_id,
                "sequence": e.sequence,
                "data": e.data,
                "created_at": now,
                "dispatched_at": dispatched_at(e.type, now),
            }
            for e in emitted
        ],
    )
    for event in emitted:
        for listener in _listeners:
            await listener(session, event)
    return emitted


# --- orders --------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _camel_keys(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else {_camel(k): v for k, v in value.items()}


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _price(without_tax: int, tax: int, currency: str) -> dict[str, Any]:
    return {
        "withTax": _money(without_tax + tax, currency),
        "withoutTax": _money(without_tax, currency),
        "tax": _money(tax, currency),
    }


def _item_data(item: OrderItem, currency: str) -> dict[str, Any]:
    return {
        "id": encode_id("OrderItem", item.id),
        "product": {"id": encode_id(PRODUCT, item.product_id)} if item.product_id else None,
        "sku": item.sku,
        "name": item.name,
        "quantity": item.quantity,
        "taxRate": str(item.tax_rate),
        "unitPrice": _price(item.unit_price, item.unit_tax, currency),
        "linePrice": _price(item.line_price, item.line_tax, currency),
        "discount": _price(item.discount, item.discount_tax, currency),
    }


def order_data(order: Order, items: Iterable[OrderItem]) -> dict[str, Any]:
    """The order as the admin API shows it (Money without `formatted`; no `transactions`,
    `events` or `discounts`: the order's own fields, lines and totals)."""
    cur = order.currency
    method = None
    if order.shipping_method_name is not None:
        method = {
            "id": encode_id("ShippingMethod", order.shipping_method_id)
            if order.shipping_method_id
            else None,
            "name": order.shipping_method_name,
            "carrier": order.shipping_method_carrier,
            "price": _price(order.shipping_price, order.shipping_tax, cur),
        }
    return {
        "id": encode_id(ORDER, order.id),
        "number": order.number,
        "status": order.status,
        "payment": order.payment,
        "shipping": order.shipping,
        "customer": {
            "id": encode_id("Customer", order.customer_id) if order.customer_id else None,
            "name": order.customer_name,
            "email": order.customer_email,
        },
        "billingAddress": _camel_keys(order.billing_address),
        "shippingAddress": _camel_keys(order.shipping_address),
        "items": [_item_data(item, cur) for item in sorted(items, key=lambda i: i.position)],
        "shippingMethod": method,
        "totals": {
            "subtotal": _money(order.subtotal, cur),
            "discount": _money(order.discount, cur),
            "shipping": _money(order.shipping_price, cur),
            "tax": _money(order.tax, cur),
            "total": _money(order.total, cur),
        },
        "currency": cur,
        "exchangeRate": str(Decimal(order.exchange_rate)),
        "customFields": order.custom_fields,
        "reservedUntil": _iso(order.reserved_until),
        "createdAt": _iso(order.created_at),
        "updatedAt": _iso(order.updated_at),
    }


async def emit_order(
    session: AsyncSession, type_: str, order: Order, items: Iterable[OrderItem] | None = None
) -> Emitted:
    """An order event with the order as it is now; its lines are read (one SELECT) unless
    given. Call it with the order row locked."""
    if items is None:
        items = await session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))
    return await emit(session, type_, ORDER, order.id, order_data(order, items))


# --- products and their stock --------------------------------------------------------------

_low_stock_threshold = [5]


def configure(low_stock_threshold: int) -> None:
    """The threshold of `stock.low` (STOCKROOM_LOW_STOCK_THRESHOLD), set at start-up."""
    _low_stock_threshold[0] = low_stock_threshold


@dataclass(frozen=True, slots=True)
class StockFigures:
    """A product's stock after a change (what the stock UPDATE returned)."""

    product_id: uuid.UUID
    sku: str
    manage_stock: bool
    total: int
    allocated: int

    @property
    def available(self) -> int:
        return self.total - self.allocated


def stock_data(figures: StockFigures) -> dict[str, Any]:
    return {
        "id": encode_id(PRODUCT, figures.product_id),
        "sku": figures.sku,
        "stock": {
            "total": figures.total,
            "available": figures.available,
            "allocated": figures.allocated,
        },
    }


def _level(manage_stock: bool, available: int) -> str | None:
    """STOCK_OUT, STOCK_LOW or None (in stock, or not managed), as `stockStatus` counts."""
    if not manage_stock:
        return None
    if available <= 0:
        return STOCK_OUT
    return STOCK_LOW if available <= _low_stock_threshold[0] else None


async def emit_stock(session: AsyncSession, figures: StockFigures, available_delta: int) -> None:
    """After a change of a product's stock figures (its row locked by that UPDATE):
    `stock.changed`, and `stock.low` / `stock.out` when available units just crossed into
    that level (`available_delta` is how available moved)."""
    await emit_stock_each(session, [(figures, available_delta)])


def _crossed(figures: StockFigures, available_delta: int) -> str | None:
    """`stock.low` / `stock.out` when available units just crossed into that level."""
    now = _level(figures.manage_stock, figures.available)
    if now is not None and now != _level(figures.manage_stock, figures.available - available_delta):
        return now
    return None


async def emit_stock_each(
    session: AsyncSession, changes: Sequence[tuple[StockFigures, int]]
) -> None:
    """`emit_stock` for the changes of many distinct products (each row locked): their
    `stock.changed` in one INSERT, then the crossings into `stock.low`, and into
    `stock.out`, one INSERT each."""
    data = [(figures.product_id, stock_data(figures)) for figures, _ in changes]
    await emit_each(session, STOCK_CHANGED, PRODUCT, data)
    crossed: dict[str, list[tuple[uuid.UUID, Mapping[str, Any]]]] = {STOCK_LOW: [], STOCK_OUT: []}
    for (figures, delta), (_, product) in zip(changes, data, strict=True):
        level = _crossed(figures, delta)
        if level is not None:
            crossed[level].append((figures.product_id, product))
    for level, products in crossed.items():
        await emit_each(session, level, PRODUCT, products)


def new_product_events(row: Mapping[str, Any]) -> list[tuple[str, uuid.UUID, dict[str, Any]]]:
    """A new product's events, for emit_new (productCreate and productBulkCreate): first
    product.created (the product as created, its initial stock included), then that stock's,
    as emit_stock writes a change: stock.changed, and stock.low / stock.out where it starts
    there. So a webhook consumer hears of the product before any alert about its stock."""
    created = [(PRODUCT_CREATED, row["id"], product_row_data(row))]
    if not row["stock_total"]:
        return created
    figures = StockFigures(row["id"], row["sku"], row["manage_stock"], row["stock_total"], 0)
    data = stock_data(figures)
    level = _crossed(figures, figures.available)
    crossing = [(level, figures.product_id, data)] if level is not None else []
    return [*created, (STOCK_CHANGED, figures.product_id, data), *crossing]


def product_columns(product: Product) -> dict[str, Any]:
    """The product's column values that product_row_data reads."""
    return {name: getattr(product, name) for name in _PRODUCT_DATA_COLUMNS}


def product_data(product: Product) -> dict[str, Any]:
    """The product's own fields as the admin API names them (no prices, which depend on the
    currency asked for, and no categories or other linked rows)."""
    return product_row_data(product_columns(product))


_PRODUCT_DATA_COLUMNS = (
    "id sku slug name description status parent_id weight requires_shipping manage_stock "
    "stock_total stock_allocated images custom_fields created_at updated_at"
).split()


def product_row_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """product_data of a product's column values (bulk creation has them as the rows it
    inserted: no ORM attribute access per field)."""
    parent_id = row["parent_id"]
    return {
        "id": encode_id(PRODUCT, row["id"]),
        "sku": row["sku"],
        "slug": row["slug"],
        "name": row["name"],
        "description": row["description"],
        "status": row["status"],
        "parent": {"id": encode_id(PRODUCT, parent_id)} if parent_id else None,
        "weight": row["weight"],
        "requiresShipping": row["requires_shipping"],
        "manageStock": row["manage_stock"],
        "stock": {
            "total": row["stock_total"],
            "available": row["stock_total"] - row["stock_allocated"],
            "allocated": row["stock_allocated"],
        },
        "images": row["images"],
        "customFields": row["custom_fields"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
    }


async def emit_product(session: AsyncSession, type_: str, product: Product) -> Emitted:
    """A product event (created, updated, deleted); call it with the product row locked."""
    return await emit(session, type_, PRODUCT, product.id, product_data(product))
