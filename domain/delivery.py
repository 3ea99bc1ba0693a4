"""The webhook delivery worker, one per server process (API.md section 12).

Each round:
1. **Fan-out**: committed events not yet dispatched become one PENDING delivery per enabled
   endpoint that asked for their type, and are marked dispatched, in one transaction (on
   PostgreSQL one process at a time, under a transaction-level advisory lock). A crash before
   the commit leaves the events undispatched for the next round: none is lost.
2. **Claim**: a locking SELECT and an UPDATE take due deliveries (PENDING, `next_attempt_at` passed,
   endpoint enabled, no earlier delivery of the same object to the same endpoint still PENDING
   and no earlier event of the object undispatched), writes this round's token into `claim`,
   counts the attempt and moves `next_attempt_at` a lease ahead. On PostgreSQL the candidate
   rows are locked with `FOR UPDATE SKIP LOCKED`, on SQLite the write lock serialises claims:
   a delivery is never sent by two processes at once. A process killed mid-send leaves its
   claims to lapse; they are sent again after the lease (at least once).
3. **Send**: signed per Standard Webhooks, httpx with a 10 s timeout and no redirects; 2xx is
   success. A failure is retried after `backoff(attempts)` until the retry window has passed
   since the delivery was made (or manually retried), then it is FAILED.
4. **Prune** (hourly): SUCCEEDED deliveries older than the retention; dispatched events older
   than it that no delivery needs, except each object's latest (its sequence goes on from it).
"""

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Row, and_, bindparam, delete, exists, func, select, text, update
from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased
from standardwebhooks.webhooks import Webhook as Signer

from domain import events
from domain.carts import insert_for
from domain.ids import encode_id
from domain.webhooks import FAILED, PENDING, SUCCEEDED
from models.base import utcnow
from models.engine import Database, database_unavailable
from models.events import Event
from models.settings import Settings
from models.webhooks import Webhook, WebhookDelivery

log = logging.getLogger("stockroom.webhooks")

TIMEOUT_SECONDS = 10.0
FAN_OUT_BATCH = 500
CLAIM_BATCH = 20
FAN_OUT_LOCK = 0x57484B  # pg advisory lock key ("WHK"): one process fans out at a time
PRUNE_EVERY = timedelta(hours=1)
USER_AGENT = "Stockroom-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Schedule:
    """Retry timing (settings `STOCKROOM_WEBHOOK_*`)."""

    backoff_base: float
    backoff_max: float
    retry_window: timedelta
    lease: timedelta

    @classmethod
    def of(cls, settings: Settings) -> "Schedule":
        return cls(
            settings.webhook_backoff_base_seconds,
            settings.webhook_backoff_max_seconds,
            timedelta(seconds=settings.webhook_retry_window_seconds),
            timedelta(seconds=TIMEOUT_SECONDS + settings.webhook_backoff_base_seconds + 20),
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: base * 2^(attempts-1),
        capped, times a jitter of 0.8 to 1.2 (endpoints that fail together do not all come
        back at the same instant)."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** min(attempts - 1, 30))
        return delay * random.uniform(0.8, 1.2)


# --- fan-out --------------------------------------------------------------------------------


_BATCH = (
    select(Event.id, Event.type, Event.object_id, Event.sequence, Event.created_at)
    .where(Event.dispatched_at.is_(None))
    .order_by(Event.created_at, Event.sequence)
    .limit(FAN_OUT_BATCH)
)
"""The next events to fan out: what their deliveries need (not their data)."""
_ENABLED = select(Webhook.id, Webhook.events).where(Webhook.enabled)


def _wanted(webhooks: Sequence[Row[Any]], event: Row[Any]) -> list[Row[Any]]:
    return [w for w in webhooks if event.type in w.events]


async def _fan_out_lock(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # BEGIN IMMEDIATE: SQLite writers take turns
    return bool(await session.scalar(text(f"SELECT pg_try_advisory_xact_lock({FAN_OUT_LOCK})")))


async def fan_out(db: Database) -> int:
    """Turn undispatched events into deliveries; returns how many events it dispatched."""
    async with db.reader() as session:
        if await session.scalar(_undispatched().limit(1)) is None:
            return 0
    async with db.transaction() as session:
        if not await _fan_out_lock(session):
            return 0
        batch = (await session.execute(_BATCH)).all()
        if not batch:
            return 0
        webhooks = (await session.execute(_ENABLED)).all()
        rows = [
            {
                "id": uuid.uuid4(),
                "webhook_id": w.id,
                "event_id": e.id,
                "object_id": e.object_id,
                "sequence": e.sequence,
                "next_attempt_at": e.created_at,
                "retrying_since": e.created_at,
                "created_at": e.created_at,
                "updated_at": utcnow(),
            }
            for e in batch
            for w in _wanted(webhooks, e)
        ]
        if rows:
            stmt = insert_for(session, WebhookDelivery).on_conflict_do_nothing(
                index_elements=["webhook_id", "event_id"]
            )
            await session.execute(stmt, rows)
        await session.execute(
            update(Event)
            .where(Event.id.in_([e.id for e in batch]))
            .values(dispatched_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return len(batch)


def _undispatched() -> Any:
    return select(Event.id).where(Event.dispatched_at.is_(None))


# --- claiming ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for sending, with what its request needs."""

    id: uuid.UUID
    token: uuid.UUID
    url: str
    secret: str
    attempts: int
    retrying_since: datetime
    message_id: str
    body: str


_NEXT_ATTEMPT_TYPE = WebhookDelivery.__table__.c.next_attempt_at.type  # type: ignore[attr-defined]


def _due() -> Any:
    """Due deliveries (`next_attempt_at` at or before the bound `now`) whose object has
    nothing earlier still on its way to that endpoint."""
    earlier = aliased(WebhookDelivery)
    d = WebhookDelivery
    earlier_pending = exists().where(
        earlier.webhook_id == d.webhook_id,
        earlier.object_id == d.object_id,
        earlier.sequence < d.sequence,
        earlier.status == PENDING,
    )
    earlier_undispatched = exists().where(
        Event.object_id == d.object_id,
        Event.sequence < d.sequence,
        Event.dispatched_at.is_(None),
    )
    enabled = exists().where(Webhook.id == d.webhook_id, Webhook.enabled)
    return and_(
        d.status == PENDING,
        d.next_attempt_at <= bindparam("now", type_=_NEXT_ATTEMPT_TYPE),
        enabled,
        ~earlier_pending,
        ~earlier_undispatched,
    )


_ANY_DUE = select(WebhookDelivery.id).where(_due()).limit(1)
_DUE = (
    select(WebhookDelivery.id)
    .where(_due())
    .order_by(WebhookDelivery.next_attempt_at)
    .limit(CLAIM_BATCH)
    .with_for_update(skip_locked=True)
)
"""Built once, run with `now` bound (building them cost more than the reads, every round)."""


async def claim(db: Database, schedule: Schedule, now: datetime | None = None) -> list[Claimed]:
    """Claim up to CLAIM_BATCH due deliveries for this process (see the module docstring)."""
    now = now or utcnow()
    async with db.reader() as session:
        if await session.scalar(_ANY_DUE, {"now": now}) is None:
            return []
    token = uuid.uuid4()
    async with db.transaction() as session:
        # The ids first, then the UPDATE: PostgreSQL may run an `IN (SELECT ... LIMIT n FOR
        # UPDATE SKIP LOCKED)` sub-select more than once, claiming more than n rows.
        due = await session.scalars(_DUE, {"now": now})
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(due.all()))
            .values(
                claim=token,
                attempts=WebhookDelivery.attempts + 1,
                next_attempt_at=now + schedule.lease,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        rows = await session.execute(
            select(WebhookDelivery, Webhook.url, Webhook.secret, Event)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.claim == token)
        )
        return [_claimed(d, token, url, secret, e) for d, url, secret, e in rows.all()]


def message_id(event: Event) -> str:
    """The event's global id: the body's `id` and the `webhook-id` header (the same on every
    retry and for every endpoint, so a receiver can drop a duplicate)."""
    return encode_id("Event", event.id)


def body_of(event: Event) -> str:
    return json.dumps(
        {
            "id": message_id(event),
            "type": event.type,
            "timestamp": event.created_at.isoformat(),
            "sequence": event.sequence,
            "data": event.data,
        },
        separators=(",", ":"),
    )


def _claimed(d: WebhookDelivery, token: uuid.UUID, url: str, secret: str, event: Event) -> Claimed:
    return Claimed(
        d.id, token, url, secret, d.attempts, d.retrying_since, message_id(event), body_of(event)
    )


# --- sending ----------------------------------------------------------------------------------


def signed_headers(claimed: Claimed, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers: id, timestamp (seconds) and `v1,<base64 HMAC-SHA256>` of
    `{id}.{timestamp}.{body}` under the endpoint's secret."""
    signature = Signer(claimed.secret).sign(claimed.message_id, now, claimed.body)
    return {
        "webhook-id": claimed.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def send(client: httpx.AsyncClient, claimed: Claimed) -> Outcome:
    """One POST; a redirect, any other non-2xx, a timeout, a network error or a url httpx
    refuses is a failure (recorded and retried: whatever goes wrong, the round goes on)."""
    try:
        response = await client.post(
            claimed.url, content=claimed.body, headers=signed_headers(claimed, utcnow())
        )
    except Exception as error:  # every failure of one send is that send's
        return Outcome(None, f"{type(error).__name__}: {error}"[:500])
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code, None)
    return Outcome(response.status_code, f"HTTP {response.status_code}")


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)


def _outcome_values(
    schedule: Schedule, claimed: Claimed, outcome: Outcome, now: datetime
) -> dict[str, Any]:
    """The columns a send's outcome sets: SUCCEEDED, FAILED (past the retry window) or the
    time of the next try."""
    values: dict[str, Any] = {
        "claim": None,
        "last_response_status": outcome.status,
        "last_error": outcome.error,
        "updated_at": now,
    }
    if outcome.succeeded:
        return values | {"status": SUCCEEDED, "next_attempt_at": None}
    if now - claimed.retrying_since >= schedule.retry_window:
        return values | {"status": FAILED, "next_attempt_at": None}
    delay = timedelta(seconds=schedule.backoff(claimed.attempts))
    return values | {"next_attempt_at": now + delay}


async def record(
    db: Database,
    schedule: Schedule,
    sent: Sequence[tuple[Claimed, Outcome]],
    now: datetime,
) -> None:
    """Store the round's outcomes in one transaction, each only if its claim is still ours
    (a lapsed claim retaken by another process is theirs to record)."""
    async with db.transaction() as session:
        for claimed, outcome in sent:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == claimed.id, WebhookDelivery.claim == claimed.token)
                .values(**_outcome_values(schedule, claimed, outcome, now))
                .execution_options(synchronize_session=False)
            )


async def deliver_due(db: Database, schedule: Schedule, client: httpx.AsyncClient) -> int:
    """Claim due deliveries, send them concurrently, record each outcome; how many it sent."""
    claimed = await claim(db, schedule)
    if not claimed:
        return 0
    outcomes = await asyncio.gather(*(send(client, c) for c in claimed))
    await record(db, schedule, list(zip(claimed, outcomes, strict=True)), utcnow())
    return len(claimed)


# --- pruning and the backlog ------------------------------------------------------------------


async def prune(db: Database, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete SUCCEEDED deliveries older than `older_than`, then the dispatched events older
    than it that no delivery refers to, keeping each object's latest event. Returns how many
    deliveries went."""
    cutoff = (now or utcnow()) - older_than
    async with db.transaction() as session:
        gone = await session.execute(
            delete(WebhookDelivery)
            .where(WebhookDelivery.status == SUCCEEDED, WebhookDelivery.created_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        later = aliased(Event)
        await session.execute(
            delete(Event)
            .where(
                Event.created_at < cutoff,
                Event.dispatched_at.is_not(None),
                ~exists().where(WebhookDelivery.event_id == Event.id),
                exists().where(later.object_id == Event.object_id, later.sequence > Event.sequence),
            )
            .execution_options(synchronize_session=False)
        )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


async def backlog(db: Database) -> float:
    """Deliveries waiting to be sent (PENDING), plus events not yet fanned out."""
    async with db.reader() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == PENDING)
        )
        undispatched = await session.scalar(
            select(func.count()).select_from(_undispatched().subquery())
        )
    return float((pending or 0) + (undispatched or 0))


# --- the background job -----------------------------------------------------------------------

_wake: list[asyncio.Event] = []
_EMITTED = "outbox_emitted"


@events.after_emit
async def _note_emitted(session: AsyncSession, event: events.Emitted) -> None:
    if event.type in events.WEBHOOK_TYPES:  # the others are written dispatched
        session.info[_EMITTED] = True


@orm_event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    """A commit that emitted events to fan out wakes this process's worker (other processes
    poll)."""
    if session.info.pop(_EMITTED, False):
        for waiter in _wake:
            waiter.set()


async def delivery_worker(db: Database, settings: Settings) -> None:
    """Background job: fan out, deliver, prune; sleeps `webhook_poll_interval_seconds` when idle.
    A commit with events in this process wakes it; it then gathers the commits of the next
    `webhook_gather_seconds` into the same round (one round per commit cost a checkout flow
    as much CPU as its requests)."""
    schedule = Schedule.of(settings)
    retention = timedelta(days=settings.webhook_retention_days)
    wake = asyncio.Event()
    _wake.append(wake)
    last_prune: datetime | None = None
    async with new_client() as client:
        try:
            while True:
                wake.clear()  # a commit during the round wakes the next one
                busy = await _round(db, schedule, client)
                if last_prune is None or utcnow() - last_prune >= PRUNE_EVERY:
                    last_prune = utcnow()
                    await _guarded(prune(db, retention))
                if busy:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), settings.webhook_poll_interval_seconds)
                except TimeoutError:
                    continue
                await asyncio.sleep(settings.webhook_gather_seconds)
        finally:
            _wake.remove(wake)


async def _round(db: Database, schedule: Schedule, client: httpx.AsyncClient) -> bool:
    """Fan out, then deliver what is due; whether more may be waiting at once (a full fan-out
    batch, or deliveries sent: an object's next one may now be due)."""
    dispatched = await _guarded(fan_out(db))
    sent = await _guarded(deliver_due(db, schedule, client))
    return dispatched >= FAN_OUT_BATCH or sent > 0


async def _guarded(step: Coroutine[Any, Any, int | None]) -> int:
    """A step's result; 0 when it failed (logged: the worker goes on, and tries again)."""
    try:
        return await step or 0
    except Exception as error:
        if not database_unavailable(error):
            log.exception("the webhook delivery round failed; it will run again")
        else:
            log.warning("webhook delivery found the database unavailable: %s", error)
        return 0
