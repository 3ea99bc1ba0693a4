"""Version stamps: one row per kind of shared data (the catalogue, currencies, tax bands...),
bumped in the same transaction as any write to it (see domain/versions.py). A process that
caches such data keeps the stamp it was read at and drops it once the stamp moved: every
server process sees another's change at once, for the price of one tiny SELECT.

`StampReader` reads the stamps cheaply per request: on SQLite a plain sqlite3 connection in
autocommit mode (a few microseconds); on PostgreSQL from memory, kept current by
notifications that every writer waits to see applied by every process before it answers
(`PostgresStamps`), else by one asyncpg connection whose queries are shared by every
request that arrived before the query was sent."""

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import asyncpg
from sqlalchemy import BigInteger
from sqlalchemy.engine import make_url
from sqlmodel import Column, Field, SQLModel

logger = logging.getLogger(__name__)
Stamps = Mapping[str, int]
STAMPS_SQL = "SELECT name, value FROM version_stamp"
STAMPS_CHANNEL = "stockroom_stamps"
"""Each stamp bump notifies `name=value` here (domain/versions.py), delivered at commit."""
SEEN_CHANNEL = "stockroom_stamps_seen"
"""`<process name> <stamps as JSON>`: what a process holds, after applying a bump."""
LISTENER_PREFIX = "stockroom-stamps "
"""The application name of each process's stamp connection: the name follows."""
LISTENERS_SQL = (
    "SELECT application_name FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name LIKE $1"
)
"""The listening processes of this database (notifications do not cross databases)."""
NOTIFY_SQL = "SELECT pg_notify($1, $2)"
HEARD_SECONDS = 1.0
"""Pushed stamps are trusted while the connection has spoken this recently (else one round
trip: a connection that went quiet may have stopped delivering)."""
SEEN_WAIT_SECONDS = 1.0
"""How long a writer waits for a process to confirm a change (then gives up on it)."""
BUMPED = "version_stamps_bumped"
"""Session info key: the stamp values a write transaction committed (PostgreSQL)."""
DATA_VERSION_SQL = "PRAGMA data_version"


class VersionStamp(SQLModel, table=True):
    """How many committed writes a kind of shared data has had (any change moves it)."""

    __tablename__ = "version_stamp"

    name: str = Field(primary_key=True, max_length=40)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class SqliteStamps:
    """Reads the stamps on a private sqlite3 connection; each read sees the last commit.

    `PRAGMA data_version` moves whenever another connection (of any process) has committed:
    the stamps are selected again only then (half the cost of a read that finds no change)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._seen: tuple[int, Stamps] | None = None
        self._this_iteration: Stamps | None = None

    async def read(self) -> Stamps:
        return self.read_now()

    def read_now(self) -> Stamps:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=60000")
        version = self._conn.execute(DATA_VERSION_SQL).fetchone()[0]
        if self._seen is None or self._seen[0] != version:
            self._seen = (version, dict(self._conn.execute(STAMPS_SQL).fetchall()))
        return self._seen[1]

    def read_on_arrival(self) -> Stamps:
        """One read shared by the requests whose tasks take their first step in the same
        event-loop iteration. Sound only at a request task's first step: a task that
        steps before the value is dropped (the next iteration) was created by a
        `data_received` that ran before the read, so its request arrived before the read
        and the read saw every commit made before that arrival."""
        if self._this_iteration is None:
            self._this_iteration = self.read_now()
            asyncio.get_running_loop().call_soon(self._drop_iteration)
        return self._this_iteration

    def _drop_iteration(self) -> None:
        self._this_iteration = None

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class StampsUnavailable(Exception):
    """The stamps could not be read because PostgreSQL is not answering (down, restarting,
    or the connection broke mid-query): an outage, answered 503, not an internal error."""


class PostgresStamps:
    """Reads the stamps over one asyncpg connection; concurrent callers share a query that
    was sent after they asked (so no caller gets stamps older than its own arrival).

    Pushed stamps (`push`, the default): the same connection LISTENs. Every write's stamp
    bump also notifies (`STAMPS_CHANNEL`, in its transaction, so at commit) and each process
    applies the new values to the stamps it holds, then says so (`SEEN_CHANNEL`); the
    writer, after its commit and before it answers, waits until every process holding such
    a connection (found in `pg_stat_activity` by its application name) has seen its values
    (`wait_seen`). So a read answers from memory, no round trip, yet never older than any
    commit whose writer has answered. A process whose connection has said nothing for
    HEARD_SECONDS, or broke, reads by round trip again until it listens anew; one that does
    not answer a writer within SEEN_WAIT_SECONDS (stopped, stalled) is not waited for again
    until it answers."""

    def __init__(self, dsn: str, push: bool = True) -> None:
        self.dsn = dsn
        self.push = push
        self.name = uuid.uuid4().hex[:16]
        """This process's name among the listeners (its application name's suffix)."""
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # asyncpg runs one operation at a time on a connection
        self._waiting: list[asyncio.Future[Stamps]] = []
        self._reading = False
        self._known: dict[str, int] = {}
        self._live = False
        """Listening, with `_known` read after LISTEN began."""
        self._heard_at = 0.0
        self._seen: dict[str, dict[str, int]] = {}
        self._seen_waiters: list[asyncio.Future[None]] = []
        self._lagging: set[str] = set()
        self._ack_due = False
        self._ack_task: asyncio.Task[None] | None = None
        self.round_trips = 0
        """Stamp queries sent (tests read it)."""

    async def read(self) -> Stamps:
        if self._live and time.monotonic() - self._heard_at < HEARD_SECONDS:
            return self._known
        if not self._reading:
            return await self._lead()
        future: asyncio.Future[Stamps] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)  # served by the next query, sent after this arrival
        return await future

    async def _lead(self) -> Stamps:
        """No query in flight: this caller sends one itself (no task, no future: at one
        client the shared path cost twice the CPU and latency of the query); those who ask
        meanwhile are served by `_serve` once it is done."""
        self._reading = True
        try:
            return await self._query_on_a_live_connection()
        except Exception as error:
            unavailable = self._unavailable(error)
            if unavailable is error:
                raise
            raise unavailable from error
        finally:
            if self._waiting:
                asyncio.get_running_loop().create_task(self._serve())
            else:
                self._reading = False

    async def _serve(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    stamps = await self._query_on_a_live_connection()
                except Exception as error:
                    for future in batch:
                        if not future.done():
                            future.set_exception(self._unavailable(error))
                    continue
                for future in batch:
                    if not future.done():
                        future.set_result(stamps)
        finally:
            self._reading = False

    # --- pushed stamps ----------------------------------------------------------------

    async def wait_seen(self, bumped: Mapping[str, int]) -> None:
        """After a commit that moved `bumped` to these values: return once every other
        listening process has applied them (or was given up on, see the class)."""
        if not self.push or not bumped:
            return
        self._apply(bumped)  # this process: the commit is done
        try:
            if not self._live:
                await self._query_on_a_live_connection()
            async with self._lock:
                assert self._conn is not None
                rows = await self._conn.fetch(LISTENERS_SQL, LISTENER_PREFIX + "%")
        except Exception:  # unreachable: no process can listen either, they read by round trip
            return
        others = {row[0][len(LISTENER_PREFIX) :] for row in rows} - {self.name}
        self._seen = {name: seen for name, seen in self._seen.items() if name in others}
        await self._until_seen(others, bumped)

    async def _until_seen(self, others: set[str], bumped: Mapping[str, int]) -> None:
        deadline = time.monotonic() + SEEN_WAIT_SECONDS
        while True:
            behind = {
                name for name in others - self._lagging if not _covers(self._seen.get(name), bumped)
            }
            remaining = deadline - time.monotonic()
            if not behind:
                return
            if remaining <= 0:
                self._lagging |= behind
                logger.warning("stamps: processes %s did not confirm a change in time", behind)
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._seen_waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)

    def _apply(self, values: Mapping[str, int]) -> None:
        """Stamps only grow: keep the larger of each; a new dict when one moved (answers kept
        under the old one compare unequal)."""
        known = self._known
        if any(known.get(name, -1) < value for name, value in values.items()):
            merged = dict(known)
            for name, value in values.items():
                if merged.get(name, -1) < value:
                    merged[name] = value
            self._known = merged
        self._heard_at = time.monotonic()

    def _on_stamp(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        name, _, value = payload.rpartition("=")
        self._apply({name: int(value)})
        self._ack_soon()

    def _on_seen(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        name, _, body = payload.partition(" ")
        seen = self._seen.setdefault(name, {})
        for kind, value in json.loads(body).items():
            if seen.get(kind, -1) < value:
                seen[kind] = value
        self._lagging.discard(name)
        self._heard_at = time.monotonic()
        waiters, self._seen_waiters = self._seen_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _on_lost(self, conn: Any) -> None:
        if conn is self._conn:
            self._live = False

    def _ack_soon(self) -> None:
        """Say which stamps this process holds, once for a burst of notifications."""
        self._ack_due = True
        if self._ack_task is None or self._ack_task.done():
            self._ack_task = asyncio.get_running_loop().create_task(self._send_acks())

    async def _send_acks(self) -> None:
        while self._ack_due:
            self._ack_due = False
            payload = f"{self.name} {json.dumps(self._known)}"
            try:
                async with self._lock:
                    if self._conn is None or self._conn.is_closed():
                        return
                    await self._conn.execute(NOTIFY_SQL, SEEN_CHANNEL, payload)
            except Exception:
                self._drop_connection()
                return

    async def _connect(self) -> asyncpg.Connection:
        if not self.push:
            return await asyncpg.connect(self.dsn)
        conn = await asyncpg.connect(
            self.dsn, server_settings={"application_name": LISTENER_PREFIX + self.name}
        )
        conn.add_termination_listener(self._on_lost)
        await conn.add_listener(STAMPS_CHANNEL, self._on_stamp)
        await conn.add_listener(SEEN_CHANNEL, self._on_seen)
        return conn

    async def _query_on_a_live_connection(self) -> Stamps:
        """One retry on a new connection: the kept one may have broken since its last use
        (a PostgreSQL restart, a terminated backend) while the database answers again."""
        for attempt in range(2):
            try:
                return await self._query()
            except Exception as error:
                self._drop_connection()
                if attempt or not self._may_be_stale(error):
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _may_be_stale(error: Exception) -> bool:
        return not isinstance(error, OSError | TimeoutError)  # refused/timed out: truly down

    async def _query(self) -> Stamps:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._live = False
                self._conn = await self._connect()
            rows = await self._conn.fetch(STAMPS_SQL)
        self.round_trips += 1
        self._apply({row[0]: row[1] for row in rows})
        if self.push and not self._live:
            self._live = True  # read after LISTEN began: nothing committed since is missed
            self._ack_soon()  # writers waiting for this process learn what it holds
        return self._known

    @staticmethod
    def _unavailable(error: Exception) -> Exception:
        if isinstance(
            error,
            asyncpg.PostgresError
            | asyncpg.InterfaceError
            | asyncpg.InternalClientError
            | OSError
            | TimeoutError,
        ):
            unavailable = StampsUnavailable(f"version stamps unreadable: {error!r}")
            unavailable.__cause__ = error
            return unavailable
        return error

    def _drop_connection(self) -> None:
        """Abandons a broken connection at once: closing it politely could wait on (or fail
        with "another operation is in progress" because of) the query that just broke."""
        self._live = False
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def close(self) -> None:
        self._live = False
        if self._ack_task is not None:
            self._ack_task.cancel()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()


def _covers(seen: Mapping[str, int] | None, bumped: Mapping[str, int]) -> bool:
    return seen is not None and all(seen.get(k, -1) >= v for k, v in bumped.items())


class StampReader:
    """The stamps of one database, and values cached per process under the stamp they were
    read at (e.g. the currency table): `cached(kind, stamps)` is None once the stamp moved."""

    def __init__(self, url: str, push: bool = True) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self._source: SqliteStamps | PostgresStamps = SqliteStamps(parsed.database or "")
        else:
            dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self._source = PostgresStamps(dsn, push)
        self._values: dict[str, tuple[Hashable, Any]] = {}

    async def read(self) -> Stamps:
        return await self._source.read()

    async def read_on_arrival(self) -> Stamps:
        """`read()` for a request at its task's first step (transport/fast_path.py): on
        SQLite shared by the requests stepping in one event-loop iteration; on PostgreSQL
        `read()`, which already shares one query among the requests that came before it."""
        if isinstance(self._source, SqliteStamps):
            return self._source.read_on_arrival()
        return await self._source.read()

    async def wait_seen(self, bumped: Mapping[str, int]) -> None:
        """After a commit: every process sees the stamps it moved (PostgreSQL's pushed
        stamps; SQLite's readers always read the file itself)."""
        if isinstance(self._source, PostgresStamps):
            await self._source.wait_seen(bumped)

    def cached(self, name: str, version: Hashable) -> Any | None:
        held = self._values.get(name)
        return held[1] if held is not None and held[0] == version else None

    def keep(self, name: str, version: Hashable, value: Any) -> None:
        self._values[name] = (version, value)

    async def value(self, name: str, version: Hashable, load: Callable[[], Any]) -> Any:
        """The value cached under `version`, else `await load()` kept under it."""
        found = self.cached(name, version)
        if found is None:
            found = await load()
            self.keep(name, version, found)
        return found

    async def close(self) -> None:
        await self._source.close()
