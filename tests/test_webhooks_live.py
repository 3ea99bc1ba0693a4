"""Webhooks from real server processes (the delivery worker as each process runs it) to a real
local HTTP receiver: nothing committed is lost across a SIGKILL, and several processes deliver
together without sending one event twice."""

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import Api, Template, running_server
from tests.test_payments import new_order, new_product, pay
from tests.webhook_helpers import Receiver, create_webhook, receiving

pytestmark = pytest.mark.slow

FAST = {
    "STOCKROOM_WEBHOOK_BACKOFF_BASE_SECONDS": "0.2",
    "STOCKROOM_WEBHOOK_BACKOFF_MAX_SECONDS": "0.5",
    "STOCKROOM_WEBHOOK_POLL_INTERVAL_SECONDS": "0.2",
}


async def wait_for(done: Any, seconds: float = 90) -> None:
    """Poll `done()` until it holds; fail after `seconds` (a bound, not a measurement)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out waiting for deliveries"
        await asyncio.sleep(0.1)


def delivered_after(receiver: Receiver, start: int) -> list[dict[str, Any]]:
    with receiver.lock:
        return [r.message for r in receiver.received[start:]]


async def test_events_committed_before_a_kill_all_arrive_after_the_restart(
    db_url: str, template: Template
) -> None:
    with receiving() as receiver:
        receiver.answer = lambda _: 503  # the endpoint is down
        orders: list[str] = []
        with contextlib.suppress(ProcessLookupError):  # its exit: the process is already gone
            async with (
                running_server(db_url, **FAST) as doomed,
                httpx.AsyncClient(base_url=doomed.base, timeout=60) as http,
            ):
                api = Api(http, template)
                hook = await create_webhook(api, receiver.url, ["ORDER_CREATED", "ORDER_PAID"])
                product = await new_product(api, stock=50)
                for _ in range(5):
                    order = await new_order(api, [(product, 1)])
                    await pay(api, order["id"])
                    orders.append(order["id"])
                await wait_for(lambda: len(receiver.received) >= 2)  # tried, and failed
                os.kill(doomed.process.pid, signal.SIGKILL)
                await doomed.process.wait()
        with receiver.lock:
            start = len(receiver.received)
        receiver.answer = lambda _: 200  # the endpoint is back
        async with running_server(db_url, **FAST):
            await wait_for(lambda: len(delivered_after(receiver, start)) >= 10)
            await asyncio.sleep(1)  # nothing more should come
    bodies = delivered_after(receiver, start)
    assert Counter((b["data"]["id"], b["type"]) for b in bodies) == {
        (o, t): 1 for o in orders for t in ("order.created", "order.paid")
    }
    for order_id in orders:  # each order's events in their order
        assert [b["sequence"] for b in bodies if b["data"]["id"] == order_id] == [1, 2]
    assert all(r.message["id"] for r in receiver.received) and hook["secret"]


async def test_several_processes_send_each_event_once(
    db_url: str, backend: str, template: Template
) -> None:
    count = 30
    with receiving() as receiver:
        async with (
            running_server(db_url, workers=2, **FAST) as server,
            httpx.AsyncClient(base_url=server.base, timeout=60) as http,
        ):
            api = Api(http, template)
            hook = await create_webhook(api, receiver.url, ["PRODUCT_CREATED"])
            started = time.monotonic()
            await asyncio.gather(*(new_product(api, stock=None) for _ in range(count)))
            await wait_for(lambda: len(receiver.received) >= count)
            seconds = time.monotonic() - started
            await asyncio.sleep(1)  # a second send would come now
        bodies = receiver.verified(hook["secret"])
    assert len(bodies) == count
    assert len({b["id"] for b in bodies}) == count
    print(
        f"\n{backend}, 2 processes: {count} products created and their events delivered "
        f"in {seconds:.2f} s ({count / seconds:.0f} events/s end to end)"
    )
