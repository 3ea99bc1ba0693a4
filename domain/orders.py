"""Orders: the state machine, checkout's order building, updates and listings (API.md section 7).

The state machine is one table (`RULES`): for each action, the source states it accepts and the
values it sets. `next_state` is the pure function over that table; `transition` persists a step
with an UPDATE conditional on the state it read, so two racing requests never both win.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import inventory
from domain.errors import DomainError, ErrorCode
from models.base import utcnow
from models.orders import Order, OrderEvent, OrderItem

# --- the state machine ------------------------------------------------------------------


class OrderStatus(Enum):
    INCOMPLETE = "INCOMPLETE"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"


class PaymentStatus(Enum):
    UNPAID = "UNPAID"
    AUTHORIZED = "AUTHORIZED"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class ShippingStatus(Enum):
    UNFULFILLED = "UNFULFILLED"
    FULFILLED = "FULFILLED"


class OrderAction(Enum):
    AUTHORIZE = "AUTHORIZE"
    PURCHASE = "PURCHASE"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND_PARTIAL = "REFUND_PARTIAL"
    REFUND_FULL = "REFUND_FULL"
    FULFIL = "FULFIL"
    CANCEL = "CANCEL"
    UPDATE = "UPDATE"


MANUAL_GATEWAY = "manual"


@dataclass(frozen=True, slots=True)
class OrderState:
    """The three dimensions, plus the gateway of the current authorization or payment."""

    status: OrderStatus
    payment: PaymentStatus
    shipping: ShippingStatus
    gateway: str | None = None

    @classmethod
    def of(cls, order: Order) -> "OrderState":
        return cls(
            OrderStatus(order.status),
            PaymentStatus(order.payment),
            ShippingStatus(order.shipping),
            order.payment_gateway,
        )


_ALL_STATUS = frozenset(OrderStatus)
_ALL_PAYMENT = frozenset(PaymentStatus)
_ALL_SHIPPING = frozenset(ShippingStatus)
_OPEN = frozenset({OrderStatus.INCOMPLETE, OrderStatus.COMPLETE})
_UNFULFILLED = frozenset({ShippingStatus.UNFULFILLED})
_CAPTURED = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED})

_KEEP = object()
"""A target of `_KEEP` leaves that dimension as it is."""


def _fulfillable_payment(state: OrderState) -> bool:
    """Paid, or promised through the manual gateway (pay on delivery)."""
    return state.payment is PaymentStatus.PAID or (
        state.payment is PaymentStatus.AUTHORIZED and state.gateway == MANUAL_GATEWAY
    )


@dataclass(frozen=True, slots=True)
class Rule:
    """Which states an action accepts and what it sets. `gateway` is the new gateway value:
    "given" (the gateway argument), None (cleared) or `_KEEP`."""

    event: str
    status: frozenset[OrderStatus]
    payment: frozenset[PaymentStatus]
    shipping: frozenset[ShippingStatus]
    guard: Callable[[OrderState], bool] | None = None
    to_status: object = _KEEP
    to_payment: object = _KEEP
    to_shipping: object = _KEEP
    gateway: object = _KEEP


_PAY_SOURCE = {
    "status": frozenset({OrderStatus.INCOMPLETE}),
    "payment": frozenset({PaymentStatus.UNPAID}),
    "shipping": _UNFULFILLED,
}

RULES: Mapping[OrderAction, Rule] = {
    OrderAction.AUTHORIZE: Rule(
        "authorized", **_PAY_SOURCE, to_payment=PaymentStatus.AUTHORIZED, gateway="given"
    ),
    OrderAction.PURCHASE: Rule(
        "paid",
        **_PAY_SOURCE,
        to_payment=PaymentStatus.PAID,
        to_status=OrderStatus.COMPLETE,
        gateway="given",
    ),
    OrderAction.CAPTURE: Rule(
        "captured",
        status=frozenset({OrderStatus.INCOMPLETE}),
        payment=frozenset({PaymentStatus.AUTHORIZED}),
        shipping=_ALL_SHIPPING,
        to_payment=PaymentStatus.PAID,
        to_status=OrderStatus.COMPLETE,
    ),
    # A fulfilled pay-on-delivery order can only be captured: its goods are gone.
    OrderAction.VOID: Rule(
        "authorization_voided",
        status=_ALL_STATUS,
        payment=frozenset({PaymentStatus.AUTHORIZED}),
        shipping=_UNFULFILLED,
        to_payment=PaymentStatus.UNPAID,
        gateway=None,
    ),
    OrderAction.REFUND_PARTIAL: Rule(
        "partially_refunded",
        status=_ALL_STATUS,
        payment=_CAPTURED,
        shipping=_ALL_SHIPPING,
        to_payment=PaymentStatus.PARTIALLY_REFUNDED,
    ),
    OrderAction.REFUND_FULL: Rule(
        "refunded",
        status=_ALL_STATUS,
        payment=_CAPTURED,
        shipping=_ALL_SHIPPING,
        to_payment=PaymentStatus.REFUNDED,
    ),
    OrderAction.FULFIL: Rule(
        "fulfilled",
        status=_OPEN,
        payment=frozenset({PaymentStatus.PAID, PaymentStatus.AUTHORIZED}),
        shipping=_UNFULFILLED,
        guard=_fulfillable_payment,
        to_shipping=ShippingStatus.FULFILLED,
    ),
    OrderAction.CANCEL: Rule(
        "cancelled",
        status=_OPEN,
        payment=_ALL_PAYMENT,
        shipping=_UNFULFILLED,
        to_status=OrderStatus.CANCELLED,
    ),
    OrderAction.UPDATE: Rule("updated", status=_OPEN, payment=_ALL_PAYMENT, shipping=_UNFULFILLED),
}


def allows(state: OrderState, action: OrderAction) -> bool:
    rule = RULES[action]
    return (
        state.status in rule.status
        and state.payment in rule.payment
        and state.shipping in rule.shipping
        and (rule.guard is None or rule.guard(state))
    )


def next_state(state: OrderState, action: OrderAction, gateway: str | None = None) -> OrderState:
    """The state after `action`, or INVALID_TRANSITION when the rules forbid it.

    `gateway` is the paying gateway's slug, required by AUTHORIZE and PURCHASE only.
    """
    rule = RULES[action]
    if (rule.gateway == "given") != (gateway is not None):
        raise ValueError(f"{action.value} {'needs' if gateway is None else 'takes no'} gateway")
    if not allows(state, action):
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"cannot {action.value.lower().replace('_', ' ')} an order that is "
            f"{state.status.value}, {state.payment.value}, {state.shipping.value}",
            ["id"],
        )
    changes: dict[str, object] = {}
    for name, target in (
        ("status", rule.to_status),
        ("payment", rule.to_payment),
        ("shipping", rule.to_shipping),
    ):
        if target is not _KEEP:
            changes[name] = target
    if rule.gateway is not _KEEP:
        changes["gateway"] = gateway if rule.gateway == "given" else None
    return replace(state, **changes)  # type: ignore[arg-type]


def holds_stock(state: OrderState) -> bool:
    """True while the order's managed lines are allocated: paid for or authorised (from
    orderPay on), not yet fulfilled (which takes the units away) and not cancelled (which
    released them)."""
    return (
        state.payment is not PaymentStatus.UNPAID
        and state.shipping is ShippingStatus.UNFULFILLED
        and state.status is not OrderStatus.CANCELLED
    )


# --- persisting transitions --------------------------------------------------------------


async def order_lines(session: AsyncSession, order_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """The order's catalogue lines as {product id: quantity} (custom lines hold no stock)."""
    rows = await session.execute(
        select(OrderItem.product_id, func.sum(OrderItem.quantity))
        .where(OrderItem.order_id == order_id, OrderItem.product_id.is_not(None))
        .group_by(OrderItem.product_id)
    )
    return {pid: int(qty) for pid, qty in rows.all()}


async def record_event(
    session: AsyncSession, order_id: uuid.UUID, event_type: str, message: str
) -> OrderEvent:
    """Append to the order's history. Call it with the order row locked (inside `transition`,
    or right after creating the order): (order_id, seq) is unique, so a racing writer fails
    loudly instead of interleaving."""
    last = await session.scalar(
        select(func.max(OrderEvent.seq)).where(OrderEvent.order_id == order_id)
    )
    seq = 0 if last is None else last + 1
    event = OrderEvent(order_id=order_id, seq=seq, type=event_type, message=message)
    session.add(event)
    await session.flush()
    return event


async def transition(
    session: AsyncSession,
    order_id: uuid.UUID,
    action: OrderAction,
    *,
    message: str,
    gateway: str | None = None,
) -> Order:
    """Apply `action` to the order and record it, with its stock side effects.

    The UPDATE only matches while the order is still in the state read here: if another
    request moved it first, nothing changes and this one gets INVALID_TRANSITION.
    Stock: CANCEL releases the allocation of an order that holds one; FULFIL takes the
    allocated units out of stock. VOID has no stock effect here: the payments code releases
    an authorization's allocation itself when `holds_stock` was true before the void.
    """
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no order with that id", ["id"])
    before = OrderState.of(order)
    after = next_state(before, action, gateway)
    result = await session.execute(
        update(Order)
        .where(
            Order.id == order_id,
            Order.status == before.status.value,
            Order.payment == before.payment.value,
            Order.shipping == before.shipping.value,
        )
        .values(
            status=after.status.value,
            payment=after.payment.value,
            shipping=after.shipping.value,
            payment_gateway=after.gateway,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "the order was changed by another request", ["id"]
        )
    await record_event(session, order_id, RULES[action].event, message)
    if action is OrderAction.CANCEL and holds_stock(before):
        await inventory.deallocate_order(session, order_id, await order_lines(session, order_id))
    elif action is OrderAction.FULFIL:
        await inventory.fulfil_order(session, order_id, await order_lines(session, order_id))
    refreshed = await session.get(Order, order_id, populate_existing=True)
    assert refreshed is not None
    return refreshed
