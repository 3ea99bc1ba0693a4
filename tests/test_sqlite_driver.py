"""models/sqlite_driver.py: each SQLite statement is one call on aiosqlite's thread (was
four), and what SQLAlchemy reads off a cursor (rows, rowcount, lastrowid, errors) still
arrives."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Connection, Uuid, column, select, table, text
from sqlalchemy.exc import IntegrityError, OperationalError

from models import sqlite_driver
from models.base import UTCDateTime
from models.engine import SQLITE_WAL_AUTOCHECKPOINT_PAGES, Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield database
    await database.dispose()


@pytest.fixture
def thread_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions run on aiosqlite's connection threads, by name, as they run."""
    calls: list[str] = []
    run = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await run(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    monkeypatch.setattr(sqlite_driver, "_last_seconds", {})  # no statement timed yet
    return calls


@pytest.fixture
async def warm_calls(db: Database, thread_calls: list[str]) -> list[str]:
    """`thread_calls`, counted from after the read pool's connection was made."""
    async with db.reader() as session:
        await session.execute(text("SELECT 0"))
    thread_calls.clear()
    return thread_calls


async def test_a_statement_is_one_call_on_the_thread(db: Database, thread_calls: list[str]) -> None:
    async with db.reader() as session:
        await session.execute(text("SELECT 1"))  # BEGIN first
        thread_calls.clear()
        rows = (await session.execute(text("SELECT 1, 2 UNION ALL SELECT 3, 4"))).all()
    assert [tuple(r) for r in rows] == [(1, 2), (3, 4)]
    assert thread_calls[0] == "_run"
    assert thread_calls == ["_run"]  # a first run, timed on the thread; the rollback in place


async def test_a_quick_read_runs_in_place_from_its_second_run(
    db: Database, warm_calls: list[str]
) -> None:
    for _ in range(2):
        async with db.reader() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    # the first runs hop (with BEGIN riding along), timed; the second ones run in place; the
    # read's rollback runs in place and the pool's reset finds nothing to end
    assert warm_calls == ["_run", "_run"]


async def test_a_slow_read_and_every_write_stay_on_the_thread(
    db: Database, warm_calls: list[str]
) -> None:
    slow = text(
        "SELECT (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
        "WHERE x < 300000) SELECT count(*) FROM c)"
    )
    for _ in range(2):
        async with db.reader() as session:
            assert (await session.execute(slow)).scalar_one() == 300000
    assert warm_calls.count("_run") == 2  # timed over INLINE_BELOW_SECONDS: never in place
    warm_calls.clear()
    for _ in range(2):
        async with db.transaction() as session:
            await session.execute(text("SELECT count(*) FROM t"))
    assert warm_calls == ["_run", "commit", "_run", "commit"]


async def test_a_session_that_runs_nothing_makes_no_call(
    db: Database, warm_calls: list[str]
) -> None:
    async with db.reader() as session:
        await session.connection()  # begun: its BEGIN waits for a statement that never comes
    async with db.transaction():
        pass
    assert warm_calls == []


async def test_the_deferred_begin_still_isolates(db: Database, tmp_path: Path) -> None:
    """A read's snapshot starts at its first statement and holds while another connection
    commits; a writer's BEGIN IMMEDIATE still takes the write lock before its statement."""
    async with db.reader() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
        async with db.transaction() as writer:
            await writer.execute(text("INSERT INTO t (name) VALUES ('seen later')"))
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    async with db.reader() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with db.transaction() as writer:
            await writer.execute(text("INSERT INTO t (name) VALUES ('holds the lock')"))
            async with other.write_engine.connect() as conn:
                await conn.run_sync(_wait_for_locks_50_ms)
                with pytest.raises(OperationalError, match="locked"):
                    await conn.execute(text("SELECT 1"))  # its BEGIN IMMEDIATE waits, fails
    finally:
        await other.dispose()


def _wait_for_locks_50_ms(conn: Connection) -> None:
    """On the raw connection, before the transaction begins (a BEGIN IMMEDIATE would wait)."""
    conn.connection.dbapi_connection.cursor().execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]


async def test_rowcount_lastrowid_returning_and_many(db: Database) -> None:
    async with db.transaction() as session:
        inserted = await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await session.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
        returned = await session.execute(text("INSERT INTO t (name) VALUES ('d') RETURNING id"))
        assert returned.scalar_one() == 4
        updated = await session.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 3
    async with db.reader() as session:
        names = (await session.scalars(text("SELECT name FROM t ORDER BY id"))).all()
    assert names == ["a", "b!", "c!", "d!"]


async def test_errors_arrive_as_sqlalchemy_errors_and_roll_back(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))
    async with db.reader() as session:
        assert (await session.scalar(text("SELECT count(*) FROM t"))) == 0


async def test_a_commit_of_2000_pages_leaves_them_in_the_wal(db: Database, tmp_path: Path) -> None:
    """At SQLite's default (1,000 pages) such a commit (a 500-product bulk batch writes more)
    would also copy its pages into the database file: a checkpoint on every batch."""
    async with db.reader() as session:
        pages = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
    assert pages == SQLITE_WAL_AUTOCHECKPOINT_PAGES
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE blob (data BLOB)"))
        rows = [{"n": 3000}] * 2000  # one 4 KiB page each
        await session.execute(text("INSERT INTO blob (data) VALUES (randomblob(:n))"), rows)
    main, wal = tmp_path / "driver.db", tmp_path / "driver.db-wal"
    assert main.stat().st_size < 1_000_000 < 6_000_000 < wal.stat().st_size


async def test_a_uuid_read_twice_is_made_once(db: Database) -> None:
    """SQLite's uuid columns: the same hex string gives the same (immutable) UUID object."""
    kept = uuid.uuid4()
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE ids (id CHAR(32) PRIMARY KEY)"))
        await session.execute(text("INSERT INTO ids VALUES (:id)"), {"id": kept.hex})
    ids = table("ids", column("id", Uuid()))
    read = []
    for _ in range(2):
        async with db.reader() as session:
            read.append((await session.execute(select(ids.c.id))).scalar_one())
    assert read[0] == kept and isinstance(read[0], uuid.UUID)
    assert read[1] is read[0]


async def test_a_timestamp_read_twice_is_made_once(db: Database) -> None:
    """SQLite's UTCDateTime columns: the same stored text gives the same aware datetime."""
    when = datetime(2026, 12, 1, 14, 30, 5, 123456, tzinfo=UTC)
    stamps = table("stamps", column("at", UTCDateTime()))
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE stamps (at DATETIME)"))
        await session.execute(stamps.insert().values(at=when))
    read = []
    for _ in range(2):
        async with db.reader() as session:
            read.append((await session.execute(select(stamps.c.at))).scalar_one())
    assert read[0] == when and read[0].tzinfo is UTC
    assert read[1] is read[0]
