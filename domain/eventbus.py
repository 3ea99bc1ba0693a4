"""Change notifications for live subscriptions: "order X changed", "the stock of product Y
changed"; a subscriber then re-reads the object and sends it.

Driven by the outbox's events (domain/events.py): every event emitted publishes its object's
topic (`_announce`, the one call site), inside the write transaction that makes the change;
delivery happens only once that transaction commits, and never after a rollback:

- PostgreSQL: the transaction's topics go out as one `SELECT pg_notify(...)` just before its
  COMMIT (PostgreSQL delivers a NOTIFY when the transaction commits, and drops it on
  rollback). Each server process keeps ONE asyncpg connection LISTENing (`Bus.listen`, a
  background job of the server) and fans notifications out to its own subscribers, so a change
  made by any process reaches subscribers on every process. After an outage it reconnects and
  every subscriber re-reads its objects once (a resync), since notifications sent while nobody
  listened are lost.
- SQLite (one server process): delivered in-process after COMMIT (a session event).

Back-pressure: a subscriber never has a queue to fill. A `Subscription` holds the set of its
topics that changed since it last looked (at most the topics it watches) and one event to wake
it, so delivering is O(1) per subscriber and never waits for one that is slow to send; changes
made while it is busy coalesce into one re-read, which is all a "changed, re-read" subscriber
needs.
"""

import asyncio
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from functools import cache
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from domain import events
from models.base import rows_by_ids
from models.engine import Database
from models.settings import Settings

Row = TypeVar("Row")
Read = asyncio.Task[Mapping[uuid.UUID, Any]]

log = logging.getLogger("stockroom.eventbus")

CHANNEL = "stockroom_changes"
APPLICATION_NAME = "stockroom-eventbus"
"""The listener connection's application_name (pg_stat_activity shows one per process)."""
MAX_PAYLOAD_BYTES = 7000
"""Topics per NOTIFY payload are cut to stay under PostgreSQL's 8000-byte limit."""
READY_TIMEOUT_SECONDS = 5.0
"""How long a new subscriber waits for its process's listener before reading anyway (the
listener's first connection then makes it re-read: nothing is missed)."""
KEEPALIVE_SECONDS = 10.0
"""The listener checks its connection this often (a dead peer may never say it is gone)."""
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)
SHARED_READS_KEPT = 10_000
"""Rows whose last shared read a bus remembers (beyond it, finished reads are forgotten)."""
_PENDING = "stockroom.eventbus.pending"


def order_topic(order_id: uuid.UUID) -> str:
    return f"order:{order_id.hex}"


def stock_topic(product_id: uuid.UUID) -> str:
    return f"stock:{product_id.hex}"


def publish(session: AsyncSession | Session, topics: Iterable[str]) -> None:
    """Announce, once the session's transaction commits, that these topics changed (nothing
    is sent if it rolls back; a topic published twice in one transaction goes out once)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_PENDING, set()).update(topics)


TOPIC_OF_KIND = {events.ORDER: order_topic, events.PRODUCT: stock_topic}
"""An event's object kind -> its subscription topic. Every product event (stock changed,
created, updated, deleted) is a `stock:` one: status and stock management change what a
stock watch shows."""


@events.after_emit
async def _announce(session: AsyncSession, event: events.Emitted) -> None:
    """Every event emitted announces its object (no statement: the topics go out at COMMIT)."""
    publish(session, [TOPIC_OF_KIND[event.object_kind](event.object_id)])


def _payloads(topics: Iterable[str]) -> list[str]:
    chunks: list[str] = []
    for topic in sorted(topics):
        if chunks and len(chunks[-1]) + len(topic) < MAX_PAYLOAD_BYTES:
            chunks[-1] += " " + topic
        else:
            chunks.append(topic)
    return chunks


@event.listens_for(Session, "before_commit")
def _notify_postgres(session: Session) -> None:
    """PostgreSQL: one statement, inside the transaction, just before it commits."""
    topics = session.info.get(_PENDING)
    if not topics or session.in_nested_transaction():
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    payloads = _payloads(topics)
    session.execute(_notify(len(payloads)), {f"p{i}": p for i, p in enumerate(payloads)})


@cache
def _notify(payloads: int) -> Any:
    """`SELECT pg_notify(...)` of that many payloads, built once (building it cost more than
    running it, in every transaction that emits events)."""
    return select(*(func.pg_notify(CHANNEL, bindparam(f"p{i}")) for i in range(payloads)))


@event.listens_for(Session, "after_commit")
def _deliver_in_process(session: Session) -> None:
    """SQLite: straight to this process's subscribers, once committed."""
    if session.in_nested_transaction():
        return
    topics = session.info.pop(_PENDING, None)
    bind = session.get_bind()
    if topics and bind.dialect.name == "sqlite":
        bus = _existing_bus(bind.url.render_as_string(hide_password=False))
        if bus is not None:
            bus.deliver(topics)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (delivered above) or rolled back: nothing
        session.info.pop(_PENDING, None)


class Subscription:
    """One subscriber's view of the bus: which of its topics changed since it last looked."""

    def __init__(self, topics: Iterable[str], delivery: int) -> None:
        self.topics = frozenset(topics)
        self.delivery = delivery
        """The bus's delivery count when the subscriber last woke (or subscribed): a read
        begun at or after it sees every change announced so far (`Bus.delivery`)."""
        self._changed: set[str] = set()
        self._resync = False
        self._wake = asyncio.Event()
        self._woke_at = delivery

    def notify(self, topic: str, delivery: int) -> None:
        self._changed.add(topic)
        self._woke_at = delivery
        self._wake.set()

    def resync(self, delivery: int) -> None:
        """Notifications may have been lost: re-read everything once."""
        self._resync = True
        self._woke_at = delivery
        self._wake.set()

    def forget(self) -> None:
        """Drop what arrived so far (the subscriber is about to read everything anyway)."""
        self._changed.clear()
        self._resync = False
        self._wake.clear()

    async def wait(self) -> frozenset[str]:
        """Wait for a change; the topics to re-read (all of them after a resync)."""
        await self._wake.wait()
        changed = self.topics if self._resync else frozenset(self._changed)
        self.delivery = self._woke_at
        self.forget()
        return changed


class Bus:
    """The subscribers of one database in this process, and (PostgreSQL) its listener."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = make_url(url).get_backend_name() == "postgresql"
        self._subscribers: dict[str, set[Subscription]] = {}
        self._connected = asyncio.Event()
        if not self.is_postgres:
            self._connected.set()
        self._listener: asyncio.Task[None] | None = None
        self._started_by_subscriber = False
        self._reads: dict[type[Any], dict[uuid.UUID, tuple[int, Read]]] = {}
        self.delivery = 0
        """Deliveries so far (each a batch of committed changes), to order reads after them."""
        self.connections = 0
        """How many times the listener connected (a reconnect makes subscribers resync)."""

    @asynccontextmanager
    async def subscribe(self, topics: Iterable[str]) -> AsyncIterator[Subscription]:
        """A subscription to `topics` while the block runs. Read the objects after entering
        it: a change committed after that read is then always announced."""
        subscription = Subscription(topics, self.delivery)
        for topic in subscription.topics:
            self._subscribers.setdefault(topic, set()).add(subscription)
        try:
            if self.is_postgres:
                self._ensure_listener()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._connected.wait(), READY_TIMEOUT_SECONDS)
            subscription.forget()  # a resync of the listener's first connection: not needed
            subscription.delivery = self.delivery
            yield subscription
        finally:
            for topic in subscription.topics:
                subscribers = self._subscribers.get(topic)
                if subscribers is not None:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._subscribers[topic]
            if not self._subscribers and self._started_by_subscriber and self._listener:
                self._listener.cancel()  # nobody left to listen for (no server lifespan)
                self._listener, self._started_by_subscriber = None, False

    def deliver(self, topics: Iterable[str]) -> None:
        self.delivery += 1
        for topic in topics:
            for subscription in self._subscribers.get(topic, ()):
                subscription.notify(topic, self.delivery)

    def resync_all(self) -> None:
        self.delivery += 1
        for subscriptions in list(self._subscribers.values()):
            for subscription in subscriptions:
                subscription.resync(self.delivery)

    async def fresh_rows(
        self, db: Database, model: type[Row], ids: Sequence[uuid.UUID], after: int
    ) -> list[Row | None]:
        """Rows of `model` (None where gone) as a read begun at or after delivery `after`
        finds them (pass `Subscription.delivery`): the subscribers one delivery wakes share
        one read of each row instead of a read each. Shared rows are read-only."""
        reads = self._reads.setdefault(model, {})
        missing = [pk for pk in ids if pk not in reads or reads[pk][0] < after]
        if missing:
            read = asyncio.ensure_future(self._read(db, model, missing))
            for pk in missing:
                reads[pk] = (self.delivery, read)
            if len(reads) > SHARED_READS_KEPT:
                for pk in [pk for pk, (_, task) in reads.items() if task.done()]:
                    del reads[pk]
        found: dict[uuid.UUID, Any] = {}
        for read in {reads[pk][1] for pk in ids}:
            found.update(await asyncio.shield(read))  # a waiter leaving stops no one's read
        return [found.get(pk) for pk in ids]

    async def _read(
        self, db: Database, model: type[Any], ids: list[uuid.UUID]
    ) -> Mapping[uuid.UUID, Any]:
        try:
            async with db.reader() as session:
                rows = await rows_by_ids(session, model, ids)
        except BaseException:  # no one after this may share a failed read
            reads = self._reads.get(model, {})
            for pk in ids:
                if pk in reads and reads[pk][1] is asyncio.current_task():
                    del reads[pk]
            raise
        return {pk: row for pk, row in zip(ids, rows, strict=True) if row is not None}

    @property
    def subscriber_count(self) -> int:
        return len({s for subs in self._subscribers.values() for s in subs})

    def _ensure_listener(self) -> None:
        """The server starts the listener with the app; an app run without its lifespan (an
        in-process test client) gets it with its first subscriber."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self.listen())
            self._started_by_subscriber = True

    async def listen(self) -> None:
        """Keep one LISTEN connection, reconnecting after failures, until cancelled."""
        if not self.is_postgres:
            return
        current = asyncio.current_task()
        if self._listener is not current:  # the server's job (else: a subscriber started it)
            if self._listener is not None and not self._listener.done():
                return  # this process listens already
            self._listener, self._started_by_subscriber = current, False
        failures = 0
        while True:
            try:
                await self._listen_once()
                failures = 0
            except Exception as exc:  # whatever broke, the process must keep listening
                failures += 1
                log.warning("event listener disconnected (%r); reconnecting", exc)
            delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
            await asyncio.sleep(delay)

    async def _listen_once(self) -> None:
        dsn = make_url(self.url).set(drivername="postgresql").render_as_string(False)
        conn = await asyncpg.connect(
            dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
        )
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._on_notification)
            self.connections += 1
            self._connected.set()
            self.resync_all()  # what was sent while nobody here listened is lost
            while not lost.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE_SECONDS)
                    continue
                await conn.execute("SELECT 1", timeout=KEEPALIVE_SECONDS)
        finally:
            self._connected.clear()
            conn.terminate()

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.deliver(payload.split())


_buses: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Bus]]" = (
    weakref.WeakKeyDictionary()
)


def _key(url: str) -> str:
    return make_url(url).render_as_string(hide_password=False)


def _existing_bus(url: str) -> Bus | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # a write outside any event loop has no subscribers here
        return None
    return _buses.get(loop, {}).get(_key(url))


def bus_of(db: Database) -> Bus:
    """This process's bus for the database (one per event loop)."""
    buses = _buses.setdefault(asyncio.get_running_loop(), {})
    key = _key(db.url)
    bus = buses.get(key)
    if bus is None:
        bus = buses[key] = Bus(db.url)
    return bus


async def listener(db: Database, settings: Settings) -> None:
    """The server's background job: this process's LISTEN connection (PostgreSQL only)."""
    await bus_of(db).listen()
