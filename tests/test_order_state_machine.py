"""The order state machine (API.md section 7) over every (state, action) pair: the pure table
against an oracle written from the contract's prose, and the persisted transitions."""

import itertools
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.errors import DomainError, ErrorCode
from domain.orders import (
    OrderAction,
    OrderState,
    OrderStatus,
    PaymentStatus,
    ShippingStatus,
    holds_stock,
    next_state,
    transition,
)
from models.engine import Database
from models.orders import Order, OrderEvent

S, P, F = OrderStatus, PaymentStatus, ShippingStatus
GATEWAYS = (None, "manual", "card")
ALL_STATES = [OrderState(s, p, f, g) for s, p, f, g in itertools.product(S, P, F, GATEWAYS)]
PAY_ACTIONS = {OrderAction.AUTHORIZE, OrderAction.PURCHASE}


def oracle(state: OrderState, action: OrderAction) -> OrderState | None:
    """The contract's rules spelled out independently of `domain.orders.RULES`."""
    s, p, f = state.status, state.payment, state.shipping
    open_ = s is not S.CANCELLED
    unfulfilled = f is F.UNFULFILLED
    if action in PAY_ACTIONS:  # pay only an UNPAID order that is not CANCELLED
        if s is S.INCOMPLETE and p is P.UNPAID and unfulfilled:
            if action is OrderAction.AUTHORIZE:
                return OrderState(s, P.AUTHORIZED, f, "card")
            return OrderState(S.COMPLETE, P.PAID, f, "card")  # PAID means COMPLETE
        return None
    if action is OrderAction.CAPTURE:
        return (
            OrderState(S.COMPLETE, P.PAID, f, state.gateway)
            if (p is P.AUTHORIZED and s is S.INCOMPLETE)
            else None
        )
    if action is OrderAction.VOID:  # cancelling the authorization
        return OrderState(s, P.UNPAID, f, None) if p is P.AUTHORIZED and unfulfilled else None
    if action in (OrderAction.REFUND_PARTIAL, OrderAction.REFUND_FULL):  # only captured money
        target = P.REFUNDED if action is OrderAction.REFUND_FULL else P.PARTIALLY_REFUNDED
        return replace_payment(state, target) if p in (P.PAID, P.PARTIALLY_REFUNDED) else None
    if action is OrderAction.FULFIL:
        paid = p is P.PAID or (p is P.AUTHORIZED and state.gateway == "manual")
        return (
            OrderState(s, p, F.FULFILLED, state.gateway) if open_ and unfulfilled and paid else None
        )
    if action is OrderAction.CANCEL:
        return OrderState(S.CANCELLED, p, f, state.gateway) if open_ and unfulfilled else None
    assert action is OrderAction.UPDATE
    return state if open_ and unfulfilled else None


def replace_payment(state: OrderState, payment: PaymentStatus) -> OrderState:
    return OrderState(state.status, payment, state.shipping, state.gateway)


@pytest.mark.parametrize("action", list(OrderAction), ids=lambda a: a.value)
def test_every_state_and_action_matches_the_contract(action: OrderAction) -> None:
    allowed = 0
    for state in ALL_STATES:
        expected = oracle(state, action)
        gateway = "card" if action in PAY_ACTIONS else None
        if expected is None:
            with pytest.raises(DomainError) as info:
                next_state(state, action, gateway)
            assert info.value.code is ErrorCode.INVALID_TRANSITION, (state, action)
        else:
            assert next_state(state, action, gateway) == expected, (state, action)
            allowed += 1
    assert 0 < allowed < len(ALL_STATES)


def test_pay_actions_demand_a_gateway_and_others_refuse_one() -> None:
    new = OrderState(S.INCOMPLETE, P.UNPAID, F.UNFULFILLED)
    with pytest.raises(ValueError):
        next_state(new, OrderAction.PURCHASE)
    with pytest.raises(ValueError):
        next_state(new, OrderAction.CANCEL, "card")


def test_manual_authorization_is_fulfillable_but_card_authorization_is_not() -> None:
    authorized = OrderState(S.INCOMPLETE, P.AUTHORIZED, F.UNFULFILLED, "manual")
    fulfilled = next_state(authorized, OrderAction.FULFIL)
    assert fulfilled.shipping is F.FULFILLED and fulfilled.payment is P.AUTHORIZED
    assert next_state(fulfilled, OrderAction.CAPTURE).status is S.COMPLETE
    with pytest.raises(DomainError):
        next_state(
            OrderState(S.INCOMPLETE, P.AUTHORIZED, F.UNFULFILLED, "card"), OrderAction.FULFIL
        )


def test_holds_stock_only_between_payment_and_fulfilment_or_cancel() -> None:
    assert holds_stock(OrderState(S.COMPLETE, P.PAID, F.UNFULFILLED))
    assert holds_stock(OrderState(S.INCOMPLETE, P.AUTHORIZED, F.UNFULFILLED, "card"))
    assert not holds_stock(OrderState(S.INCOMPLETE, P.UNPAID, F.UNFULFILLED))
    assert not holds_stock(OrderState(S.COMPLETE, P.PAID, F.FULFILLED))
    assert not holds_stock(OrderState(S.CANCELLED, P.PAID, F.UNFULFILLED))


# --- persisted transitions -------------------------------------------------------------

REACHABLE = [
    OrderState(S.INCOMPLETE, P.UNPAID, F.UNFULFILLED),
    OrderState(S.INCOMPLETE, P.AUTHORIZED, F.UNFULFILLED, "manual"),
    OrderState(S.INCOMPLETE, P.AUTHORIZED, F.UNFULFILLED, "card"),
    OrderState(S.INCOMPLETE, P.AUTHORIZED, F.FULFILLED, "manual"),
    OrderState(S.COMPLETE, P.PAID, F.UNFULFILLED, "card"),
    OrderState(S.COMPLETE, P.PAID, F.FULFILLED, "card"),
    OrderState(S.COMPLETE, P.PARTIALLY_REFUNDED, F.FULFILLED, "card"),
    OrderState(S.COMPLETE, P.REFUNDED, F.UNFULFILLED, "card"),
    OrderState(S.CANCELLED, P.UNPAID, F.UNFULFILLED),
    OrderState(S.CANCELLED, P.AUTHORIZED, F.UNFULFILLED, "card"),
    OrderState(S.CANCELLED, P.PAID, F.UNFULFILLED, "card"),
]


def order_in(state: OrderState, number: int) -> Order:
    """An order without catalogue lines (so no stock effects) in the given state."""
    return Order(
        number=number,
        status=state.status.value,
        payment=state.payment.value,
        shipping=state.shipping.value,
        payment_gateway=state.gateway,
        customer_email="buyer@example.com",
        customer_name="Buyer",
        billing_address={},
        subtotal=0,
        tax=0,
        total=0,
        currency="USD",
        exchange_rate=Decimal(1),
    )


async def test_persisted_transitions_follow_the_table_and_failures_change_nothing(
    db: Database,
) -> None:
    cases: dict[uuid.UUID, tuple[OrderState, OrderAction]] = {}
    async with db.transaction() as session:
        for number, (state, action) in enumerate(
            itertools.product(REACHABLE, OrderAction), start=1
        ):
            order = order_in(state, number)
            session.add(order)
            cases[order.id] = (state, action)
    for order_id, (state, action) in cases.items():
        expected = oracle(state, action)
        gateway = "card" if action in PAY_ACTIONS else None
        try:
            async with db.transaction() as session:
                row = await transition(session, order_id, action, message="test", gateway=gateway)
                assert expected is not None, (state, action)
                assert OrderState.of(row) == expected
        except DomainError as error:
            assert expected is None and error.code is ErrorCode.INVALID_TRANSITION, (state, action)
    async with db.reader() as session:
        rows = {o.id: o for o in (await session.scalars(select(Order))).all()}
        events = (await session.scalars(select(OrderEvent))).all()
    for order_id, (state, action) in cases.items():
        expected = oracle(state, action)
        assert OrderState.of(rows[order_id]) == (expected or state), (state, action)
    assert {e.order_id for e in events} == {
        oid for oid, (state, action) in cases.items() if oracle(state, action)
    }
