"""Async engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite needs care to never answer "database is locked" under concurrent writers:
WAL mode lets readers run beside one writer, a busy timeout makes writers queue, and
every write transaction starts with ``BEGIN IMMEDIATE`` so that it takes the write lock
up front instead of failing when a read transaction later tries to upgrade.
"""

import asyncio
import contextvars
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import asyncpg.exceptions as asyncpg_errors
import orjson
from sqlalchemy import Uuid, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from models.sqlite_driver import KeptUuid, OneHopDBAPI
from models.versions import BUMPED, StampReader, StampsUnavailable

SQLITE_BUSY_TIMEOUT_SECONDS = 60
SQLITE_MMAP_BYTES = 1 << 30
"""SQLite reads the first GiB of the file through a shared memory map instead of each
connection's 2 MB page cache: lookups spread over the product table (a search's facets at
100k products: 5k hits, each a product row and its category links) otherwise evict that cache
and copy every page in again (measured: 44 -> 31 ms CPU for one-word facets). The map is the
OS page cache, shared by every connection and process; writes still go through write()."""
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
"""WAL pages (4 KiB each, so about 40 MB) before a commit copies them back into the file
(SQLite's default: 1,000). A 500-product productBulkCreate batch writes more than 1,000
pages (the product table's 13 indexes, the search index, links, ledger, events), so at the
default every such commit ran a checkpoint: about 40 ms of its wall time, rewriting the same
index pages batch after batch. Measured on a loaded machine, 20 batches of 500 rows: commits
of 25-55 ms became 2-8 ms, with one checkpoint of about 125 ms in the run."""
DEFAULT_POOL_SIZE = 10
"""PostgreSQL connections a process pools unless told (the server passes its share of
STOCKROOM_DATABASE_MAX_CONNECTIONS)."""
POOL_WAIT_SECONDS = 30
POSTGRES_SESSION_SETTINGS = {"max_parallel_workers_per_gather": "0", "jit": "off"}
"""Set on every PostgreSQL connection of the server when it opens (by SET, not as startup
parameters, which a connection pooler such as PgBouncer refuses unless told to ignore them).
The API answers many small requests at once, each statement taking milliseconds:
- no parallel workers: they would take cores from other requests, and starting them costs
  3-4 ms, more than a search statement takes. The planner chose them from a guess (a tsquery
  given as a parameter is estimated at 0.5% of the rows): at 1M products a one-word search's
  name tier launched two workers to find no rows, 4 ms of a 6 ms statement (over HTTP: one
  word 11.6 -> 6.7 ms, a listing 4.8 ms);
- no JIT compilation: PostgreSQL compiles a statement whose estimated cost passes
  jit_above_cost (100,000) anew at every execution. Few of ours get there, and those gain
  nothing from it: the whole catalogue's facets at 1M products compiled 30 functions, 20 ms
  on top of a 0.46 s statement, and a backend's first compilation loads LLVM (0.47 s)."""

_statement_count: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "statement_count", default=None
)


def refused_value(error: BaseException) -> bool:
    """Whether the database refused a value it was given (SQLSTATE class 22, "data
    exception": a NUL character in text, a string longer than its column, a number out of
    range), as opposed to a failure of the database or of our SQL."""
    if isinstance(error, DataError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    return str(getattr(error.orig, "sqlstate", None) or "").startswith("22")


UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
"""Connection exceptions, the server shutting down, crashing or starting up, and too many
connections: the database cannot answer now, and may in a moment."""
UNAVAILABLE_SQLITE_MESSAGES = ("unable to open database file", "disk i/o error")


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database cannot be reached or is not
    accepting work (PostgreSQL down or restarting, the pool exhausted, the SQLite file gone),
    as opposed to a bug: the request may succeed if retried shortly."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if _says_unavailable(item):
            return True
        pending += [item.__cause__, item.__context__, getattr(item, "orig", None)]
    return False


def _says_unavailable(error: BaseException) -> bool:
    if isinstance(error, PoolTimeoutError | StampsUnavailable | ConnectionBroken):
        return True
    if isinstance(error, OSError):  # refused, reset, timed out: of the database's socket?
        return _raised_in_database_driver(error)
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    sqlstate = str(getattr(error, "sqlstate", None) or "")
    if sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return True
    name, message = type(error).__name__, str(error).lower()
    if name in {"ConnectionDoesNotExistError", "InterfaceError"} and "connection" in message:
        return "closed" in message or "does not exist" in message
    return name == "OperationalError" and message.startswith(UNAVAILABLE_SQLITE_MESSAGES)


DRIVER_PACKAGES = tuple(
    f"{os.sep}{name}{os.sep}" for name in ("sqlalchemy", "asyncpg", "aiosqlite")
)


def _raised_in_database_driver(error: BaseException) -> bool:
    """Whether the traceback passes through the database stack (a network error of a payment
    gateway or a webhook receiver is no database outage)."""
    frame = error.__traceback__
    while frame is not None:
        filename = frame.tb_frame.f_code.co_filename
        if any(package in filename for package in DRIVER_PACKAGES):
            return True
        frame = frame.tb_next
    return False


class StatementCounter:
    """Counts the SQL statements run by the current task and the tasks it starts."""

    def __init__(self) -> None:
        self._box = [0]
        self._token: contextvars.Token[list[int] | None] | None = None

    @property
    def count(self) -> int:
        return self._box[0]

    def __enter__(self) -> "StatementCounter":
        self._token = _statement_count.set(self._box)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _statement_count.reset(self._token)


def _count_statement(
    conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
) -> None:
    box = _statement_count.get()
    if box is not None and not statement.startswith("BEGIN"):  # SQLite's explicit BEGINs
        box[0] += 1


def _sqlite_engine(url: str, begin: str, reads_only: bool = False) -> AsyncEngine:
    engine = create_async_engine(
        url,
        module=OneHopDBAPI(),  # one thread hop per statement (models/sqlite_driver.py)
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        json_deserializer=orjson.loads,  # JSON columns (images, custom fields) read fast
    )

    dialect = engine.sync_engine.dialect
    dialect.colspecs = {**dialect.colspecs, Uuid: KeptUuid}  # type: ignore[misc]  # ids made once

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        dbapi_connection.reads_only = reads_only  # quick reads run in place (sqlite_driver.py)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        # run with the transaction's first statement, in its thread hop (sqlite_driver.py)
        conn.connection.dbapi_connection.begin_pending = begin

    return engine


class ConnectionBroken(Exception):
    """A new connection broke before its first statement: PostgreSQL, shutting down, told it
    so (an unsolicited FATAL the driver met first), or closed it. The database is going
    away; the request may succeed once it is back."""


def _apply_session_settings(dbapi_connection: Any, record: Any) -> None:
    """POSTGRES_SESSION_SETTINGS on a new connection, once: on the asyncpg connection itself,
    outside the transaction the adapter opens (whose rollback would undo a SET).

    This runs outside the dialect, which would otherwise translate a broken connection's
    client-side error ("another operation is in progress") into a disconnect; so it does
    that itself. An error PostgreSQL reports (a bad setting) stays what it is: a bug."""
    settings = "; ".join(
        f"SET {name} = {value}" for name, value in POSTGRES_SESSION_SETTINGS.items()
    )
    try:
        dbapi_connection.run_async(lambda connection: connection.execute(settings))
    except (asyncpg_errors.InterfaceError, asyncpg_errors.InternalClientError) as error:
        dbapi_connection.driver_connection.terminate()
        raise ConnectionBroken(str(error)) from error


def _watch(engine: AsyncEngine) -> None:
    sync: Engine = engine.sync_engine
    event.listen(sync, "before_cursor_execute", _count_statement)


class Database:
    """The engines and session factories of one database URL."""

    def __init__(
        self, url: str, pool_size: int = DEFAULT_POOL_SIZE, stamp_push: bool = True
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.read_engine = _sqlite_engine(url, "BEGIN", reads_only=True)
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            # One writer per process at a time; BEGIN IMMEDIATE orders the processes.
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
        else:
            # No overflow: a process never holds more than `pool_size` connections, so N
            # processes stay within N * pool_size, under PostgreSQL's max_connections; a
            # request finding none free waits (up to POOL_WAIT_SECONDS, then 503).
            self.read_engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=POOL_WAIT_SECONDS,
                json_deserializer=orjson.loads,
            )
            self.write_engine = self.read_engine
            self._write_lock = None
        for engine in {self.read_engine, self.write_engine}:
            _watch(engine)
        if not self.is_sqlite:
            event.listen(self.read_engine.sync_engine, "connect", _apply_session_settings)
        reads = self.read_engine
        if not self.is_sqlite:
            # Under READ COMMITTED each statement takes its own snapshot, in a transaction or
            # not: a read session's BEGIN and ROLLBACK were two round trips that bought nothing.
            reads = reads.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = async_sessionmaker(reads, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self.stamps = StampReader(url, stamp_push)
        """Version stamps of shared data, and what this process caches under them."""

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads. SQLite: one snapshot, which ends when the block does.
        PostgreSQL: autocommit, each statement its own snapshot (as READ COMMITTED gives in
        a transaction too), with no BEGIN or ROLLBACK round trip."""
        async with self._read_sessions() as session:
            yield session

    def read_session(self) -> AsyncSession:
        """A read session the caller closes (for reads spread over a whole request)."""
        return self._read_sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: commits when the block ends, rolls back on any exception.
        Once committed, every server process sees the version stamps it moved before this
        returns (models/versions.py, pushed stamps)."""
        async with (
            self._write_lock or nullcontext(),
            self._write_sessions() as session,
            session.begin(),
        ):
            yield session
        bumped = session.info.pop(BUMPED, None)
        if bumped:
            await self.stamps.wait_seen(bumped)

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.stamps.close()
        for engine in {self.read_engine, self.write_engine}:
            await engine.dispose()
