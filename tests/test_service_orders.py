"""Service tier: the order state machine's stock effects and wording, on the domain directly
(real databases, no GraphQL). Each rule's effect (RELEASE, SHIP) and the guards of
domain.inventory.STOCK_RULES decide what happens to the units an order holds."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain import inventory, orders
from domain.errors import DomainError, ErrorCode
from domain.inventory import StockAction, StockMove, change_stock
from domain.orders import RULES, OrderAction, OrderState, OrderStatus, PaymentStatus
from domain.orders import ShippingStatus as Shipping
from models.catalog import Product
from models.engine import Database
from models.inventory import StockTransaction
from models.orders import Order, OrderItem


async def order_holding(
    db: Database, units: int, payment: PaymentStatus, gateway: str
) -> tuple[uuid.UUID, uuid.UUID]:
    """A product with 5 in stock and an order of `units` of it, allocated and in `payment`."""
    async with db.transaction() as s:
        product = Product(sku="p", slug="p", name="P", price=100, manage_stock=True, stock_total=5)
        order = Order(
            number=1,
            payment=payment.value,
            payment_gateway=gateway,
            customer_email="buyer@example.com",
            customer_name="Buyer",
            billing_address={},
            subtotal=100 * units,
            tax=0,
            total=100 * units,
            currency="USD",
            exchange_rate=Decimal(1),
        )
        s.add_all([product, order])
        await s.flush()
        s.add(
            OrderItem(
                order_id=order.id,
                position=0,
                product_id=product.id,
                sku="p",
                name="P",
                quantity=units,
                tax_rate=Decimal(0),
                unit_price=100,
                unit_tax=0,
                line_price=100 * units,
                line_tax=0,
            )
        )
        await s.flush()
        await inventory.allocate_order(s, order.id)
    return product.id, order.id


async def figures(db: Database, product_id: object) -> tuple[int, int]:
    async with db.reader() as s:
        row = await s.get(Product, product_id)
        assert row is not None
        return row.stock_total, row.stock_allocated


async def step(db: Database, order_id: object, action: OrderAction) -> Order:
    async with db.transaction() as s:
        return await orders.transition(s, order_id, action, message=action.value)


def test_every_rule_has_a_verb_and_only_cancel_void_and_fulfil_touch_stock() -> None:
    assert all(rule.verb for rule in RULES.values())
    effects = {action: rule.stock for action, rule in RULES.items() if rule.stock}
    assert effects == {
        OrderAction.CANCEL: StockMove.DEALLOCATE,
        OrderAction.VOID: StockMove.DEALLOCATE,
        OrderAction.FULFIL: StockMove.SHIP,
    }


def test_errors_use_the_rules_verb() -> None:
    cancelled = OrderState(OrderStatus.CANCELLED, PaymentStatus.UNPAID, Shipping.UNFULFILLED)
    for action, verb in (
        (OrderAction.REFUND_FULL, "refund"),
        (OrderAction.CAPTURE, "capture the payment of"),
    ):
        with pytest.raises(DomainError) as refused:
            orders.next_state(cancelled, action)
        assert refused.value.message.startswith(f"cannot {verb} an order that is CANCELLED")
        assert refused.value.field == ["id"]


async def test_fulfil_ships_what_the_order_holds(db: Database) -> None:
    product_id, order_id = await order_holding(db, 2, PaymentStatus.PAID, "card")
    assert await figures(db, product_id) == (5, 2)
    assert (await step(db, order_id, OrderAction.FULFIL)).shipping == Shipping.FULFILLED.value
    assert await figures(db, product_id) == (3, 0)
    async with db.reader() as s:
        ledger = (
            await s.scalars(select(StockTransaction.action).order_by(StockTransaction.created_at))
        ).all()
    assert sorted(ledger) == ["ALLOCATE", "DECREMENT"]


async def test_cancel_releases_and_a_later_void_releases_nothing_twice(db: Database) -> None:
    product_id, order_id = await order_holding(db, 2, PaymentStatus.AUTHORIZED, "card")
    assert (await step(db, order_id, OrderAction.CANCEL)).status == OrderStatus.CANCELLED.value
    assert await figures(db, product_id) == (5, 0)
    voided = await step(db, order_id, OrderAction.VOID)
    assert voided.payment == PaymentStatus.UNPAID.value
    assert await figures(db, product_id) == (5, 0)


async def test_void_releases_an_authorizations_units(db: Database) -> None:
    product_id, order_id = await order_holding(db, 3, PaymentStatus.AUTHORIZED, "card")
    await step(db, order_id, OrderAction.VOID)
    assert await figures(db, product_id) == (5, 0)


async def test_the_ship_guard_refuses_units_no_longer_allocated_and_changes_nothing(
    db: Database,
) -> None:
    product_id, order_id = await order_holding(db, 2, PaymentStatus.PAID, "card")
    async with db.transaction() as s:  # an admin released the allocation by hand
        await change_stock(s, product_id, StockAction.DEALLOCATE, 2)
    with pytest.raises(DomainError) as refused:
        await step(db, order_id, OrderAction.FULFIL)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INSUFFICIENT_STOCK, ["id"])
    assert await figures(db, product_id) == (5, 0)
    async with db.reader() as s:
        order = await s.get(Order, order_id)
        assert order is not None and order.shipping == Shipping.UNFULFILLED.value
