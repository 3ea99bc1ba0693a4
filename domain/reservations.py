"""The sweeps of stock reservation and unpaid-order expiry (API.md section 11), run by every
server process (`reservation_sweeper`, one of server.py's background jobs).

Everything they act on is in the database (`order.reserved_until`, the order's state and its
ledger entries), so a process that dies loses nothing: another process, or the same one
restarted, finds the same work. Each order is acted on exactly once, however many processes
sweep: a release claims its orders with one conditional UPDATE (`reserved_until <= now`,
rows locked FOR UPDATE SKIP LOCKED on PostgreSQL, so sweeps never queue behind each other or
behind a payment holding the order); an expiry is an ordinary cancellation, whose UPDATE is
conditional on the state it read.
"""

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events, holds, orders
from domain.errors import DomainError
from models.base import utcnow
from models.engine import Database, database_unavailable
from models.orders import Order
from models.payments import PaymentTransaction
from models.settings import Settings

log = logging.getLogger("stockroom.reservations")

RELEASE_BATCH = 200
"""Orders released per transaction (a backlog after downtime goes in several)."""
EXPIRE_BATCH = 50
"""Orders expired per sweep round, one transaction each."""
RELEASED_EVENT = "reservation_released"
EXPIRED_EVENT = "expired"


# --- releasing holds that are due ---------------------------------------------------------


def _due(now: datetime) -> Any:
    return Order.reserved_until.is_not(None) & (Order.reserved_until <= now)


async def release_due(db: Database, now: datetime | None = None) -> int:
    """Release every hold whose time has come (by `now`); returns how many orders it
    released. A cheap read first: an idle store never takes the write lock (SQLite)."""
    now = now or utcnow()
    async with db.reader() as session:
        if await session.scalar(select(Order.id).where(_due(now)).limit(1)) is None:
            return 0
    released = 0
    while True:
        try:
            async with db.transaction() as session:
                batch = await _release_batch(session, _due(now))
        except DomainError:
            log.exception("releasing a batch of holds failed; releasing them one by one")
            return released + await _release_singly(db, now)
        released += len(batch)
        if len(batch) < RELEASE_BATCH:
            return released


async def _release_singly(db: Database, now: datetime) -> int:
    """One transaction per due hold, so that one whose units cannot be released (its stock
    was deallocated by hand meanwhile) holds up no other; it is logged and retried later."""
    async with db.reader() as session:
        due = (
            await session.scalars(
                select(Order.id)
                .where(_due(now))
                .order_by(Order.reserved_until)
                .limit(RELEASE_BATCH)
            )
        ).all()
    released = 0
    for order_id in due:
        try:
            async with db.transaction() as session:
                released += len(await _release_batch(session, _due(now) & (Order.id == order_id)))
        except DomainError:
            log.exception("could not release the hold of order %s; will try again", order_id)
    return released


async def _release_batch(session: AsyncSession, where: Any) -> list[uuid.UUID]:
    """Claim up to RELEASE_BATCH due holds matching `where` (clearing their column) and
    DEALLOCATE their units, with an event on each order, in the caller's transaction."""
    locked = (
        select(Order.id)
        .where(where)
        .order_by(Order.reserved_until)
        .limit(RELEASE_BATCH)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.execute(
        update(Order)
        .where(Order.id.in_(locked.scalar_subquery()), where)
        .values(reserved_until=None, updated_at=utcnow())
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(row.id for row in claimed.all())
    await holds.release_many(session, ids)
    for order_id in ids:
        await orders.record_event(
            session,
            order_id,
            RELEASED_EVENT,
            "Reserved stock released: the order was not paid in time",
        )
        order = await session.get(Order, order_id, populate_existing=True)
        assert order is not None  # claimed (locked) above
        await events.emit_order(session, events.ORDER_UPDATED, order)
    return ids


# --- expiring unpaid orders ---------------------------------------------------------------


def _expirable(cutoff: datetime) -> Any:
    """UNPAID, not cancelled, placed before `cutoff`, and no payment in flight."""
    in_flight = exists().where(
        PaymentTransaction.order_id == Order.id, PaymentTransaction.status == "PENDING"
    )
    return (
        (Order.payment == orders.PaymentStatus.UNPAID.value)
        & (Order.status == orders.OrderStatus.INCOMPLETE.value)
        & (Order.created_at <= cutoff)
        & ~in_flight
    )


async def expire_unpaid(db: Database, older_than: timedelta, now: datetime | None = None) -> int:
    """Cancel (as orderCancel does: hold released, promotion uses given back; event
    `expired`) up to EXPIRE_BATCH orders still UNPAID `older_than` after they were placed;
    returns how many. One transaction per order, so one order's trouble stops no other."""
    cutoff = (now or utcnow()) - older_than
    async with db.reader() as session:
        if await session.scalar(select(Order.id).where(_expirable(cutoff)).limit(1)) is None:
            return 0
    message = (
        f"Order cancelled: still unpaid {int(older_than.total_seconds())} s after it was placed"
    )
    expired, failed = 0, set[uuid.UUID]()
    for _ in range(EXPIRE_BATCH):
        order_id = None
        try:
            async with db.transaction() as session:
                order_id = await session.scalar(
                    select(Order.id)
                    .where(_expirable(cutoff), Order.id.not_in(failed))
                    .order_by(Order.created_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if order_id is None:
                    return expired
                await orders.cancel_order(session, order_id, event=EXPIRED_EVENT, message=message)
            expired += 1
        except DomainError:
            log.exception("could not expire order %s; will try again", order_id)
            failed.add(order_id)  # type: ignore[arg-type]
    return expired


# --- the background job ---------------------------------------------------------------------


async def sweep_once(db: Database, settings: Settings) -> None:
    """One round: releases (always: holds made before a restart with reservation turned off
    still end on time), then expiries (when turned on)."""
    await release_due(db)
    if settings.unpaid_order_expiry_seconds:
        await expire_unpaid(db, timedelta(seconds=settings.unpaid_order_expiry_seconds))


async def reservation_sweeper(db: Database, settings: Settings) -> None:
    """Background job: a sweep every `reservation_sweep_interval_seconds` (0.5 s by default:
    a hold's units are available again well within 2 seconds of its `reservedUntil`)."""
    while True:
        await asyncio.sleep(settings.reservation_sweep_interval_seconds)
        try:
            await sweep_once(db, settings)
        except Exception as error:
            if not database_unavailable(error):
                log.exception("the reservation sweep failed; it will run again")
            else:  # an outage, not a bug
                log.warning("the reservation sweep found the database unavailable: %s", error)
