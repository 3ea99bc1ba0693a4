"""A PostgreSQL connection that breaks while it opens is an outage, not a bug.

At a fast shutdown PostgreSQL sends every backend's client an unsolicited FATAL (57P01) and
closes the socket. A connection the pool has just opened can meet that FATAL before its
first statement, the session settings' SET (models/engine.py), which then fails inside the
driver with "another operation is in progress": no SQLSTATE, and outside the dialect that
would have called it a disconnect. A payment made during a restart got an internal error
for it (tests/test_outages.py, about 1 run in 30 under load); it must be a 503.

A TCP proxy in front of the test database plays that shutdown for every connection after
the first, which opens normally."""

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.engine import Database, database_unavailable

READY_FOR_QUERY_IDLE = b"Z\x00\x00\x00\x05I"
SHUTDOWN_FIELDS = (
    b"SFATAL\x00VFATAL\x00C57P01\x00Mterminating connection due to administrator command\x00\x00"
)
SHUTDOWN_FATAL = b"E" + struct.pack("!I", len(SHUTDOWN_FIELDS) + 4) + SHUTDOWN_FIELDS


class ShutdownProxy:
    """Forwards to PostgreSQL; from the second connection on, sends the shutdown FATAL
    right behind the startup's ReadyForQuery and closes a moment later, as PostgreSQL does."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.connections = 0
        self.shutting_down = True

    async def handle(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        self.connections += 1
        doomed = self.connections > 1 and self.shutting_down
        server, to_server = await asyncio.open_connection(*self.target)
        tasks = [
            asyncio.create_task(self._pump(client, to_server, doomed=False)),
            asyncio.create_task(self._pump(server, to_client, doomed=doomed)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        to_client.close()
        to_server.close()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, doomed: bool
    ) -> None:
        while data := await source.read(65536):
            if doomed and data.endswith(READY_FOR_QUERY_IDLE):
                sink.write(data + SHUTDOWN_FATAL)
                await sink.drain()
                await asyncio.sleep(0.3)
                return
            sink.write(data)
            await sink.drain()


@asynccontextmanager
async def shutdown_proxy(url: str) -> AsyncIterator[tuple[ShutdownProxy, str]]:
    target = make_url(url)
    proxy = ShutdownProxy(target.host or "127.0.0.1", target.port or 5432)
    listener = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield proxy, target.set(host="127.0.0.1", port=port).render_as_string(False)
    finally:
        listener.close()


async def test_a_connection_told_of_a_shutdown_as_it_opens_is_an_outage(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL's connections")
    async with shutdown_proxy(db.url) as (proxy, url):
        proxied = Database(url, stamp_push=False)
        try:
            async with proxied.reader() as first:
                await first.execute(text("SELECT 1"))
                with pytest.raises(Exception) as raised:
                    async with proxied.reader() as second:  # the pool opens another
                        await second.execute(text("SELECT 1"))
            assert database_unavailable(raised.value), repr(raised.value)

            proxy.shutting_down = False  # PostgreSQL is back: the pool serves again
            async with proxied.reader() as again, proxied.reader() as another:
                assert (await again.execute(text("SELECT 1"))).scalar_one() == 1
                assert (await another.execute(text("SELECT 2"))).scalar_one() == 2
        finally:
            await proxied.dispose()
