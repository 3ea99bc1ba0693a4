"""The PostgreSQL version-stamp reader under a broken connection: the read reconnects once,
and a read the database cannot answer is an outage (503 SERVICE_UNAVAILABLE), never an
internal error or a request left waiting forever."""

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from models.engine import database_unavailable
from models.versions import PostgresStamps, StampsUnavailable


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("push", [True, False], ids=["pushed", "read"])
async def test_a_killed_stamp_connection_is_replaced_within_the_read(
    db_url: str, push: bool
) -> None:
    stamps = PostgresStamps(plain_dsn(db_url), push)
    try:
        first = await stamps.read()
        assert first  # the migrated database has its stamp rows
        pid = stamps._conn.get_server_pid() if stamps._conn else None
        assert pid is not None
        killer = await asyncpg.connect(plain_dsn(db_url))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        if push:  # pushed stamps are dropped as soon as the connection is seen closed
            for _ in range(500):
                if not stamps._live:
                    break
                await asyncio.sleep(0.01)
            assert not stamps._live
        assert await asyncio.wait_for(stamps.read(), timeout=10) == first
        assert stamps._conn is not None and stamps._conn.get_server_pid() != pid
    finally:
        await stamps.close()


async def test_an_unreachable_database_is_an_outage_for_every_waiting_reader() -> None:
    stamps = PostgresStamps("postgresql://postgres@127.0.0.1:1/nowhere")
    results = await asyncio.wait_for(
        asyncio.gather(*(stamps.read() for _ in range(5)), return_exceptions=True), timeout=30
    )
    assert all(isinstance(r, StampsUnavailable) for r in results), results
    assert all(database_unavailable(r) for r in results if isinstance(r, BaseException))
