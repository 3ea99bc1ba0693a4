"""Version stamps: one row per kind of shared data (the catalogue, currencies, tax bands...),
bumped in the same transaction as any write to it (see domain/versions.py). A process that
caches such data keeps the stamp it was read at and drops it once the stamp moved: every
server process sees another's change at once, for the price of one tiny SELECT.

`StampReader` reads the stamps cheaply per request: on SQLite a plain sqlite3 connection in
autocommit mode (a few microseconds); on PostgreSQL one asyncpg connection whose queries are
shared by every request that arrived before the query was sent (one round trip serves a
burst of concurrent requests, and none sees stamps read before it arrived)."""

import asyncio
import sqlite3
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import asyncpg
from sqlalchemy import BigInteger
from sqlalchemy.engine import make_url
from sqlmodel import Column, Field, SQLModel

Stamps = Mapping[str, int]
STAMPS_SQL = "SELECT name, value FROM version_stamp"
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
    was sent after they asked (so no caller gets stamps older than its own arrival)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._waiting: list[asyncio.Future[Stamps]] = []
        self._reading = False

    async def read(self) -> Stamps:
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
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn)
        rows = await self._conn.fetch(STAMPS_SQL)
        return {row[0]: row[1] for row in rows}

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
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()


class StampReader:
    """The stamps of one database, and values cached per process under the stamp they were
    read at (e.g. the currency table): `cached(kind, stamps)` is None once the stamp moved."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self._source: SqliteStamps | PostgresStamps = SqliteStamps(parsed.database or "")
        else:
            dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self._source = PostgresStamps(dsn)
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
