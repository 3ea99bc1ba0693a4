"""Stock holds of unpaid orders (API.md section 11): the primitives that checkout, orderPay,
orderCancel and the reservation sweeps share. The sweeps themselves are in
`domain.reservations`.

An order holds stock while `order.reserved_until` is set: its ALLOCATE entries in the ledger
(with its id) are the units held. Every change of the hold is a conditional UPDATE of that one
column, so whoever changes it first (a payment taking the hold over, a cancellation or the
release sweep giving it back) is the only one that acts on the units:
- `hold_new_order`: checkout / orderCreate allocate every managed line and set the column;
- `claim`: orderPay takes the hold over (column cleared, the units now the payment's);
- `restore`: a declined payment gives the hold back until its original time;
- `release`: a cancellation (or the sweep, in bulk) clears the column and DEALLOCATEs.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import carts, events, inventory
from domain.errors import DomainError, ErrorCode
from domain.inventory import StockAction
from models.base import utcnow
from models.catalog import Product
from models.inventory import StockTransaction
from models.orders import Order
from models.payments import PaymentTransaction


def _managed_quantities(lines: Sequence[carts.Line]) -> dict[uuid.UUID, tuple[int, int]]:
    """{product id: (units, index of its first line)} of the managed lines, in id order."""
    wanted: dict[uuid.UUID, tuple[int, int]] = {}
    for index, line in enumerate(lines):
        if line.product_id is None or not line.manage_stock:
            continue
        units, first = wanted.get(line.product_id, (0, index))
        wanted[line.product_id] = (units + line.quantity, first)
    return dict(sorted(wanted.items()))


async def hold_new_order(
    session: AsyncSession,
    order: Order,
    lines: Sequence[carts.Line],
    line_fields: Mapping[int, list[str]],
    seconds: int,
) -> None:
    """Allocate every managed line of a new order, all or nothing, for `seconds`: the same
    conditional UPDATEs as orderPay, in the same (product id) order. INSUFFICIENT_STOCK on the
    first line that does not fit (the caller's transaction rolls the whole order back). An
    order without managed lines holds nothing and has no `reserved_until`."""
    wanted = _managed_quantities(lines)
    for product_id, (units, first) in wanted.items():
        try:
            await inventory.change_stock(session, product_id, StockAction.ALLOCATE, units, order.id)
        except DomainError as error:
            if error.code is not ErrorCode.INSUFFICIENT_STOCK:
                raise
            line = lines[first]
            available = await session.scalar(
                select(Product.stock_total - Product.stock_allocated).where(
                    Product.id == product_id
                )
            )
            message = f"only {max(available or 0, 0)} of {line.name} ({line.sku}) available"
            field = line_fields.get(first, ["reference"])
            raise DomainError(ErrorCode.INSUFFICIENT_STOCK, message, field) from error
    if wanted:
        order.reserved_until = utcnow() + timedelta(seconds=seconds)
        await session.flush()


async def claim(session: AsyncSession, order: Order, payment: PaymentTransaction) -> bool:
    """orderPay takes over the order's hold, if it has one (due or not, the units are still
    held): True when it did, and the payment then needs no allocation of its own. Call it with
    the order row locked; the UPDATE is conditional all the same, so that a release sweep
    and a payment never both act on one hold."""
    until = order.reserved_until
    if until is None:
        return False
    result = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.reserved_until.is_not(None))
        .values(reserved_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    payment.hold_until = until
    order.reserved_until = None
    await session.flush()
    return True


async def restore(session: AsyncSession, payment: PaymentTransaction) -> bool:
    """A failed payment that had taken a hold over gives it back, until the hold's original
    time (the release sweep frees it then; at once if that time has passed). False when there
    is nothing to give back to: the payment held no reservation, or the order was cancelled
    meanwhile (the caller then releases the units)."""
    if payment.hold_until is None:
        return False
    result = await session.execute(
        update(Order)
        .where(
            Order.id == payment.order_id,
            Order.status == "INCOMPLETE",
            Order.payment == "UNPAID",
            Order.reserved_until.is_(None),
        )
        .values(reserved_until=payment.hold_until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def release(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """Give back the order's hold, if it still has one (cancellation): clear the column,
    DEALLOCATE what the ledger says it holds. True when this call released it."""
    result = await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.reserved_until.is_not(None))
        .values(reserved_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await inventory.deallocate_order(session, order_id)
    return True


async def release_many(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> None:
    """DEALLOCATE what each of these orders holds (their holds already claimed by the caller),
    one UPDATE per product in id order (a batch of orders locks products in the same order as
    every other writer: no deadlock), one ledger entry per order and product."""
    held = await _held_by_orders(session, order_ids)
    per_product: dict[uuid.UUID, int] = {}
    for (_, product_id), units in held.items():
        per_product[product_id] = per_product.get(product_id, 0) + units
    for product_id, units in sorted(per_product.items()):
        result = await session.execute(
            update(Product)
            .where(Product.id == product_id, Product.stock_allocated >= units)
            .values(stock_allocated=Product.stock_allocated - units)
            .returning(*inventory.FIGURES)
        )
        figures = result.one_or_none()
        if figures is None:
            message = f"product {product_id} has fewer than {units} units allocated to release"
            raise DomainError(ErrorCode.INSUFFICIENT_STOCK, message, None)
        await events.emit_stock(session, events.StockFigures(product_id, *figures), units)
    session.add_all(
        StockTransaction(
            product_id=product_id,
            action=StockAction.DEALLOCATE.value,
            quantity=units,
            order_id=order_id,
        )
        for (order_id, product_id), units in sorted(held.items())
    )
    await session.flush()


def _signed_quantity() -> object:
    return case(
        (StockTransaction.action == StockAction.ALLOCATE.value, StockTransaction.quantity),
        else_=-StockTransaction.quantity,
    )


async def _held_by_orders(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """{(order id, product id): units held} from the orders' ledger entries."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(StockTransaction.order_id, StockTransaction.product_id, func.sum(_signed_quantity()))
        .where(StockTransaction.order_id.in_(order_ids))
        .group_by(StockTransaction.order_id, StockTransaction.product_id)
    )
    return {(oid, pid): int(units) for oid, pid, units in rows.all() if units > 0}


async def reserved_by_product(session: AsyncSession, product_ids: Sequence[uuid.UUID]) -> list[int]:
    """`Stock.reserved` of each product: the units of its `allocated` held by orders whose
    reservation is running (from their ledger entries, in one query). Derived, never stored:
    the hold column and the ledger entries change in the same transactions, so it is exact in
    every committed state."""
    rows = await session.execute(
        select(StockTransaction.product_id, func.sum(_signed_quantity()))
        .join(Order, Order.id == StockTransaction.order_id)
        .where(Order.reserved_until.is_not(None), StockTransaction.product_id.in_(product_ids))
        .group_by(StockTransaction.product_id)
    )
    by_product = {pid: max(int(units), 0) for pid, units in rows.all()}
    return [by_product.get(pid, 0) for pid in product_ids]
