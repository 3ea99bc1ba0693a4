"""Payments (API.md section 8): gateway settings, `orderPay` with idempotency keys, and the
capture, refund and cancellation of transactions.

Paying an order takes three steps, so that no database transaction waits on a gateway:
1. one write transaction locks the order, checks it may be paid, inserts a PENDING payment
   transaction (a partial unique index allows one per order) and allocates every managed line
   (conditional UPDATEs in product-id order, all or nothing) and commits;
2. the gateway is asked, outside any transaction;
3. a second write transaction settles the PENDING row: SUCCEEDED moves the order through the
   state machine; FAILED releases the allocation and leaves the order UNPAID.
If the process dies between 1 and 3, the allocation stays with a PENDING transaction that
`sweep_stale_payments` (a background job of every server process) resolves once it is older
than the pending timeout: it asks the gateway (`recover`) and, when the gateway cannot tell,
marks the payment FAILED and releases the stock, as nothing was charged.

Capture, refund and cancel are admin operations on an existing transaction: each runs in one
write transaction holding the order's row lock, with the gateway call inside, so refunds of
one order are serialised and the refunded total is guarded by a conditional UPDATE as well.
"""

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from domain import events, gateways, holds, inventory, orders
from domain.errors import DomainError, ErrorCode, raise_all
from domain.gateways.base import (
    CardDetails,
    FollowUp,
    GatewayResult,
    Operation,
    PaymentGateway,
    PaymentRequest,
)
from domain.orders import OrderAction, OrderState
from domain.pricing import CurrencySpec, default_spec, format_amount
from domain.validation import require_text
from models.base import utcnow
from models.engine import Database, database_unavailable
from models.orders import Order, OrderItem
from models.payments import Gateway, IdempotencyKey, PaymentTransaction
from models.settings import Settings

log = logging.getLogger("stockroom.payments")

Transact = Callable[[], AbstractAsyncContextManager[AsyncSession]]
"""A factory of write transactions (or read sessions): `ctx.write`, `db.transaction`, ..."""


class Method(Enum):
    PURCHASE = "PURCHASE"
    AUTHORIZE = "AUTHORIZE"
    CAPTURE = "CAPTURE"
    REFUND = "REFUND"
    CANCEL = "CANCEL"


class TxStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


PAY_SCOPE = "orderPay"
MAX_KEY_LENGTH = 255
IDEMPOTENCY_WAIT_SECONDS = 30.0
IDEMPOTENCY_POLL_SECONDS = 0.05
SETTLE_RETRY_SECONDS = 20.0
"""How long settling a gateway's answer keeps retrying while the database is unavailable (a
PostgreSQL restart takes about a second) before leaving the payment to the sweep."""
ABANDONED = "the gateway's answer was lost and it cannot tell the outcome; nothing was charged"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a payment operation did: the order, the transaction it recorded (if any) and the
    business failure (if any). A FAILED transaction comes with a PAYMENT_DECLINED error."""

    order_id: uuid.UUID
    transaction_id: uuid.UUID | None
    error: DomainError | None = None
    order: Order | None = field(default=None, compare=False)
    """The order as the operation's transaction left it, when it has it (the answer then
    needs no second read)."""
    transaction: PaymentTransaction | None = field(default=None, compare=False)


# --- gateways --------------------------------------------------------------------------


def _insert_ignoring_conflict(
    session: AsyncSession, model: type, keys: list[str], values: Mapping[str, Any]
) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the session's dialect."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)


async def ensure_gateways(session: AsyncSession) -> None:
    """Give every registered gateway its row (enabled, default name); idempotent and safe when
    several processes start at once. Both built-ins start enabled: a new store can take
    orders at once (pay on delivery, and the test card gateway)."""
    for plugin in gateways.REGISTRY.values():
        now = utcnow()
        values = {
            "slug": plugin.slug,
            "name": plugin.default_name,
            "enabled": True,
            "settings": {},
            "created_at": now,
            "updated_at": now,
        }
        await session.execute(_insert_ignoring_conflict(session, Gateway, ["slug"], values))


async def list_gateways(session: AsyncSession, include_disabled: bool) -> list[Gateway]:
    stmt = select(Gateway).where(Gateway.slug.in_(list(gateways.REGISTRY))).order_by(Gateway.slug)
    if not include_disabled:
        stmt = stmt.where(Gateway.enabled)
    return list((await session.scalars(stmt)).all())


def _plugin_or_404(slug: str, field: list[str]) -> PaymentGateway:
    plugin = gateways.get(slug)
    if plugin is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no gateway {slug!r}", field)
    return plugin


def _clean_settings(plugin: PaymentGateway, current: Mapping[str, Any], given: Any) -> dict:
    """Merge `given` into the settings; a null value removes a setting."""
    field = ["input", "settings"]
    if not isinstance(given, Mapping):
        raise DomainError(ErrorCode.INVALID, "settings must be a JSON object", field)
    merged = dict(current)
    errors = []
    for name, value in given.items():
        expected = plugin.setting_types.get(name)
        if expected is None:
            known = ", ".join(sorted(plugin.setting_types)) or "none"
            message = f"{plugin.slug} has no setting {name!r} (settings: {known})"
            errors.append(DomainError(ErrorCode.INVALID, message, [*field, name]))
        elif value is None:
            merged.pop(name, None)
        elif type(value) is not expected:
            message = f"{name} must be a {expected.__name__}"
            errors.append(DomainError(ErrorCode.INVALID, message, [*field, name]))
        else:
            merged[name] = value
    raise_all(errors)
    return merged


async def update_gateway(session: AsyncSession, slug: str, data: Mapping[str, Any]) -> Gateway:
    plugin = _plugin_or_404(slug, ["slug"])
    row = await session.get(Gateway, slug, with_for_update=True)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no gateway {slug!r}", ["slug"])
    errors: list[DomainError] = []
    if "name" in data:
        require_text(errors, data["name"], ["input", "name"], 100)
    if "enabled" in data and data["enabled"] is None:
        errors.append(
            DomainError(ErrorCode.INVALID, "enabled cannot be null", ["input", "enabled"])
        )
    raise_all(errors)
    if "name" in data:
        row.name = data["name"].strip()
    if "enabled" in data:
        row.enabled = data["enabled"]
    if "settings" in data:
        row.settings = _clean_settings(plugin, row.settings, data["settings"])
    row.updated_at = utcnow()
    await session.flush()
    return row


# --- orderPay: checking the request --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayRequest:
    order_id: uuid.UUID
    gateway: str
    method: Method
    card: CardDetails | None
    idempotency_key: str | None

    @property
    def operation(self) -> Operation:
        return Operation(self.method.value)

    @property
    def action(self) -> OrderAction:
        return OrderAction(self.method.value)


def check_pay_request(request: PayRequest, *, is_admin: bool) -> PaymentGateway:
    """Every problem with the arguments, before anything is written or claimed."""
    errors: list[DomainError] = []
    if request.method not in (Method.PURCHASE, Method.AUTHORIZE):
        message = "method must be PURCHASE or AUTHORIZE"
        errors.append(DomainError(ErrorCode.INVALID, message, ["input", "method"]))
    key = request.idempotency_key
    if key is not None and not (key.strip() and len(key) <= MAX_KEY_LENGTH):
        message = f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters"
        errors.append(DomainError(ErrorCode.INVALID, message, ["input", "idempotencyKey"]))
    plugin = gateways.get(request.gateway)
    if plugin is None:
        message = f"no gateway {request.gateway!r}"
        errors.append(DomainError(ErrorCode.NOT_FOUND, message, ["input", "gateway"]))
    elif not errors:
        errors.extend(_gateway_problems(plugin, request, is_admin))
    raise_all(errors)
    assert plugin is not None
    return plugin


def _gateway_problems(
    plugin: PaymentGateway, request: PayRequest, is_admin: bool
) -> list[DomainError]:
    errors = []
    method_field = ["input", "method"]
    if request.operation not in plugin.operations:
        message = f"the {plugin.slug} gateway cannot {request.method.value.lower()}"
        errors.append(DomainError(ErrorCode.UNSUPPORTED_GATEWAY_OPERATION, message, method_field))
    elif request.operation in plugin.admin_only and not is_admin:
        message = f"{request.method.value} through {plugin.slug} needs an admin token"
        errors.append(DomainError(ErrorCode.FORBIDDEN, message, method_field))
    if plugin.takes_card:
        errors.extend(plugin.check_details(request.card, utcnow().date()))
    elif request.card is not None:
        message = f"the {plugin.slug} gateway takes no card"
        errors.append(DomainError(ErrorCode.INVALID, message, ["input", "card"]))
    return errors


def fingerprint(request: PayRequest) -> str:
    """SHA-256 of the request's arguments. The card enters only through scrypt (salted with
    the key), so what is stored cannot be turned back into a card number cheaply."""
    card = None
    if request.card is not None:
        c = request.card
        secret = f"{c.digits}|{c.exp_month}|{c.full_year}|{c.cvc}".encode()
        salt = f"stockroom:{request.idempotency_key}".encode()
        card = hashlib.scrypt(secret, salt=salt, n=2**12, r=8, p=1, dklen=32).hex()
    payload = {
        "order": request.order_id.hex,
        "gateway": request.gateway,
        "method": request.method.value,
        "card": card,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# --- idempotency keys --------------------------------------------------------------------


def _outcome_of(row: IdempotencyKey) -> Outcome:
    assert row.order_id is not None
    error = None
    if row.error_code is not None:
        error = DomainError(ErrorCode(row.error_code), row.error_message or "", row.error_field)
    return Outcome(row.order_id, row.transaction_id, error)


async def _claim_key(
    write: Transact, read: Transact, key: str, print_: str, order_id: uuid.UUID
) -> Outcome | None:
    """Claim `key` for this request (None), or the first request's outcome when it is done.
    The unique constraint arbitrates between concurrent claimants; a loser waits for the
    winner's result. A different request under the same key is IDEMPOTENCY_KEY_REUSED."""
    field = ["input", "idempotencyKey"]
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
    while True:
        async with write() as session:
            values = {
                "id": uuid.uuid4(),
                "scope": PAY_SCOPE,
                "key": key,
                "fingerprint": print_,
                "state": "IN_PROGRESS",
                "order_id": order_id,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
            insert = _insert_ignoring_conflict(session, IdempotencyKey, ["scope", "key"], values)
            if (await session.execute(insert)).rowcount == 1:  # type: ignore[attr-defined]
                return None
        while True:
            async with read() as session:
                row = await session.scalar(_key_row(key))
            if row is None:
                break  # the sweep removed an abandoned claim: claim it again
            if row.fingerprint != print_:
                message = "this idempotency key was used with different arguments"
                raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED, message, field)
            if row.state == "DONE":
                return _outcome_of(row)
            if time.monotonic() > deadline:
                message = "a request with this idempotency key is still in progress; retry later"
                raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED, message, field)
            await asyncio.sleep(IDEMPOTENCY_POLL_SECONDS)


def _key_row(key: str) -> Any:
    return select(IdempotencyKey).where(
        IdempotencyKey.scope == PAY_SCOPE, IdempotencyKey.key == key
    )


async def _finish_key(session: AsyncSession, where: Any, outcome: Outcome) -> None:
    error = outcome.error
    await session.execute(
        update(IdempotencyKey)
        .where(where)
        .values(
            state="DONE",
            order_id=outcome.order_id,
            transaction_id=outcome.transaction_id,
            error_code=error.code.value if error else None,
            error_message=error.message[:500] if error else None,
            error_field=error.field if error else None,
            updated_at=utcnow(),
        )
    )


def _key_is(key: str) -> Any:
    return (IdempotencyKey.scope == PAY_SCOPE) & (IdempotencyKey.key == key)


# --- orderPay --------------------------------------------------------------------------


async def pay_order(
    write: Transact, read: Transact, request: PayRequest, *, is_admin: bool
) -> Outcome:
    """`orderPay`. Argument problems raise (nothing is written or claimed); business outcomes
    (declined, insufficient stock, not payable, ...) are returned and stored under the key."""
    plugin = check_pay_request(request, is_admin=is_admin)
    key = request.idempotency_key
    if key is not None:
        replay = await _claim_key(write, read, key, fingerprint(request), request.order_id)
        if replay is not None:
            return replay
    try:
        async with write() as session:
            pending, settings, items = await _begin_payment(session, plugin, request)
    except DomainError as error:
        outcome = Outcome(request.order_id, None, error)
        if key is not None:
            async with write() as session:
                await _finish_key(session, _key_is(key), outcome)
        return outcome
    payment = PaymentRequest(
        pending.id, pending.order_id, pending.amount, pending.currency, request.card, key, settings
    )
    ask = plugin.purchase if request.method is Method.PURCHASE else plugin.authorize
    result = await ask(payment)
    outcome, undo = await _settle_retrying(write, pending, result, key, items)
    if undo:
        await _undo_charge(plugin, pending, result)
    return outcome


_LOCK_ORDER = (
    select(Order)
    .where(Order.id == bindparam("order_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCK_ORDER_WITH_GATEWAY = (
    select(Order, Gateway.enabled, Gateway.settings)
    .outerjoin(Gateway, Gateway.slug == bindparam("slug"))
    .where(Order.id == bindparam("order_id"))
    .with_for_update(of=Order)
    .execution_options(populate_existing=True)
)
"""Built once, run with bind parameters."""


async def _lock_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    """The order, locked until the transaction ends (PostgreSQL; SQLite writers are serial)."""
    order = await session.scalar(_LOCK_ORDER, {"order_id": order_id})
    if order is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no order with that id", ["orderId"])
    return order


async def _lock_order_with_gateway(
    session: AsyncSession, order_id: uuid.UUID, slug: str
) -> tuple[Order, dict[str, Any]]:
    """The order, locked as by `_lock_order`, and the gateway's settings, in one statement;
    GATEWAY_DISABLED unless the gateway is enabled."""
    found = (
        await session.execute(_LOCK_ORDER_WITH_GATEWAY, {"order_id": order_id, "slug": slug})
    ).first()
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no order with that id", ["orderId"])
    order, enabled, settings = found
    if not enabled:
        message = f"the {slug} gateway is disabled"
        raise DomainError(ErrorCode.GATEWAY_DISABLED, message, ["input", "gateway"])
    return order, dict(settings)


async def _begin_payment(
    session: AsyncSession, plugin: PaymentGateway, request: PayRequest
) -> tuple[PaymentTransaction, dict[str, Any], list[OrderItem] | None]:
    """Step 1: the PENDING transaction and the allocation, committed together; returns the
    transaction, the gateway's settings (read in the transaction: a payment never waits
    on the version stamps' reader, which an outage may break) and the order's lines when it
    read them (allocating; an order's lines never change)."""
    order, settings = await _lock_order_with_gateway(session, request.order_id, plugin.slug)
    orders.require_allowed(OrderState.of(order), request.action, ["orderId"])
    card = plugin.card_summary(request.card)
    pending = PaymentTransaction(
        order_id=order.id,
        gateway=plugin.slug,
        method=request.method.value,
        status=TxStatus.PENDING.value,
        amount=order.total,
        currency=order.currency,
        card_brand=card.brand if card else None,
        card_last4=card.last4 if card else None,
    )
    session.add(pending)
    try:
        await session.flush()
    except IntegrityError as exc:  # uq_payment_transaction_pending_order
        message = "another payment of this order is in progress"
        raise DomainError(ErrorCode.INVALID_TRANSITION, message, ["orderId"]) from exc
    items = None
    if not await holds.claim(session, order, pending):  # a reservation's units are the payment's
        items = await inventory.allocate_order(session, order.id)
    if request.idempotency_key is not None:
        await session.execute(
            update(IdempotencyKey)
            .where(_key_is(request.idempotency_key))
            .values(transaction_id=pending.id)
        )
    return pending, settings, items


async def _settle(
    session: AsyncSession,
    pending: PaymentTransaction,
    result: GatewayResult,
    items: Sequence[OrderItem] | None = None,
) -> tuple[Outcome, bool]:
    """Step 3: apply the gateway's answer to a PENDING transaction (one that was settled
    meanwhile, by the sweep, stays as it is). Returns the outcome and whether the gateway's
    charge must be undone: it succeeded but the transaction ended FAILED (the order was
    cancelled meanwhile, or the sweep gave up on it first). The order is locked first; the
    transaction's row is written once, by an UPDATE conditional on it being PENDING. `items`:
    the order's lines, when step 1 read them (for the outbox event)."""
    order = await _lock_order(session, pending.order_id)
    action = OrderAction(pending.method)
    paid = result.succeeded and orders.allows(OrderState.of(order), action)
    error = None
    if not paid:
        error = result.error_message or "the payment was declined"
        if result.succeeded:
            error = "the order changed while it was being paid; not charged"
    if not await _settle_row(session, pending, result.reference, error):
        tx = await session.get(PaymentTransaction, pending.id, populate_existing=True)
        assert tx is not None
        return _outcome_of_transaction(tx), result.succeeded and tx.status == TxStatus.FAILED.value
    if not paid:
        await _release(session, pending, order, items)
        return _outcome_of_transaction(pending), result.succeeded
    message = _paid_message(pending)
    await orders.transition(
        session,
        order.id,
        action,
        message=message,
        gateway=pending.gateway,
        locked=order,
        items=items,
    )
    return Outcome(order.id, pending.id, order=order, transaction=pending), False


_TX_TABLE = PaymentTransaction.__table__  # type: ignore[attr-defined]
_SETTLED = ("status", "reference", "error_message", "updated_at")
_SETTLE_ROW = (
    update(_TX_TABLE)  # Core, built once: the ORM's bulk UPDATE costs more than the statement
    .where(
        _TX_TABLE.c.id == bindparam("tx_id", type_=_TX_TABLE.c.id.type),
        _TX_TABLE.c.status == TxStatus.PENDING.value,
    )
    .values({name: bindparam(name, type_=_TX_TABLE.c[name].type) for name in _SETTLED})
)


async def _settle_row(
    session: AsyncSession, tx: PaymentTransaction, reference: str | None, error: str | None
) -> bool:
    """SUCCEEDED (no `error`) or FAILED, only while the row is PENDING: False when it was
    settled meanwhile. `tx` takes the values written."""
    values = {
        "status": (TxStatus.FAILED if error else TxStatus.SUCCEEDED).value,
        "reference": reference,
        "error_message": error[:500] if error else None,
        "updated_at": utcnow(),
    }
    result = await session.execute(_SETTLE_ROW, {"tx_id": tx.id, **values})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for name, value in values.items():
        set_committed_value(tx, name, value)
    return True


async def _settle_retrying(
    write: Transact,
    pending: PaymentTransaction,
    result: GatewayResult,
    key: str | None,
    items: Sequence[OrderItem] | None,
) -> tuple[Outcome, bool]:
    """Step 3, retried while the database is unavailable: the gateway has answered (perhaps
    charged), and giving up now would leave the payment to the sweep, with the buyer told
    nothing. Past SETTLE_RETRY_SECONDS the error goes up (503); the sweep later asks the
    gateway, so an approved payment still ends paid."""
    deadline = time.monotonic() + SETTLE_RETRY_SECONDS
    delay = 0.05
    while True:
        try:
            async with write() as session:
                outcome, undo = await _settle(session, pending, result, items)
                if key is not None:
                    await _finish_key(session, _key_is(key), outcome)
            return outcome, undo
        except Exception as error:
            if not database_unavailable(error) or time.monotonic() + delay > deadline:
                raise
            log.warning("settling payment %s: the database is unavailable; retrying", pending.id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def _release(
    session: AsyncSession,
    tx: PaymentTransaction,
    order: Order,
    items: Sequence[OrderItem] | None,
) -> None:
    """A FAILED payment releases what it allocated (a reservation it had taken over is given
    back to the order instead, until its original time) and is announced."""
    if not await holds.restore(session, tx):
        await inventory.deallocate_order(session, tx.order_id)
    await events.emit_order(session, events.PAYMENT_FAILED, order, items)


def _outcome_of_transaction(tx: PaymentTransaction) -> Outcome:
    if tx.status == TxStatus.FAILED.value:
        error = DomainError(ErrorCode.PAYMENT_DECLINED, tx.error_message or "declined", None)
        return Outcome(tx.order_id, tx.id, error)
    return Outcome(tx.order_id, tx.id)


def _paid_message(tx: PaymentTransaction) -> str:
    what = "Payment authorized" if tx.method == Method.AUTHORIZE.value else "Paid"
    card = f" by {tx.card_brand} card ending {tx.card_last4}" if tx.card_last4 else ""
    return f"{what} through {tx.gateway}{card}"


async def _undo_charge(
    plugin: PaymentGateway, tx: PaymentTransaction, result: GatewayResult
) -> None:
    """Best effort: give back a charge the order could not take (logged if that fails too)."""
    follow_up = FollowUp(tx.id, result.reference, tx.amount, tx.currency, {})
    try:
        if tx.method == Method.AUTHORIZE.value:
            await plugin.void(follow_up)
        else:
            await plugin.refund(follow_up)
    except Exception:
        log.exception("could not undo the charge of payment transaction %s", tx.id)


# --- capture, refund, cancel ----------------------------------------------------------------


_TX_WITH_SETTINGS = (
    select(PaymentTransaction, Gateway.settings)
    .outerjoin(Gateway, Gateway.slug == PaymentTransaction.gateway)
    .where(PaymentTransaction.id == bindparam("tx_id"))
    .execution_options(populate_existing=True)
)


async def _transaction_of_order(
    session: AsyncSession, order_id: uuid.UUID, tx_id: uuid.UUID
) -> tuple[PaymentTransaction, dict[str, Any]]:
    """The order's transaction and its gateway's settings, in one query."""
    found = (await session.execute(_TX_WITH_SETTINGS, {"tx_id": tx_id})).first()
    if found is None or found[0].order_id != order_id:
        message = "the order has no transaction with that id"
        raise DomainError(ErrorCode.NOT_FOUND, message, ["transactionId"])
    tx, settings = found
    return tx, dict(settings or {})


def _supporting(slug: str, operation: Operation) -> PaymentGateway:
    plugin = gateways.get(slug)
    if plugin is None or operation not in plugin.operations:
        message = f"the {slug} gateway cannot {operation.value.lower()} a transaction"
        raise DomainError(ErrorCode.UNSUPPORTED_GATEWAY_OPERATION, message, ["transactionId"])
    return plugin


async def _open_authorization(
    session: AsyncSession, order_id: uuid.UUID, tx_id: uuid.UUID, verb: str
) -> tuple[PaymentTransaction, dict[str, Any]]:
    """The authorization and its gateway's settings."""
    tx, settings = await _transaction_of_order(session, order_id, tx_id)
    if not (
        tx.method == Method.AUTHORIZE.value
        and tx.status == TxStatus.SUCCEEDED.value
        and not tx.closed
    ):
        message = f"only an open, successful authorization can be {verb}"
        raise DomainError(ErrorCode.INVALID_TRANSITION, message, ["transactionId"])
    return tx, settings


async def _settings_of(session: AsyncSession, slug: str) -> dict[str, Any]:
    row = await session.get(Gateway, slug)
    return dict(row.settings) if row else {}


def _follow_up_record(
    parent: PaymentTransaction, method: Method, amount: int, result: GatewayResult
) -> PaymentTransaction:
    return PaymentTransaction(
        order_id=parent.order_id,
        gateway=parent.gateway,
        method=method.value,
        status=(TxStatus.SUCCEEDED if result.succeeded else TxStatus.FAILED).value,
        amount=amount,
        currency=parent.currency,
        reference=result.reference,
        card_brand=parent.card_brand,
        card_last4=parent.card_last4,
        error_message=None if result.succeeded else (result.error_message or "declined")[:500],
        parent_id=parent.id,
    )


async def _record(session: AsyncSession, record: PaymentTransaction, order: Order) -> Outcome:
    """Write the operation's transaction; the outcome carries it and the order (locked by
    the caller, as the operation left it)."""
    session.add(record)
    await session.flush()
    found = _outcome_of_transaction(record)
    return Outcome(found.order_id, found.transaction_id, found.error, order, record)


async def _close(session: AsyncSession, authorization: PaymentTransaction) -> None:
    """Mark an authorization captured or cancelled, once (a conditional UPDATE)."""
    result = await session.execute(
        update(PaymentTransaction)
        .where(PaymentTransaction.id == authorization.id, PaymentTransaction.closed.is_(False))
        .values(closed=True, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        message = "the authorization was captured or cancelled by another request"
        raise DomainError(ErrorCode.INVALID_TRANSITION, message, ["transactionId"])


async def capture(
    session: AsyncSession,
    order_id: uuid.UUID,
    tx_id: uuid.UUID,
    currencies: Mapping[str, CurrencySpec],
) -> Outcome:
    """`transactionCapture`: an AUTHORIZED order becomes PAID (and COMPLETE). `currencies`:
    the formatting of the history entry's amount, by code (as the process keeps them)."""
    order = await _lock_order(session, order_id)
    authorization, settings = await _open_authorization(session, order_id, tx_id, "captured")
    plugin = _supporting(authorization.gateway, Operation.CAPTURE)
    orders.require_allowed(OrderState.of(order), OrderAction.CAPTURE, ["orderId"])
    follow_up = FollowUp(
        authorization.id,
        authorization.reference,
        authorization.amount,
        authorization.currency,
        settings,
    )
    result = await plugin.capture(follow_up)
    record = _follow_up_record(authorization, Method.CAPTURE, authorization.amount, result)
    if result.succeeded:
        await _close(session, authorization)
        message = f"Captured {_money(currencies, record.amount, record.currency)}"
        await orders.transition(
            session, order_id, OrderAction.CAPTURE, message=message, locked=order
        )
    return await _record(session, record, order)


async def _captured_transaction(
    session: AsyncSession, order_id: uuid.UUID, tx_id: uuid.UUID
) -> tuple[PaymentTransaction, dict[str, Any]]:
    """The transaction holding the captured money: a PURCHASE or CAPTURE, or the CAPTURE of
    the authorization named; and its gateway's settings."""
    tx, settings = await _transaction_of_order(session, order_id, tx_id)
    if tx.method == Method.AUTHORIZE.value:
        child = await session.scalar(
            select(PaymentTransaction).where(
                PaymentTransaction.parent_id == tx.id,
                PaymentTransaction.method == Method.CAPTURE.value,
                PaymentTransaction.status == TxStatus.SUCCEEDED.value,
            )
        )
        tx = child if child is not None else tx
    if tx.method not in (Method.PURCHASE.value, Method.CAPTURE.value) or (
        tx.status != TxStatus.SUCCEEDED.value
    ):
        message = "only captured money can be refunded (a successful PURCHASE or CAPTURE)"
        raise DomainError(ErrorCode.INVALID_TRANSITION, message, ["transactionId"])
    return tx, settings


async def _reserve_refund(session: AsyncSession, captured: PaymentTransaction, amount: int) -> None:
    """Count `amount` as refunded, only while it fits in what is left of the captured money:
    the database holds the rule (conditional UPDATE, and a CHECK constraint behind it)."""
    result = await session.execute(
        update(PaymentTransaction)
        .where(
            PaymentTransaction.id == captured.id,
            PaymentTransaction.amount - PaymentTransaction.refunded_amount >= amount,
        )
        .values(refunded_amount=PaymentTransaction.refunded_amount + amount, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        left = captured.amount - captured.refunded_amount
        message = f"cannot refund {amount}: only {left} of the captured money is left to refund"
        raise DomainError(ErrorCode.INVALID_TRANSITION, message, ["amount"])


async def refund(
    session: AsyncSession,
    order_id: uuid.UUID,
    tx_id: uuid.UUID,
    amount: int | None,
    currencies: Mapping[str, CurrencySpec],
) -> Outcome:
    """`transactionRefund`: part or all (amount omitted: all that is left) of captured money.
    The order becomes PARTIALLY_REFUNDED, or REFUNDED once everything captured is refunded.
    `currencies` as for `capture`."""
    if amount is not None and amount < 1:
        raise DomainError(ErrorCode.INVALID, "amount must be at least 1", ["amount"])
    order = await _lock_order(session, order_id)
    captured, settings = await _captured_transaction(session, order_id, tx_id)
    plugin = _supporting(captured.gateway, Operation.REFUND)
    if amount is None:
        amount = captured.amount - captured.refunded_amount
        if amount < 1:
            message = "everything captured has been refunded already"
            raise DomainError(ErrorCode.INVALID_TRANSITION, message, ["transactionId"])
    await _reserve_refund(session, captured, amount)
    follow_up = FollowUp(
        captured.id,
        captured.reference,
        amount,
        captured.currency,
        settings,
    )
    result = await plugin.refund(follow_up)
    record = _follow_up_record(captured, Method.REFUND, amount, result)
    if not result.succeeded:
        await session.execute(
            update(PaymentTransaction)
            .where(PaymentTransaction.id == captured.id)
            .values(refunded_amount=PaymentTransaction.refunded_amount - amount)
        )
        return await _record(session, record, order)
    action = await _refund_action(session, order_id)
    message = f"Refunded {_money(currencies, amount, captured.currency)}"
    await orders.transition(session, order_id, action, message=message, locked=order)
    return await _record(session, record, order)


async def _refund_action(session: AsyncSession, order_id: uuid.UUID) -> OrderAction:
    captured, refunded = (
        await session.execute(
            select(
                func.coalesce(func.sum(PaymentTransaction.amount), 0),
                func.coalesce(func.sum(PaymentTransaction.refunded_amount), 0),
            ).where(
                PaymentTransaction.order_id == order_id,
                PaymentTransaction.method.in_([Method.PURCHASE.value, Method.CAPTURE.value]),
                PaymentTransaction.status == TxStatus.SUCCEEDED.value,
            )
        )
    ).one()
    return OrderAction.REFUND_FULL if refunded >= captured else OrderAction.REFUND_PARTIAL


async def cancel_authorization(
    session: AsyncSession, order_id: uuid.UUID, tx_id: uuid.UUID
) -> Outcome:
    """`transactionCancel`: void an authorization; the order is UNPAID again and the stock the
    authorization held is released (VOID's stock effect; nothing if the order's cancellation
    released it already)."""
    order = await _lock_order(session, order_id)
    authorization, settings = await _open_authorization(session, order_id, tx_id, "cancelled")
    plugin = _supporting(authorization.gateway, Operation.VOID)
    before = OrderState.of(order)
    orders.require_allowed(before, OrderAction.VOID, ["orderId"])
    follow_up = FollowUp(
        authorization.id,
        authorization.reference,
        authorization.amount,
        authorization.currency,
        settings,
    )
    result = await plugin.void(follow_up)
    record = _follow_up_record(authorization, Method.CANCEL, authorization.amount, result)
    if result.succeeded:
        await _close(session, authorization)
        message = "Authorization cancelled"
        await orders.transition(session, order_id, OrderAction.VOID, message=message, locked=order)
    return await _record(session, record, order)


def _money(currencies: Mapping[str, CurrencySpec], amount: int, code: str) -> str:
    spec = currencies.get(code)
    if spec is None:
        _, fmt, places = default_spec(code)
        spec = CurrencySpec(code=code, format=fmt, decimal_places=places)
    return format_amount(amount, spec)


# --- the sweep ---------------------------------------------------------------------------


async def sweep_stale_payments(db: Database, older_than: timedelta) -> int:
    """Resolve PENDING payments older than `older_than` (their request died between the
    allocation and the gateway's answer), and drop idempotency claims that never got as far
    as a transaction. Returns how many payments it resolved. Safe to run in every process:
    settling locks the order and only changes a transaction that is still PENDING."""
    cutoff = utcnow() - older_than
    async with db.reader() as session:
        stale = (
            await session.scalars(
                select(PaymentTransaction)
                .where(
                    PaymentTransaction.status == TxStatus.PENDING.value,
                    PaymentTransaction.created_at < cutoff,
                )
                .order_by(PaymentTransaction.created_at)
                .limit(100)
            )
        ).all()
    for tx in stale:
        await _resolve_stale(db, tx)
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.state == "IN_PROGRESS",
                IdempotencyKey.transaction_id.is_(None),
                IdempotencyKey.created_at < cutoff,
            )
        )
    return len(stale)


async def _resolve_stale(db: Database, tx: PaymentTransaction) -> None:
    plugin = gateways.get(tx.gateway)
    result = None
    if plugin is not None:
        async with db.reader() as session:
            settings = await _settings_of(session, tx.gateway)
        request = PaymentRequest(tx.id, tx.order_id, tx.amount, tx.currency, None, None, settings)
        result = await plugin.recover(request)
    async with db.transaction() as session:
        outcome, undo = await _settle(session, tx, result or GatewayResult(False, None, ABANDONED))
        await _finish_key(session, IdempotencyKey.transaction_id == tx.id, outcome)
    if undo and plugin is not None and result is not None:
        await _undo_charge(plugin, tx, result)
    log.warning("resolved stale payment %s: %s", tx.id, "failed" if outcome.error else "paid")


async def payment_sweeper(db: Database, settings: Settings) -> None:
    """Background job: run the sweep every `payment_sweep_interval_seconds`."""
    older_than = timedelta(seconds=settings.payment_pending_timeout_seconds)
    while True:
        await asyncio.sleep(settings.payment_sweep_interval_seconds)
        try:
            await sweep_stale_payments(db, older_than)
        except Exception as error:
            if not database_unavailable(error):
                log.exception("the stale payment sweep failed; it will run again")
            else:  # an outage, not a bug
                log.warning("the stale payment sweep found the database unavailable: %s", error)
