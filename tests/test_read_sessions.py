"""Read sessions on PostgreSQL run in autocommit (models/engine.py): no BEGIN or ROLLBACK
round trips. Under READ COMMITTED each statement had its own snapshot anyway; writes still run
in one transaction."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models.engine import Database


async def _began_after_the_first_statement(session: AsyncSession) -> bool:
    """Whether the transaction a second statement runs in began after the first statement
    ran (now() is the transaction's start time)."""
    first = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
    await asyncio.sleep(0.02)
    return bool((await session.execute(text("SELECT now()"))).scalar_one() > first)


async def test_a_postgres_read_is_no_transaction_and_a_write_is_one(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite's read sessions are one snapshot (tests/test_sqlite_driver.py)")
    async with db.reader() as session:
        assert await _began_after_the_first_statement(session)
    async with db.transaction() as session:
        assert not await _began_after_the_first_statement(session)


async def test_a_read_sees_what_committed_before_each_statement(db: Database) -> None:
    """Both databases: a read session's next statement sees a commit made meanwhile
    (PostgreSQL) or keeps its snapshot (SQLite); either way it never sees half a commit."""
    await _make_table(db)
    async with db.reader() as session:
        assert (await session.execute(text("SELECT count(*) FROM probe"))).scalar_one() == 0
        async with db.transaction() as writer:
            await writer.execute(text("INSERT INTO probe (n) VALUES (1), (2)"))
        seen = (await session.execute(text("SELECT count(*) FROM probe"))).scalar_one()
    assert seen == (0 if db.is_sqlite else 2)


async def _make_table(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE probe (n INTEGER)"))


COSTLY = text(
    "EXPLAIN SELECT sum(a * b) FROM generate_series(1, 3000) a, generate_series(1, 3000) b"
)
"""Planned at a cost past jit_above_cost's default (100,000): PostgreSQL would JIT-compile it."""


async def test_postgres_statements_run_without_parallel_workers_or_jit(db: Database) -> None:
    """The server's PostgreSQL connections never plan parallel workers nor compile a costly
    statement (models/engine.py, POSTGRES_SESSION_SETTINGS): reads and writes alike."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL's planner settings")
    show = text("SHOW max_parallel_workers_per_gather")
    async with db.reader() as session:
        assert (await session.execute(show)).scalar_one() == "0"
        assert not any("JIT" in line for line in (await session.execute(COSTLY)).scalars())
    async with db.transaction() as session:
        assert (await session.execute(show)).scalar_one() == "0"
        assert not any("JIT" in line for line in (await session.execute(COSTLY)).scalars())
