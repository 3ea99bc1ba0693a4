"""SQLAlchemy's aiosqlite adapter with one thread hop per statement instead of four, and
none for BEGIN or for ending a transaction that never started.

aiosqlite runs each call on its connection's thread: SQLAlchemy's adapter makes a cursor,
executes, fetches the rows and closes the cursor as four calls, four hand-offs between the
event loop and that thread (each a queue put, a wake-up, a `call_soon_threadsafe` and the
GIL changing hands). Measured on a listing: 22 hops for 2 statements, about a fifth of its
CPU time. Here a statement runs as one function on the connection's thread (cursor, execute,
fetch, close) and the adapter's cursor keeps what it returned. Statements still run off the
event loop (a slow search or a lock wait never stalls other requests).

A transaction's BEGIN (models/engine.py emits it) waits for the transaction's first statement
and runs in that statement's hop; a rollback or commit when no transaction is open (a
session that ran nothing, the pool's reset after the session's own rollback) makes no hop.
A listing went from five hops to three (BEGIN, two SELECTs, ROLLBACK, the pool's ROLLBACK).

**Quick reads run on the event loop.** A hop costs two thread wake-ups, and on an idle
machine a wake-up is a core leaving its sleep state: tens of microseconds each, a tenth of a
one-client listing. So on a read connection (models/engine.py marks the read engine's) a
statement whose last run took under INLINE_BELOW_SECONDS runs in place, and so does the
read's ROLLBACK (it only drops the WAL snapshot). The first run of each statement, and any
that last took longer (a search over many products, a facet count), still runs on the thread,
so a slow read never stalls the loop for more than a quick read's time; a quick statement that
turns slow goes back to the thread on its next run. Reads in WAL mode take no locks, so none of
this waits on a writer. Writes always hop (BEGIN IMMEDIATE may wait for the write lock).

Uses two aiosqlite internals, `Connection._execute(fn, ...)` (run on its thread) and
`Connection._conn` (the sqlite3 connection), which SQLAlchemy's own adapter also reaches for;
the test suite runs every statement through them.
"""

import collections
import sqlite3
import time
import uuid
from typing import Any

import aiosqlite
from sqlalchemy import Uuid
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

from models.base import kept_by_text

Outcome = tuple[Any, list[Any] | None, int, int | None, float]
"""What a statement left on its cursor: description, rows (None: none), rowcount, lastrowid;
and the seconds it took."""
INLINE_BELOW_SECONDS = 0.001
"""A read statement whose last run took less runs on the event loop (see the docstring)."""
MAX_STATEMENTS_TIMED = 4096
"""Distinct statements whose last duration is kept (a process's statements are bounded by its
code; the limit only guards against a surprise, by starting over)."""
_last_seconds: dict[str, float] = {}


def _run(
    conn: sqlite3.Connection, begin: str | None, operation: str, parameters: Any, many: bool
) -> Outcome:
    """On the connection's thread: the transaction's BEGIN if it is still to come, then the
    whole statement, its cursor closed before returning."""
    started = time.perf_counter()
    if begin is not None:
        conn.execute(begin)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        seconds = time.perf_counter() - started
        return description, rows, cursor.rowcount, cursor.lastrowid, seconds
    finally:
        cursor.close()


def _quick(operation: str) -> bool:
    """Whether the statement is a SELECT (a read session's statements are; anything else
    hops, whatever it is) whose last run took under INLINE_BELOW_SECONDS."""
    return _last_seconds.get(
        operation, INLINE_BELOW_SECONDS
    ) < INLINE_BELOW_SECONDS and operation.startswith("SELECT")


def _timed(operation: str, seconds: float) -> None:
    if len(_last_seconds) >= MAX_STATEMENTS_TIMED:
        _last_seconds.clear()
    _last_seconds[operation] = seconds


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement ran in one call on the connection's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor (making one is a hop of its own): see _run.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        async with adapted._execute_mutex:
            begin, adapted.begin_pending = adapted.begin_pending, None
            arguments = (connection._conn, begin, operation, parameters, many)
            if adapted.reads_only and not many and _quick(operation):  # a SELECT, see _quick
                outcome = _run(*arguments)
            else:
                outcome = await connection._execute(_run, *arguments)
        self._description, rows, self._rowcount, self._lastrowid, seconds = outcome
        if adapted.reads_only:
            _timed(operation, seconds)
        self._rows = collections.deque(rows or ())

    async def _async_soft_close(self) -> None:
        """Nothing to close: the statement's cursor was closed on the thread."""

    def close(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("begin_pending", "reads_only")
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, connection)
        self.begin_pending: str | None = None
        """The BEGIN the next statement runs first (set by models/engine.py's begin hook)."""
        self.reads_only = False
        """A connection of the read engine: its quick statements run in place (see above)."""

    def rollback(self) -> None:
        if not self._transaction_open():
            return
        if self.reads_only:  # ends a read's snapshot: nothing to wait for
            self._connection._connection.rollback()  # type: ignore[union-attr]
        else:
            super().rollback()

    def commit(self) -> None:
        if self._transaction_open():
            super().commit()

    def _transaction_open(self) -> bool:
        """Whether the sqlite3 connection is in a transaction, a deferred BEGIN dropped (no
        statement ran: there is nothing to end). Read on the event loop's thread: between
        this connection's statements, so its own thread is not touching it."""
        self.begin_pending = None
        sqlite_connection: sqlite3.Connection | None = self._connection._connection
        return sqlite_connection is not None and sqlite_connection.in_transaction


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give `create_async_engine(module=...)` for aiosqlite URLs."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


_uuids: dict[str, uuid.UUID] = {}


class KeptUuid(Uuid):  # type: ignore[type-arg]
    """SQLite's uuid columns (32 hex characters) read as UUIDs, each string made into a UUID
    once per process: `uuid.UUID(hex)` is pure Python, about a microsecond, and a listing page
    reads some 120 ids, most of them the same from one request to the next (its products,
    their categories). UUIDs are immutable, so sharing one is safe. models/engine.py puts this
    type in the SQLite dialect's place for `Uuid`."""

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if not self.as_uuid:
            return super().result_processor(dialect, coltype)
        return kept_by_text(_uuids, uuid.UUID)
