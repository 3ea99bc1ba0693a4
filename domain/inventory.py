"""Stock that never oversells: every change is one conditional UPDATE whose WHERE clause holds
the rule, so the database decides, whatever the number of server processes.

`available = total - allocated`; the CHECK constraint on `product` keeps
`0 <= allocated <= total` even against a bug here.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Update,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events, versions  # noqa: F401  (versions: every write moves its stamps)
from domain.errors import DomainError, ErrorCode
from domain.pagination import Page, PageRequest, SortKey, paginate
from models.base import new_id, utcnow
from models.catalog import Product
from models.inventory import StockTransaction
from models.orders import OrderItem

MAX_STOCK = 2**31 - 1
"""The largest stock figure a column holds on every backend (a 32-bit integer)."""


class StockAction(Enum):
    INCREMENT = "INCREMENT"
    DECREMENT = "DECREMENT"
    ALLOCATE = "ALLOCATE"
    DEALLOCATE = "DEALLOCATE"


class StockMove(Enum):
    """A change of a product's stock figures: the four manual actions (StockAction) and SHIP,
    fulfilment (both figures drop; the ledger records it as a DECREMENT)."""

    INCREMENT = "INCREMENT"
    DECREMENT = "DECREMENT"
    ALLOCATE = "ALLOCATE"
    DEALLOCATE = "DEALLOCATE"
    SHIP = "SHIP"


@dataclass(frozen=True, slots=True)
class StockRule:
    """How a move changes the figures, the guard that must hold at that instant (the UPDATE's
    WHERE clause), what the ledger records, which way `available` moves (+1, -1 or 0: for the
    outbox's stock.low / stock.out crossings) and the error when the guard fails. `values`
    and `guard` take the quantity as a SQL expression (each move's UPDATE is built once)."""

    values: Callable[[ColumnElement[int]], dict[str, Any]]
    guard: Callable[[ColumnElement[int]], ColumnElement[bool]]
    ledger: StockAction
    available: int
    error: ErrorCode = ErrorCode.INSUFFICIENT_STOCK
    message: str = "not enough stock to {verb} {quantity}"
    field: tuple[str, ...] = ("input", "quantity")


_TOTAL, _ALLOCATED = Product.stock_total, Product.stock_allocated

STOCK_RULES: Mapping[StockMove, StockRule] = {
    StockMove.INCREMENT: StockRule(  # may not overflow the column
        lambda q: {"stock_total": _TOTAL + q},
        lambda q: _TOTAL <= MAX_STOCK - q,
        StockAction.INCREMENT,
        +1,
        ErrorCode.INVALID,
        f"total stock may not exceed {MAX_STOCK}",
    ),
    StockMove.DECREMENT: StockRule(  # may not take total below allocated
        lambda q: {"stock_total": _TOTAL - q},
        lambda q: _TOTAL - _ALLOCATED >= q,
        StockAction.DECREMENT,
        -1,
    ),
    StockMove.ALLOCATE: StockRule(  # may not exceed available
        lambda q: {"stock_allocated": _ALLOCATED + q},
        lambda q: _TOTAL - _ALLOCATED >= q,
        StockAction.ALLOCATE,
        -1,
    ),
    StockMove.DEALLOCATE: StockRule(
        lambda q: {"stock_allocated": _ALLOCATED - q},
        lambda q: _ALLOCATED >= q,
        StockAction.DEALLOCATE,
        +1,
    ),
    StockMove.SHIP: StockRule(  # the units an order holds leave the building
        lambda q: {"stock_total": _TOTAL - q, "stock_allocated": _ALLOCATED - q},
        lambda q: _ALLOCATED >= q,
        StockAction.DECREMENT,
        0,
        message="the order's stock is not allocated",
        field=("id",),
    ),
}


async def change_stock(
    session: AsyncSession,
    product_id: uuid.UUID,
    action: StockAction,
    quantity: int,
    order_id: uuid.UUID | None = None,
) -> StockTransaction:
    """Apply one stock action to one product and record it; INSUFFICIENT_STOCK if the rule
    of the action does not hold at this instant."""
    if not 1 <= quantity <= MAX_STOCK:
        raise DomainError(
            ErrorCode.INVALID, f"quantity must be 1 to {MAX_STOCK}", ["input", "quantity"]
        )
    return await move_stock(session, product_id, StockMove(action.value), quantity, order_id)


async def move_stock(
    session: AsyncSession,
    product_id: uuid.UUID,
    move: StockMove,
    quantity: int,
    order_id: uuid.UUID | None = None,
) -> StockTransaction:
    """One row of STOCK_RULES on one product, as one conditional UPDATE, recorded in the
    ledger and in the outbox (the UPDATE returns the new figures); the rule's error when its
    guard does not hold."""
    entry, change = await _update_stock(session, product_id, move, quantity, order_id)
    record = StockTransaction(**entry)
    session.add(record)
    await events.emit_stock(session, *change)
    return record


async def _update_stock(
    session: AsyncSession,
    product_id: uuid.UUID,
    move: StockMove,
    quantity: int,
    order_id: uuid.UUID | None,
) -> tuple[dict[str, Any], tuple[events.StockFigures, int]]:
    """`move_stock` without its records: the ledger row's values, and the figures and how
    available moved, for the outbox."""
    rule = STOCK_RULES[move]
    result = await session.execute(
        _STOCK_UPDATES[move], {"product_id": product_id, "quantity": quantity}
    )
    figures = result.one_or_none()
    if figures is None:
        if await session.get(Product, product_id) is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no product with that id", ["productId"])
        message = rule.message.format(verb=move.value.lower(), quantity=quantity)
        raise DomainError(rule.error, message, list(rule.field))
    entry = {
        "id": new_id(),
        "product_id": product_id,
        "action": rule.ledger.value,
        "quantity": quantity,
        "order_id": order_id,
        "created_at": utcnow(),
    }
    return entry, (events.StockFigures(product_id, *figures), rule.available * quantity)


async def _move_each(
    session: AsyncSession, units: Mapping[uuid.UUID, int], move: StockMove, order_id: uuid.UUID
) -> None:
    """`move_stock` on each product of `units` (in id order, so that concurrent orders lock
    products in one order and never deadlock); the ledger rows and the stock.changed events
    are written together after the last UPDATE (one multi-row INSERT each)."""
    entries, changes = [], []
    for product_id, quantity in units.items():
        entry, change = await _update_stock(session, product_id, move, quantity, order_id)
        entries.append(entry)
        changes.append(change)
    if entries:
        await session.execute(insert(LEDGER_TABLE), entries)  # Core: no objects to build
    await events.emit_stock_each(session, changes)


PRODUCT_TABLE = Product.__table__  # type: ignore[attr-defined]
LEDGER_TABLE = StockTransaction.__table__  # type: ignore[attr-defined]
FIGURES = tuple(
    PRODUCT_TABLE.c[name] for name in ("sku", "manage_stock", "stock_total", "stock_allocated")
)
"""What a stock UPDATE returns for the outbox (`events.StockFigures` after the product id)."""


def _stock_update(rule: StockRule) -> Update:
    quantity = bindparam("quantity", type_=PRODUCT_TABLE.c.stock_total.type)
    return (
        update(PRODUCT_TABLE)  # Core, not the ORM's bulk UPDATE: no session object to sync
        .where(PRODUCT_TABLE.c.id == bindparam("product_id"), rule.guard(quantity))
        .values(**rule.values(quantity))
        .returning(*FIGURES)
    )


_STOCK_UPDATES = {move: _stock_update(rule) for move, rule in STOCK_RULES.items()}
"""Each move's conditional UPDATE, built once and run with the product and quantity bound
(building it cost more than running it)."""


_ORDER_LINES = (
    select(OrderItem, Product.manage_stock)
    .outerjoin(Product, Product.id == OrderItem.product_id)
    .where(OrderItem.order_id == bindparam("order_id"))
)
"""An order's lines with whether each product manages stock: built once."""


async def order_lines(
    session: AsyncSession, order_id: uuid.UUID
) -> tuple[list[OrderItem], dict[uuid.UUID, int]]:
    """The order's lines, and the units of those whose products manage stock, {product id:
    units} in product-id order: one query over the order's lines and their products."""
    rows = (await session.execute(_ORDER_LINES, {"order_id": order_id})).all()
    managed: dict[uuid.UUID, int] = {}
    for item, manages in rows:
        if manages and item.product_id is not None:
            managed[item.product_id] = managed.get(item.product_id, 0) + item.quantity
    units = {pid: quantity for pid, quantity in sorted(managed.items()) if quantity > 0}
    return [item for item, _ in rows], units


async def allocate_order(session: AsyncSession, order_id: uuid.UUID) -> list[OrderItem]:
    """Allocate every managed line of the order, all or nothing (the caller's transaction
    rolls back on INSUFFICIENT_STOCK), and return the order's lines (for its outbox events).
    Products are taken in id order, so two orders racing for the same products lock them in
    the same order and never deadlock. The ledger rows are written together, after the last
    UPDATE (one multi-row INSERT)."""
    items, managed = await order_lines(session, order_id)
    try:
        await _move_each(session, managed, StockMove.ALLOCATE, order_id)
    except DomainError as error:
        if error.code is ErrorCode.INSUFFICIENT_STOCK:
            raise DomainError(
                ErrorCode.INSUFFICIENT_STOCK,
                "not enough stock available for every item of the order",
                ["orderId"],
            ) from error
        raise
    return items


async def held_by_order(session: AsyncSession, order_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """The units an order holds now, by product in id order, from its ledger entries: ALLOCATE
    adds; DEALLOCATE and DECREMENT (fulfilment) take away. Releasing or shipping exactly this,
    rather than the order's lines, never touches another order's units, even if a product's
    `manageStock` changed since the order was paid. Call it with the order row locked."""
    signed = case(
        (StockTransaction.action == StockAction.ALLOCATE.value, StockTransaction.quantity),
        else_=-StockTransaction.quantity,
    )
    rows = await session.execute(
        select(StockTransaction.product_id, func.sum(signed))
        .where(StockTransaction.order_id == order_id)
        .group_by(StockTransaction.product_id)
    )
    return {pid: int(quantity) for pid, quantity in sorted(rows.all()) if quantity > 0}


async def move_held_stock(session: AsyncSession, order_id: uuid.UUID, move: StockMove) -> None:
    """Apply `move` to exactly the units the order holds (DEALLOCATE releases them: a decline,
    a voided authorization, a cancelled order; SHIP is fulfilment)."""
    await _move_each(session, await held_by_order(session, order_id), move, order_id)


async def deallocate_order(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Release what an order holds."""
    await move_held_stock(session, order_id, StockMove.DEALLOCATE)


class StockStatus(Enum):
    IN_STOCK = "IN_STOCK"
    LOW_STOCK = "LOW_STOCK"
    OUT_OF_STOCK = "OUT_OF_STOCK"


def stock_status(product: Product, low_stock_threshold: int) -> StockStatus:
    """Unmanaged products are always in stock; managed ones by their available units."""
    if not product.manage_stock:
        return StockStatus.IN_STOCK
    available = product.stock_available
    if available <= 0:
        return StockStatus.OUT_OF_STOCK
    return StockStatus.LOW_STOCK if available <= low_stock_threshold else StockStatus.IN_STOCK


# --- the stock API (stockTransactionCreate, stockTransactions) ---------------------------


async def create_stock_transaction(
    session: AsyncSession, product_id: uuid.UUID, action: StockAction, quantity: int
) -> tuple[Product, StockTransaction]:
    """A change of stock by hand; returns the product with its new figures and the record."""
    record = await change_stock(session, product_id, action, quantity)
    await session.flush()
    product = await session.get(Product, product_id, populate_existing=True)
    assert product is not None  # change_stock found it
    return product, record


def stock_ledger(product_id: uuid.UUID) -> Select[Any]:
    return select(StockTransaction).where(StockTransaction.product_id == product_id)


async def list_stock_transactions(
    session: AsyncSession, product_id: uuid.UUID, request: PageRequest
) -> Page[StockTransaction]:
    """A product's ledger, newest first, keyset-paginated on (created_at, id)."""
    if await session.scalar(select(Product.id).where(Product.id == product_id)) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no product with that id", ["productId"])
    keys = [
        SortKey(StockTransaction.created_at, lambda r: r.created_at),  # type: ignore[arg-type]
        SortKey(StockTransaction.id, lambda r: r.id),  # type: ignore[arg-type]
    ]
    return await paginate(session, stock_ledger(product_id), keys, True, request)
