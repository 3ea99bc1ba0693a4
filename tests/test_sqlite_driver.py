"""models/sqlite_driver.py: each SQLite statement is one call on aiosqlite's thread (was
four), and what SQLAlchemy reads off a cursor (rows, rowcount, lastrowid, errors) still
arrives."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

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
    return calls


async def test_a_statement_is_one_call_on_the_thread(db: Database, thread_calls: list[str]) -> None:
    async with db.reader() as session:
        await session.execute(text("SELECT 1"))  # BEGIN first
        thread_calls.clear()
        rows = (await session.execute(text("SELECT 1, 2 UNION ALL SELECT 3, 4"))).all()
    assert [tuple(r) for r in rows] == [(1, 2), (3, 4)]
    assert thread_calls[0] == "_run"
    assert thread_calls.count("_run") == 1  # then only the session's rollback


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
