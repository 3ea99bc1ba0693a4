"""PostgreSQL's pushed version stamps (models/versions.py): a process reads the stamps from
memory, and a writer answers only once every listening process holds what it committed; a
process that never confirms is waited for once, then not again until it does; a quiet
connection is checked by a round trip."""

import asyncio
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from domain.versions import CATALOG, bump
from models import versions
from models.engine import Database
from models.versions import LISTENER_PREFIX, PostgresStamps

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def processes(db_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two databases objects as two server processes have them (each its stamp listener)."""
    one, two = Database(db_url), Database(db_url)
    for db in (one, two):
        await db.stamps.read()  # listening from here on
    yield one, two
    for db in (one, two):
        await db.dispose()


def source(db: Database) -> PostgresStamps:
    stamps = db.stamps._source
    assert isinstance(stamps, PostgresStamps)
    return stamps


async def move_catalog(db: Database) -> None:
    async with db.transaction() as session:
        await session.run_sync(lambda s: bump(s, [CATALOG]))


async def test_a_commit_is_in_every_process_before_the_writer_answers(
    processes: tuple[Database, Database],
) -> None:
    one, two = processes
    round_trips = source(two).round_trips
    for _ in range(20):
        before = (await two.stamps.read()).get(CATALOG, 0)
        await move_catalog(one)
        assert (await two.stamps.read()).get(CATALOG, 0) == before + 1  # from memory, already moved
        assert (await one.stamps.read()).get(CATALOG, 0) == before + 1
    assert source(two).round_trips == round_trips  # not one query for all those reads


async def test_a_writer_waits_for_a_slow_process(processes: tuple[Database, Database]) -> None:
    one, two = processes
    slow = source(two)
    handle = slow._on_stamp

    def later(*args: object) -> None:  # applies (and confirms) a notification 0.1 s late
        asyncio.get_running_loop().call_later(0.1, handle, *args)

    async with slow._lock:  # the connection is busy with one thing at a time
        await slow._conn.remove_listener(versions.STAMPS_CHANNEL, handle)  # type: ignore[union-attr]
        await slow._conn.add_listener(versions.STAMPS_CHANNEL, later)  # type: ignore[union-attr]
    before = (await two.stamps.read()).get(CATALOG, 0)
    await move_catalog(one)
    assert (await two.stamps.read()).get(CATALOG, 0) == before + 1


async def test_a_process_that_never_confirms_is_waited_for_once(
    processes: tuple[Database, Database],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(versions, "SEEN_WAIT_SECONDS", 0.3)
    one, two = processes
    ghost = await asyncpg.connect(
        plain_dsn(db_url), server_settings={"application_name": f"{LISTENER_PREFIX}ghost"}
    )  # looks like a listener, never listens
    try:
        with caplog.at_level(logging.WARNING, logger="models.versions"):
            await move_catalog(one)
            assert "ghost" in source(one)._lagging
            assert "did not confirm" in caplog.text
            caplog.clear()
            before = (await two.stamps.read()).get(CATALOG, 0)
            await move_catalog(one)  # not waited for again
            assert not caplog.text
            assert (await two.stamps.read()).get(CATALOG, 0) == before + 1  # the others still are
    finally:
        await ghost.close()


async def test_listeners_of_another_database_are_not_waited_for(
    processes: tuple[Database, Database], caplog: pytest.LogCaptureFixture
) -> None:
    one, _ = processes
    elsewhere = await asyncpg.connect(
        make_url(plain_dsn(one.url)).set(database="postgres").render_as_string(False),
        server_settings={"application_name": f"{LISTENER_PREFIX}elsewhere"},
    )
    try:
        with caplog.at_level(logging.WARNING, logger="models.versions"):
            await move_catalog(one)
        assert not caplog.text and "elsewhere" not in source(one)._lagging
    finally:
        await elsewhere.close()


async def test_a_quiet_or_lost_connection_reads_by_round_trip(
    processes: tuple[Database, Database],
) -> None:
    one, two = processes
    stamps = source(two)
    trips = stamps.round_trips
    await two.stamps.read()
    assert stamps.round_trips == trips
    stamps._heard_at = 0.0  # nothing heard for a long while: it may have stopped delivering
    await two.stamps.read()
    assert stamps.round_trips == trips + 1
    stamps._live = False  # as when the connection is seen closed
    before = (await two.stamps.read()).get(CATALOG, 0)
    assert stamps.round_trips == trips + 2 and stamps._live  # listening again
    await move_catalog(one)
    assert (await two.stamps.read()).get(CATALOG, 0) == before + 1
    assert stamps.round_trips == trips + 2


async def test_without_push_every_read_is_a_round_trip(db_url: str) -> None:
    db = Database(db_url, stamp_push=False)
    try:
        for _ in range(3):
            await db.stamps.read()
        assert source(db).round_trips == 3
        await move_catalog(db)  # no waiting for anyone
    finally:
        await db.dispose()
