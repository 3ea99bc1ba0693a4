"""Orders: the state machine, checkout's order building, updates and listings (API.md section 7).

The state machine is one table (`RULES`): for each action, the source states it accepts, the
values it sets, its stock effect (RELEASE or SHIP of the units the order holds, whose guards are
rows of `domain.inventory.STOCK_RULES`), the event it records and the verb its errors use.
`next_state` is the pure function over that table; `transition` persists a step with an UPDATE
conditional on the state it read, so two racing requests never both win.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from domain import carts, customers, events, holds, inventory, promotions, shipping
from domain.customfields import CustomFieldEntity, check_custom_fields, definitions_of
from domain.errors import DomainError, DomainErrors, ErrorCode, raise_all
from domain.inventory import StockMove
from domain.pagination import Page, PageRequest, SortKey, paginate
from domain.pricing import CurrencySpec, breakdown
from domain.text import clean_sku, like_pattern
from domain.validation import require_text
from models.base import new_id, utcnow
from models.catalog import FieldDefinition, TaxBand
from models.orders import Order, OrderCounter, OrderEvent, OrderItem
from models.shipping import ShippingMethod

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


RELEASE = StockMove.DEALLOCATE
"""Stock effect: the units the order holds go back to available."""
SHIP = StockMove.SHIP
"""Stock effect: the units the order holds leave the building (total and allocated drop)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Which states an action accepts, what it sets and what it does to the stock the order
    holds (`stock`, applied while the order holds any), whether promotion uses go back (when
    the payment before the step is in `promotion_uses_back`), the event it records in the
    order's history, the verb of its error message ("cannot <verb> an order that is ...") and
    the outbox event it emits (`domain.events`, webhooks and subscriptions). `gateway` is the
    new gateway value: "given" (the gateway argument), None (cleared) or `_KEEP`."""

    event: str
    verb: str
    outbox: str
    status: frozenset[OrderStatus]
    payment: frozenset[PaymentStatus]
    shipping: frozenset[ShippingStatus]
    guard: Callable[[OrderState], bool] | None = None
    to_status: object = _KEEP
    to_payment: object = _KEEP
    to_shipping: object = _KEEP
    gateway: object = _KEEP
    stock: StockMove | None = None
    promotion_uses_back: frozenset[PaymentStatus] = frozenset()
    releases_reservation: bool = False


_PAY_SOURCE = {
    "status": frozenset({OrderStatus.INCOMPLETE}),
    "payment": frozenset({PaymentStatus.UNPAID}),
    "shipping": _UNFULFILLED,
}

RULES: Mapping[OrderAction, Rule] = {
    OrderAction.AUTHORIZE: Rule(
        "authorized",
        "pay",
        events.ORDER_UPDATED,
        **_PAY_SOURCE,
        to_payment=PaymentStatus.AUTHORIZED,
        gateway="given",
    ),
    OrderAction.PURCHASE: Rule(
        "paid",
        "pay",
        events.ORDER_PAID,
        **_PAY_SOURCE,
        to_payment=PaymentStatus.PAID,
        to_status=OrderStatus.COMPLETE,
        gateway="given",
    ),
    OrderAction.CAPTURE: Rule(
        "captured",
        "capture the payment of",
        events.ORDER_PAID,
        status=frozenset({OrderStatus.INCOMPLETE}),
        payment=frozenset({PaymentStatus.AUTHORIZED}),
        shipping=_ALL_SHIPPING,
        to_payment=PaymentStatus.PAID,
        to_status=OrderStatus.COMPLETE,
    ),
    # A fulfilled pay-on-delivery order can only be captured: its goods are gone.
    OrderAction.VOID: Rule(
        "authorization_voided",
        "cancel the authorization of",
        events.ORDER_UPDATED,
        status=_ALL_STATUS,
        payment=frozenset({PaymentStatus.AUTHORIZED}),
        shipping=_UNFULFILLED,
        to_payment=PaymentStatus.UNPAID,
        gateway=None,
        stock=RELEASE,
    ),
    OrderAction.REFUND_PARTIAL: Rule(
        "partially_refunded",
        "refund",
        events.REFUND_CREATED,
        status=_ALL_STATUS,
        payment=_CAPTURED,
        shipping=_ALL_SHIPPING,
        to_payment=PaymentStatus.PARTIALLY_REFUNDED,
    ),
    OrderAction.REFUND_FULL: Rule(
        "refunded",
        "refund",
        events.REFUND_CREATED,
        status=_ALL_STATUS,
        payment=_CAPTURED,
        shipping=_ALL_SHIPPING,
        to_payment=PaymentStatus.REFUNDED,
    ),
    OrderAction.FULFIL: Rule(
        "fulfilled",
        "fulfil",
        events.ORDER_FULFILLED,
        status=_OPEN,
        payment=frozenset({PaymentStatus.PAID, PaymentStatus.AUTHORIZED}),
        shipping=_UNFULFILLED,
        guard=_fulfillable_payment,
        to_shipping=ShippingStatus.FULFILLED,
        stock=SHIP,
    ),
    OrderAction.CANCEL: Rule(
        "cancelled",
        "cancel",
        events.ORDER_CANCELLED,
        status=_OPEN,
        payment=_ALL_PAYMENT,
        shipping=_UNFULFILLED,
        to_status=OrderStatus.CANCELLED,
        stock=RELEASE,
        promotion_uses_back=frozenset({PaymentStatus.UNPAID}),
        releases_reservation=True,
    ),
    OrderAction.UPDATE: Rule(
        "updated",
        "update",
        events.ORDER_UPDATED,
        status=_OPEN,
        payment=_ALL_PAYMENT,
        shipping=_UNFULFILLED,
    ),
}


def allows(state: OrderState, action: OrderAction) -> bool:
    rule = RULES[action]
    return (
        state.status in rule.status
        and state.payment in rule.payment
        and state.shipping in rule.shipping
        and (rule.guard is None or rule.guard(state))
    )


def require_allowed(state: OrderState, action: OrderAction, field: list[str]) -> None:
    """INVALID_TRANSITION on `field`, worded with the rule's verb, unless `action` is allowed."""
    if not allows(state, action):
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"cannot {RULES[action].verb} an order that is "
            f"{state.status.value}, {state.payment.value}, {state.shipping.value}",
            field,
        )


def next_state(state: OrderState, action: OrderAction, gateway: str | None = None) -> OrderState:
    """The state after `action`, or INVALID_TRANSITION when the rules forbid it.

    `gateway` is the paying gateway's slug, required by AUTHORIZE and PURCHASE only.
    """
    rule = RULES[action]
    if (rule.gateway == "given") != (gateway is not None):
        raise ValueError(f"{action.value} {'needs' if gateway is None else 'takes no'} gateway")
    require_allowed(state, action, ["id"])
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


async def record_event(
    session: AsyncSession,
    order_id: uuid.UUID,
    event_type: str,
    message: str,
    seq: int | None = None,
) -> None:
    """Append to the order's history: one INSERT, numbered after the order's last event in
    the same statement (`seq` when the caller knows it: 0 for a new order). Call it with the
    order row locked (inside `transition`, or right after creating the order): (order_id,
    seq) is unique, so a racing writer fails loudly instead of interleaving."""
    row = {
        "id": new_id(),
        "order_id": order_id,
        "type": event_type,
        "message": message,
        "at": utcnow(),
    }
    if seq is None:
        await session.execute(_APPEND_EVENT, row)
    else:
        await session.execute(_INSERT_EVENT, {**row, "seq": seq})


def _insert_history(seq: Any) -> Any:
    table = OrderEvent.__table__  # type: ignore[attr-defined]
    columns = ("id", "order_id", "type", "message", "at")
    binds = {c: bindparam(c, type_=table.c[c].type) for c in columns}
    return table.insert().values(**binds, seq=seq)


def _next_seq() -> Any:
    table = OrderEvent.__table__  # type: ignore[attr-defined]
    last = select(func.max(table.c.seq)).where(
        table.c.order_id == bindparam("order_id", type_=table.c.order_id.type)
    )
    return func.coalesce(last.scalar_subquery() + 1, 0)


_INSERT_EVENT = _insert_history(bindparam("seq", type_=Integer))
_APPEND_EVENT = _insert_history(_next_seq())
"""A history entry's INSERT at a given `seq`, and after the order's last one: built once,
run with bind parameters."""


async def transition(
    session: AsyncSession,
    order_id: uuid.UUID,
    action: OrderAction,
    *,
    message: str,
    gateway: str | None = None,
    event: str | None = None,
    announce: bool = True,
    locked: Order | None = None,
    items: Sequence[OrderItem] | None = None,
) -> Order:
    """Apply `action` to the order and record it, with the rule's stock effect, and emit the
    rule's outbox event (unless `announce` is False: the caller changes more and emits).
    `locked`: the order as the caller read it with its row lock in this transaction (not
    read again); `items`: its lines, when the caller has them (the event then reads none).

    The UPDATE only matches while the order is still in the state read here: if another
    request moved it first, nothing changes and this one gets INVALID_TRANSITION.
    `event` names the history entry when it is not the action's own (an expiry is a CANCEL).
    Stock: the rule's `stock` move (RELEASE for CANCEL and VOID, SHIP for FULFIL) applies to
    the units the order holds, when it holds any (`holds_stock` before the step); otherwise a
    rule with `releases_reservation` (CANCEL) releases the order's reservation (section 11:
    once, the hold being cleared by a conditional UPDATE). Promotion uses go back when the
    payment before the step is in the rule's `promotion_uses_back` (CANCEL of an unpaid order:
    once, as the transition happens once).
    Lock order: this UPDATE locks the order row before any product row is touched; callers
    that change stock too should call `transition` first, so two requests on one order always
    lock in the same order and never deadlock.
    """
    order = locked or await session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no order with that id", ["id"])
    before = OrderState.of(order)
    after = next_state(before, action, gateway)
    values = {
        "status": after.status.value,
        "payment": after.payment.value,
        "shipping": after.shipping.value,
        "payment_gateway": after.gateway,
        "updated_at": utcnow(),
    }
    was = {"was_status": before.status.value, "was_payment": before.payment.value}
    was["was_shipping"] = before.shipping.value
    result = await session.execute(_TRANSITION, {"order_id": order_id, **was, **values})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "the order was changed by another request", ["id"]
        )
    for name, value in values.items():  # `order` as the UPDATE left it
        set_committed_value(order, name, value)
    rule = RULES[action]
    await record_event(session, order_id, event or rule.event, message)
    released = False
    if rule.stock is not None and holds_stock(before):
        await inventory.move_held_stock(session, order_id, rule.stock)
    elif rule.releases_reservation:
        released = await holds.release(session, order_id)  # it clears reserved_until
    if before.payment in rule.promotion_uses_back:
        await promotions.release_uses(session, order_id)
    if released:
        await session.refresh(order)
    if announce:
        await events.emit_order(session, rule.outbox, order, items)
    return order


def _transition_update() -> Any:
    table = Order.__table__  # type: ignore[attr-defined]
    columns = ("status", "payment", "shipping", "payment_gateway", "updated_at")
    return (
        update(table)  # Core: the ORM's bulk UPDATE costs more than the statement
        .where(
            table.c.id == bindparam("order_id", type_=table.c.id.type),
            table.c.status == bindparam("was_status"),
            table.c.payment == bindparam("was_payment"),
            table.c.shipping == bindparam("was_shipping"),
        )
        .values({c: bindparam(c, type_=table.c[c].type) for c in columns})
    )


_TRANSITION = _transition_update()
"""A transition's UPDATE, only while the order is in the state read: built once, run with
bind parameters."""


# --- placing orders (checkout and admin orderCreate) -----------------------------------

FIRST_ORDER_NUMBER = 1001


@dataclass(frozen=True, slots=True)
class Caller:
    """Who places an order: an admin, or a storefront with or without a signed-in customer."""

    is_admin: bool
    customer_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Buyer:
    customer_id: uuid.UUID | None
    email: str
    name: str


def _collect(errors: list[DomainError], run: Callable[[], Any]) -> Any:
    """Run a check, collecting its DomainError(s) instead of raising them."""
    try:
        return run()
    except DomainError as error:
        errors.append(error)
    except DomainErrors as many:
        errors.extend(many.errors)
    return None


async def _buyer(
    session: AsyncSession, data: Mapping[str, Any], caller: Caller, errors: list[DomainError]
) -> Buyer | None:
    """Exactly one of customerId and customer. A signed-in customer's order is theirs; a
    guest's `customer` is only copied onto the order, never matched to an account by email."""
    given_id, guest = data.get("customer_id"), data.get("customer")
    if (given_id is None) == (guest is None):
        field = ["input", "customerId" if given_id is not None else "customer"]
        message = "give exactly one of customerId and customer {email, name}"
        errors.append(DomainError(ErrorCode.INVALID, message, field))
        return None
    if guest is not None:
        return _guest(guest, caller, errors)
    field = ["input", "customerId"]
    pk = _collect(
        errors,
        lambda: customers.target_customer(given_id, caller.is_admin, caller.customer_id, field),
    )
    customer = await customers.get_customer(session, pk) if pk else None
    if pk and customer is None:
        errors.append(DomainError(ErrorCode.NOT_FOUND, "no customer with that id", field))
    return Buyer(customer.id, customer.email, customer.name) if customer else None


def _guest(guest: Mapping[str, Any], caller: Caller, errors: list[DomainError]) -> Buyer | None:
    path = ["input", "customer"]
    email = _collect(
        errors, lambda: customers.normalise_email(guest.get("email"), [*path, "email"])
    )
    before = len(errors)
    require_text(errors, guest.get("name"), [*path, "name"], customers.NAME_MAX_LENGTH)
    if email is None or len(errors) > before:
        return None
    return Buyer(caller.customer_id, email, guest["name"].strip())


def _addresses(
    data: Mapping[str, Any], errors: list[DomainError]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The billing address (required) and the shipping address (defaults to the billing one)."""
    billing = _address(data, "billing_address", errors)
    if data.get("shipping_address") is None:
        return billing, billing
    return billing, _address(data, "shipping_address", errors)


def _address(data: Mapping[str, Any], key: str, errors: list[DomainError]) -> dict[str, Any] | None:
    field = ["input", "billingAddress" if key == "billing_address" else "shippingAddress"]
    if data.get(key) is None:
        errors.append(DomainError(ErrorCode.REQUIRED, f"{field[-1]} is required", field))
        return None
    return _collect(errors, lambda: customers.validate_address(data[key], field))


async def _shipping_method(
    session: AsyncSession,
    method_id: uuid.UUID | None,
    lines: carts.PricedLines,
    errors: list[DomainError],
    kept: "Kept | None" = None,
) -> tuple[ShippingMethod | None, Decimal]:
    """The chosen method and its tax rate. An id naming no method, a disabled method or one
    whose bounds exclude the cart are all SHIPPING_METHOD_NOT_ELIGIBLE."""
    field = ["input", "shippingMethodId"]
    if method_id is None:
        if lines.requires_shipping:
            message = "the cart needs shipping: choose one of its shippingMethods"
            errors.append(DomainError(ErrorCode.SHIPPING_METHOD_REQUIRED, message, field))
        return None, Decimal(0)
    if kept is not None:
        method = kept.methods.get(method_id)
    else:
        method = await session.get(ShippingMethod, method_id)
    if method is None or not shipping.is_eligible(method, lines.store_subtotal, lines.weight):
        message = "that shipping method is not available for this cart"
        errors.append(DomainError(ErrorCode.SHIPPING_METHOD_NOT_ELIGIBLE, message, field))
        return None, Decimal(0)
    if method.tax_band_id is None:
        return method, Decimal(0)
    if kept is not None and method.tax_band_id in kept.tax_rates:
        return method, kept.tax_rates[method.tax_band_id]
    band = await session.get(TaxBand, method.tax_band_id)
    return method, band.rate if band else Decimal(0)


async def _order_custom_fields(
    session: AsyncSession,
    values: Any,
    existing: Mapping[str, Any] | None,
    errors: list[DomainError],
    definitions: Mapping[str, FieldDefinition] | None = None,
) -> dict[str, Any] | None:
    """The order's custom fields: `values` merged into `existing` (a null value removes a key),
    checked against the ORDER field definitions (read unless given); problems are collected
    into `errors`."""
    try:
        if definitions is None:
            definitions = await definitions_of(session, CustomFieldEntity.ORDER.value)
        return check_custom_fields(definitions, values, existing)
    except DomainError as error:
        errors.append(error)
    except DomainErrors as many:
        errors.extend(many.errors)
    return None


async def next_order_number(session: AsyncSession) -> int:
    """The next store-wide order number. The counter row is locked (PostgreSQL) or the
    database write-locked (SQLite) until the caller's transaction ends, so concurrent
    checkouts on any number of processes get distinct numbers, and a rolled-back checkout
    gives its number back."""
    result = await session.execute(_counter_upsert(session.get_bind().dialect.name))
    return int(result.scalar_one())


@cache
def _counter_upsert(dialect: str) -> Any:
    """The order counter's upsert, built once per dialect (building it cost more than
    running it)."""
    table = OrderCounter.__table__  # type: ignore[attr-defined]
    stmt = carts.insert_of(dialect)(table).values(id=1, value=FIRST_ORDER_NUMBER)
    return stmt.on_conflict_do_update(
        index_elements=["id"], set_={"value": table.c.value + 1}
    ).returning(table.c.value)


@dataclass(frozen=True, slots=True)
class Placement:
    """What `place_order` needs beside the lines: the input (snake_case, ids decoded), the
    caller, the currencies (store, and the order's: the buyer's display currency), where
    each line's errors point, and the promotions whose codes were entered (and where their
    errors point)."""

    data: Mapping[str, Any]
    caller: Caller
    store: CurrencySpec
    currency: CurrencySpec
    line_fields: Mapping[int, list[str]]
    event_message: str
    promotion_ids: Sequence[uuid.UUID] = ()
    promotion_field: Sequence[str] = ("reference",)
    hold_seconds: int = 0
    """Section 11's reservation: hold the managed lines' stock this long (0: hold nothing)."""
    kept: "Kept | None" = None
    """Reference data the process keeps (None: read it in the transaction)."""


@dataclass(frozen=True, slots=True)
class Kept:
    """Reference data as the process keeps it under version stamps (resolvers' caches): the
    shipping methods by id, tax rates by band, the automatic promotions, the ORDER custom-field
    definitions by slug. Rules that must hold under concurrency (promotion limits, stock) are
    still decided by the database."""

    methods: Mapping[uuid.UUID, ShippingMethod]
    tax_rates: Mapping[uuid.UUID, Decimal]
    automatic: Sequence[promotions.Candidate]
    order_fields: Mapping[str, FieldDefinition]


@dataclass(frozen=True, slots=True)
class _Checked:
    """An order's validated parts, ready to write."""

    buyer: Buyer
    billing: dict[str, Any]
    shipping_address: dict[str, Any] | None
    custom_fields: dict[str, Any]
    priced: carts.PricedLines
    method: ShippingMethod | None
    shipping_rate: Decimal
    discounts: promotions.Discounts

    @property
    def buyer_key(self) -> str:
        """Whose promotion uses these are: the customer, else the checkout email."""
        return buyer_key(self.buyer)


def buyer_key(buyer: Buyer) -> str:
    return str(buyer.customer_id) if buyer.customer_id else buyer.email.lower()


async def _check(
    session: AsyncSession, lines: Sequence[carts.Line], placement: Placement
) -> _Checked:
    """Every rule of checkout, every problem reported at once."""
    data, errors = placement.data, []
    buyer = await _buyer(session, data, placement.caller, errors)
    billing, shipping_address = _addresses(data, errors)
    kept = placement.kept
    definitions = kept.order_fields if kept else None
    custom = await _order_custom_fields(
        session, data.get("custom_fields"), None, errors, definitions
    )
    if not lines:
        errors.append(DomainError(ErrorCode.CART_EMPTY, "the cart is empty", ["reference"]))
    errors.extend(carts.line_problems(lines, placement.line_fields))
    priced = carts.price_lines(lines, placement.store, placement.currency)
    method_id = data.get("shipping_method_id")
    method, rate = await _shipping_method(session, method_id, priced, errors, kept)
    found = await promotions.discounts_for(
        session,
        lines,
        priced,
        placement.promotion_ids,
        buyer_key(buyer) if buyer else None,
        placement.store,
        kept.automatic if kept else None,
    )
    errors.extend(promotions.refusals(found.discounts, list(placement.promotion_field)))
    raise_all(errors)
    assert buyer is not None and billing is not None
    return _Checked(
        buyer, billing, shipping_address, custom or {}, priced, method, rate, found.discounts
    )


def _order_row(checked: _Checked, placement: Placement, number: int) -> Order:
    method, priced, currency = checked.method, checked.priced, placement.currency
    discounts = checked.discounts
    price = method.price if method and not discounts.free_shipping else 0
    charge = breakdown(price, checked.shipping_rate, placement.store, currency)
    return Order(
        number=number,
        customer_id=checked.buyer.customer_id,
        customer_email=checked.buyer.email,
        customer_name=checked.buyer.name,
        billing_address=checked.billing,
        shipping_address=checked.shipping_address,
        shipping_method_id=method.id if method else None,
        shipping_method_name=method.name if method else None,
        shipping_method_carrier=method.carrier if method else None,
        shipping_price=charge.without_tax.amount,
        shipping_tax_rate=checked.shipping_rate,
        shipping_tax=charge.tax.amount,
        subtotal=priced.subtotal.without_tax.amount,
        discount=discounts.discount.without_tax.amount,
        tax=discounts.total.tax.amount + charge.tax.amount,
        total=discounts.total.with_tax.amount + charge.with_tax.amount,
        currency=currency.code,
        exchange_rate=currency.exchange_rate,
        custom_fields=checked.custom_fields,
    )


async def place_order(
    session: AsyncSession, lines: Sequence[carts.Line], placement: Placement
) -> Order:
    """Validate everything, then write the order: a copy of every line, the shipping method
    and price, the totals, the discounts (their uses counted: PROMOTION_EXHAUSTED rolls the
    whole order back), a number (taken last, to hold the counter lock briefly) and a
    "created" event (in the history and the outbox)."""
    checked = await _check(session, lines, placement)
    order = _order_row(checked, placement, await next_order_number(session))
    session.add(order)
    await session.flush()
    items = [
        _order_item(order.id, i, p, checked.discounts) for i, p in enumerate(checked.priced.lines)
    ]
    session.add_all(items)
    await promotions.record_uses(session, order.id, checked.discounts, checked.buyer_key)
    if placement.hold_seconds:
        await holds.hold_new_order(
            session, order, lines, placement.line_fields, placement.hold_seconds
        )
    await record_event(session, order.id, "created", placement.event_message, seq=0)
    await events.emit_order(session, events.ORDER_CREATED, order, items)
    return order


def _order_item(
    order_id: uuid.UUID, position: int, priced: carts.PricedLine, discounts: promotions.Discounts
) -> OrderItem:
    line = priced.line
    return OrderItem(
        order_id=order_id,
        position=position,
        product_id=line.product_id,
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        tax_rate=line.tax_rate,
        unit_price=priced.unit.without_tax.amount,
        unit_tax=priced.unit.tax.amount,
        line_price=priced.total.without_tax.amount,
        line_tax=priced.total.tax.amount,
        discount=discounts.line_discounts[position],
        discount_tax=discounts.line_tax_cuts[position],
    )


async def checkout(
    session: AsyncSession, reference: str, ttl: timedelta, placement: Placement
) -> Order:
    """Turn a cart into an order in the caller's transaction, then delete the cart. The
    cart row is locked as its lines are read, so a cart checked out twice at once makes one
    order (the second finds it deleted: CART_EMPTY)."""
    found = await carts.locked_cart_lines(session, reference, ttl)
    if found is None:  # no lines: an existing cart's checkout reports every problem
        cart = await carts.live_cart(session, reference, ttl)
        if cart is None:
            raise DomainError(ErrorCode.CART_EMPTY, "the cart is empty", ["reference"])
        found = cart.id, cart.has_codes, []
    cart_id, has_codes, lines = found
    entered = await promotions.entered_ids(session, cart_id) if has_codes else []
    order = await place_order(session, lines, replace(placement, promotion_ids=entered))
    await carts.delete_cart_by_id(session, cart_id)
    return order


async def _item_lines(
    session: AsyncSession, items: Sequence[Mapping[str, Any]]
) -> tuple[list[carts.Line], dict[int, list[str]]]:
    """orderCreate's items as lines: each is a catalogue `{productId, quantity}` or a custom
    `{sku, name, price, quantity, taxBandId}`. Items naming the same product are merged.
    Returns the lines and, per line, the path its stock errors point to."""
    errors: list[DomainError] = []
    wanted: dict[uuid.UUID, int] = {}
    first_index: dict[uuid.UUID, int] = {}
    customs: list[tuple[int, Mapping[str, Any]]] = []
    for index, item in enumerate(items):
        path = ["input", "items", str(index)]
        if not _check_item(item, path, errors):
            continue
        if item.get("product_id") is not None:
            pid = item["product_id"]
            wanted[pid] = wanted.get(pid, 0) + item["quantity"]
            first_index.setdefault(pid, index)
        else:
            customs.append((index, item))
    found = await carts.product_lines(session, list(wanted.items()))
    for pid, index in first_index.items():
        if pid not in found:  # deleted (or never made): not for sale
            field = ["input", "items", str(index), "productId"]
            message = "no product with that id is for sale"
            errors.append(DomainError(ErrorCode.PRODUCT_UNAVAILABLE, message, field))
    rates = await _tax_rates(session, customs, errors)
    raise_all(errors)
    lines = [found[pid] for pid in first_index]
    fields = {n: ["input", "items", str(first_index[pid])] for n, pid in enumerate(first_index)}
    for index, item in customs:
        fields[len(lines)] = ["input", "items", str(index)]
        lines.append(
            carts.custom_line(
                None,
                item["sku"].strip(),
                item["name"].strip(),
                item["price"],
                item["quantity"],
                rates.get(item.get("tax_band_id")),
            )
        )
    return lines, fields


CUSTOM_ITEM_KEYS = ("sku", "name", "price", "tax_band_id")


def _check_item(item: Mapping[str, Any], path: list[str], errors: list[DomainError]) -> bool:
    """One item's shape and values; False (with errors) when it is unusable."""
    before = len(errors)
    quantity = item.get("quantity")
    if quantity is None:
        errors.append(DomainError(ErrorCode.REQUIRED, "quantity is required", [*path, "quantity"]))
    elif not 1 <= quantity <= carts.MAX_LINE_QUANTITY:
        message = f"quantity must be between 1 and {carts.MAX_LINE_QUANTITY}"
        errors.append(DomainError(ErrorCode.INVALID, message, [*path, "quantity"]))
    custom_keys = [k for k in CUSTOM_ITEM_KEYS if item.get(k) is not None]
    if item.get("product_id") is not None:
        if custom_keys:
            message = "give productId, or sku, name and price of a custom item, not both"
            errors.append(DomainError(ErrorCode.INVALID, message, path))
        return len(errors) == before
    if not custom_keys:
        message = "give productId, or sku, name and price of a custom item"
        errors.append(DomainError(ErrorCode.INVALID, message, path))
        return False
    clean_sku(errors, item.get("sku"), [*path, "sku"])
    require_text(errors, item.get("name"), [*path, "name"], 300)
    price = item.get("price")
    if price is None or price < 0:
        field = [*path, "price"]
        errors.append(DomainError(ErrorCode.INVALID, "price must be 0 or more", field))
    return len(errors) == before


async def _tax_rates(
    session: AsyncSession,
    customs: Sequence[tuple[int, Mapping[str, Any]]],
    errors: list[DomainError],
) -> dict[uuid.UUID | None, Decimal]:
    """The rates of the custom items' tax bands, by band id (NOT_FOUND for unknown bands)."""
    wanted = {i["tax_band_id"] for _, i in customs if i.get("tax_band_id") is not None}
    if not wanted:
        return {}
    bands = (await session.scalars(select(TaxBand).where(TaxBand.id.in_(wanted)))).all()
    rates: dict[uuid.UUID | None, Decimal] = {b.id: b.rate for b in bands}
    for index, item in customs:
        if item.get("tax_band_id") is not None and item["tax_band_id"] not in rates:
            field = ["input", "items", str(index), "taxBandId"]
            errors.append(DomainError(ErrorCode.NOT_FOUND, "no tax band with that id", field))
    return rates


async def create_order(
    session: AsyncSession, items: Sequence[Mapping[str, Any]], placement: Placement
) -> Order:
    """An admin's order without a cart: the same rules and the same order building as
    checkout."""
    if not items:
        raise DomainError(
            ErrorCode.REQUIRED, "an order needs at least one item", ["input", "items"]
        )
    lines, fields = await _item_lines(session, items)
    field = ["input", "promotionCodes"]
    codes = placement.data.get("promotion_codes") or []
    entered = await promotions.ids_of_codes(session, codes, field)
    changes = {"line_fields": fields, "promotion_ids": entered, "promotion_field": field}
    return await place_order(session, lines, replace(placement, **changes))  # type: ignore[arg-type]


# --- changing orders -------------------------------------------------------------------


async def update_order(
    session: AsyncSession, order_id: uuid.UUID, data: Mapping[str, Any]
) -> Order:
    """Change addresses and custom fields of an unfulfilled, uncancelled order; everything
    else on an order is immutable. Custom fields given are merged into the order's values as
    they are once the order row is locked (by the transition), so concurrent updates of
    different fields never lose one another."""
    errors: list[DomainError] = []
    changes: dict[str, Any] = {}
    for key in ("billing_address", "shipping_address"):
        if key in data:
            changes[key] = _address(data, key, errors)
    if not data:
        message = "give billingAddress, shippingAddress or customFields to change"
        errors.append(DomainError(ErrorCode.INVALID, message, ["input"]))
    raise_all(errors)
    names = ", ".join(_UPDATED_NAMES[k] for k in data)
    order = await transition(
        session, order_id, OrderAction.UPDATE, message=f"Changed {names}", announce=False
    )
    if "custom_fields" in data:
        changes["custom_fields"] = await _order_custom_fields(
            session, data["custom_fields"], order.custom_fields, errors
        )
        raise_all(errors)  # rolls the transition back with the caller's transaction
    for key, value in changes.items():
        setattr(order, key, value)
    await session.flush()
    await events.emit_order(session, events.ORDER_UPDATED, order)
    return order


_UPDATED_NAMES = {
    "billing_address": "the billing address",
    "shipping_address": "the shipping address",
    "custom_fields": "custom fields",
}


async def cancel_order(
    session: AsyncSession,
    order_id: uuid.UUID,
    *,
    event: str | None = None,
    message: str = "Order cancelled",
) -> Order:
    """Cancel an unfulfilled order; its allocated or reserved stock is released. Money taken
    is not refunded by this: refund it through its transactions. The unpaid-order expiry
    cancels through here too, with its own `event` ("expired")."""
    return await transition(session, order_id, OrderAction.CANCEL, message=message, event=event)


async def fulfil_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    """Mark a paid (or manual pay-on-delivery) order shipped; its stock leaves the building."""
    return await transition(session, order_id, OrderAction.FULFIL, message="Order fulfilled")


# --- reading orders --------------------------------------------------------------------


class OrderSortField(Enum):
    NUMBER = "NUMBER"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    TOTAL = "TOTAL"


_SORT_COLUMNS: Mapping[OrderSortField, Any] = {
    OrderSortField.NUMBER: Order.number,
    OrderSortField.CREATED_AT: Order.created_at,
    OrderSortField.UPDATED_AT: Order.updated_at,
    OrderSortField.TOTAL: Order.total,
}


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Every field given must hold. `created_after` is inclusive, `created_before` exclusive;
    `search` matches the number, the customer's email or name, or an item's sku or name."""

    status: OrderStatus | None = None
    payment: PaymentStatus | None = None
    shipping: ShippingStatus | None = None
    customer_email: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None


def _search(term: str) -> ColumnElement[bool]:
    pattern = like_pattern(term)
    item_matches = exists().where(
        OrderItem.order_id == Order.id,
        or_(OrderItem.sku.ilike(pattern, escape="\\"), OrderItem.name.ilike(pattern, escape="\\")),
    )
    conditions = [
        Order.customer_email.ilike(pattern, escape="\\"),
        Order.customer_name.ilike(pattern, escape="\\"),
        item_matches,
    ]
    digits = term.removeprefix("#")
    if digits.isdigit() and len(digits) <= 9:
        conditions.append(Order.number == int(digits))
    return or_(*conditions)


def _aware(moment: datetime) -> datetime:
    """An instant without a UTC offset (`2030-01-01T00:00:00`) is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def order_query(where: OrderFilter, customer_id: uuid.UUID | None = None) -> Select[Any]:
    """The orders matching `where` (only `customer_id`'s when given)."""
    stmt = select(Order)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    for column, value in (
        (Order.status, where.status),
        (Order.payment, where.payment),
        (Order.shipping, where.shipping),
    ):
        if value is not None:
            stmt = stmt.where(column == value.value)
    if where.customer_email:
        stmt = stmt.where(Order.customer_email == where.customer_email.strip().lower())
    if where.created_after is not None:
        stmt = stmt.where(Order.created_at >= _aware(where.created_after))
    if where.created_before is not None:
        stmt = stmt.where(Order.created_at < _aware(where.created_before))
    if where.search and where.search.strip():
        stmt = stmt.where(_search(where.search.strip()))
    return stmt


async def order_page(
    session: AsyncSession,
    where: OrderFilter,
    sort: OrderSortField,
    descending: bool,
    request: PageRequest,
    customer_id: uuid.UUID | None = None,
) -> Page[Order]:
    """One page of orders, keyset-paginated in SQL (the id breaks ties)."""
    column = _SORT_COLUMNS[sort]
    keys = [
        SortKey(column, lambda row: getattr(row, column.key)),
        SortKey(Order.id, lambda row: row.id),
    ]
    return await paginate(session, order_query(where, customer_id), keys, descending, request)


async def order_item(session: AsyncSession, item_id: uuid.UUID) -> OrderItem | None:
    return await session.get(OrderItem, item_id)


async def items_of_orders(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> list[list[OrderItem]]:
    """Each order's lines in order, in one query."""
    stmt = (
        select(OrderItem)
        .where(OrderItem.order_id.in_(order_ids))
        .order_by(OrderItem.order_id, OrderItem.position)
    )
    grouped: dict[uuid.UUID, list[OrderItem]] = {pk: [] for pk in order_ids}
    for row in (await session.scalars(stmt)).all():
        grouped[row.order_id].append(row)
    return [grouped[pk] for pk in order_ids]


async def events_of_orders(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> list[list[OrderEvent]]:
    """Each order's history, oldest first, in one query."""
    stmt = (
        select(OrderEvent)
        .where(OrderEvent.order_id.in_(order_ids))
        .order_by(OrderEvent.order_id, OrderEvent.seq)
    )
    grouped: dict[uuid.UUID, list[OrderEvent]] = {pk: [] for pk in order_ids}
    for row in (await session.scalars(stmt)).all():
        grouped[row.order_id].append(row)
    return [grouped[pk] for pk in order_ids]
