"""On SQLite a server process runs at most `sqlite_query_slots` queries at once (the others
wait their turn; transport/http.py): every query still answers, and no more run together."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from models.settings import Settings
from resolvers.context import Context
from server import create_app
from tests.conftest import Template

LISTING = "{ products(first: 5) { edges { node { sku } } } }"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_queries_take_turns_on_sqlite(
    settings: Settings, template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, peak = 0, 0
    share = Context.sharing_reads
    three_ran = asyncio.Event()

    @asynccontextmanager
    async def counted(self: Context) -> AsyncIterator[None]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running >= 3:
            three_ran.set()
        try:
            async with share(self):
                # hold the turn, as a slow query would: long enough for the other requests
                # to arrive even on a loaded machine (a third running would end it at once)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(three_ran.wait(), timeout=0.3)
                yield
        finally:
            running -= 1

    monkeypatch.setattr(Context, "sharing_reads", counted)
    app = create_app(settings.model_copy(update={"sqlite_query_slots": 2}))
    headers = {"Authorization": f"Bearer {template.storefront_token}"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/graphql", json={"query": LISTING}, headers=headers)
                    for _ in range(8)
                )
            )
    finally:
        await app.state.db.dispose()
    assert all(a.status_code == 200 and "errors" not in a.json() for a in answers)
    assert peak == 2
