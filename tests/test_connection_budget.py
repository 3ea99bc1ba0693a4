"""A server's processes together hold at most STOCKROOM_DATABASE_MAX_CONNECTIONS PostgreSQL
connections, however many requests arrive at once: a request finding its process's pool busy
waits for a connection instead of opening another.

Each process used to pool 10 connections with 30 more on demand: 4 workers under a burst of
orders could ask for 160, past PostgreSQL's max_connections (100 by default, shared with
everything else on the server), and orders failed with "sorry, too many clients already"
(tests/test_races.py, now and then). Here 3 workers with a budget of 12 (a pool of 2 each, beside
its stamp and event-listener connections) take 60 concurrent
orders while the test watches pg_stat_activity from another database."""

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from tests.conftest import PG_URL, Api, Template, _plain_pg_dsn, running_server
from tests.test_payments import new_order, new_product

pytestmark = pytest.mark.slow
WORKERS, BUDGET, ORDERS = 3, 12, 60


class Watcher:
    """Samples how many connections the database has until stopped; keeps the peak."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.peak = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        conn = await asyncpg.connect(_plain_pg_dsn(PG_URL), timeout=5)  # the "postgres" db
        try:
            while not self._stop.is_set():
                count = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", self.database
                )
                self.peak = max(self.peak, int(count))
                await asyncio.sleep(0.005)
        finally:
            await conn.close()

    def stop(self) -> None:
        self._stop.set()


async def test_a_burst_of_orders_stays_within_the_connection_budget(
    db_url: str, backend: str, template: Template
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite has no connections to count")
    env = {"STOCKROOM_DATABASE_MAX_CONNECTIONS": str(BUDGET)}
    async with (
        running_server(db_url, workers=WORKERS, **env) as server,
        httpx.AsyncClient(base_url=server.base, timeout=120) as http,
    ):
        api = Api(http, template)
        product = await new_product(api, stock=ORDERS)
        watcher = Watcher(str(make_url(db_url).database))
        watching = asyncio.create_task(watcher.run())
        try:
            results = await asyncio.gather(
                *(new_order(api, [(product, 1)]) for _ in range(ORDERS)), return_exceptions=True
            )
        finally:
            watcher.stop()
            await watching
        failures: Counter[str] = Counter(str(r)[:200] for r in results if not _an_order(r))
        assert failures == Counter(), server.output()[-3000:]
        assert len({r["id"] for r in results}) == ORDERS  # type: ignore[index]
    assert 0 < watcher.peak <= BUDGET, watcher.peak


def _an_order(result: Any) -> bool:
    return isinstance(result, dict) and "id" in result
