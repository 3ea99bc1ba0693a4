"""Reservations in real server processes (API.md section 11): the sweeps run as the servers'
background jobs. Several processes share one database (PostgreSQL: 3, SQLite: 2) and release
every hold exactly once; a server killed with SIGKILL while holding reservations loses
nothing, and the restarted server releases them.

Nothing here asserts a duration: the lag between `reservedUntil` and the release is printed
(the issue note reports it)."""

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.cart_helpers import add
from tests.conftest import Api, Template, running_server
from tests.test_payments import codes, ledger, new_product, pay
from tests.test_reservations import BUYER, CHECKOUT, stock

pytestmark = pytest.mark.slow
WORKERS = {"sqlite": 2, "postgres": 3}
HOLD_SECONDS = 15
"""Long enough for the 40-buyer race, and the 30 checkouts paid within their holds, to end
before any hold is released, even on a loaded 2-core CI machine (6 s failed there twice)."""
SETTINGS = {
    "STOCKROOM_RESERVATION_SECONDS": str(HOLD_SECONDS),
    "STOCKROOM_RESERVATION_SWEEP_INTERVAL_SECONDS": "0.2",
}
EVENTS = "query($id: ID!) { order(id: $id) { payment reservedUntil events { at type } } }"


async def filled_cart(api: Api, product: str, quantity: int = 1) -> str:
    reference = f"live-{uuid.uuid4().hex}"
    assert (await add(api, reference, product, quantity))["errors"] == []
    return reference


async def checkout(api: Api, reference: str) -> dict[str, Any]:
    result = await api.storefront(CHECKOUT, {"reference": reference, "input": BUYER})
    return dict(result["cartCheckout"])


async def checkout_one(api: Api, product: str, quantity: int = 1) -> dict[str, Any]:
    return await checkout(api, await filled_cart(api, product, quantity))


async def wait_until_released(api: Api, products: list[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while any([(await stock(api, p))[3] for p in products]):
        assert time.monotonic() < deadline, "holds were not released"
        await asyncio.sleep(0.2)


async def release_lags(api: Api, orders: list[dict[str, Any]]) -> list[float]:
    """For each order: one `reservation_released` event, and how long after `reservedUntil`."""
    lags = []
    for order in orders:
        now = (await api.admin(EVENTS, {"id": order["id"]}))["order"]
        released = [e for e in now["events"] if e["type"] == "reservation_released"]
        assert len(released) == 1 and now["reservedUntil"] is None, now
        held_until = datetime.fromisoformat(order["reservedUntil"])
        lags.append((datetime.fromisoformat(released[0]["at"]) - held_until).total_seconds())
    return lags


async def test_many_processes_release_each_hold_once(
    db_url: str, backend: str, template: Template
) -> None:
    workers = WORKERS[backend]
    async with (
        running_server(db_url, workers=workers, **SETTINGS) as server,
        httpx.AsyncClient(base_url=server.base, timeout=120) as http,
    ):
        api = Api(http, template)
        scarce = await new_product(api, stock=10)
        # every cart is filled first (a cart add checks the available stock, which the first
        # checkouts' holds would take), then the 40 checkouts race
        carts = await asyncio.gather(*(filled_cart(api, scarce) for _ in range(40)))
        started = time.monotonic()
        race = await asyncio.gather(*(checkout(api, reference) for reference in carts))
        race_seconds = time.monotonic() - started
        outcome = Counter(tuple(c for c, _ in codes(r)) for r in race)
        assert outcome == {(): 10, ("INSUFFICIENT_STOCK",): 30}, outcome
        assert await stock(api, scarce) in {(10, 0, 10, 10), (10, 10, 0, 0)}  # or already swept

        products = [await new_product(api, stock=20) for _ in range(3)]
        placed = await asyncio.gather(
            *(checkout_one(api, products[i % 3], 1 + i % 2) for i in range(30))
        )
        orders = [r["order"] for r in placed]
        assert all(r["errors"] == [] for r in placed)
        paying = orders[::3]
        paid = await asyncio.gather(*(pay(api, o["id"]) for o in paying))
        assert all(r["errors"] == [] for r in paid)  # within the hold: never short of stock
        paid_ids = {o["id"] for o in paying}

        await wait_until_released(api, [scarce, *products])
        unpaid = [o for o in orders if o["id"] not in paid_ids]
        lags = await release_lags(api, unpaid + [r["order"] for r in race if r["order"]])
        for product in products:
            entries = await ledger(api, product)
            allocations = Counter(e[2] for e in entries if e[0] == "ALLOCATE")
            releases = Counter(e[2] for e in entries if e[0] == "DEALLOCATE")
            assert all(releases[o] == 1 for o in allocations if o not in paid_ids)
            assert all(releases[o] == 0 for o in allocations if o in paid_ids)
            # a payment that lost to the release allocated afresh: once more
            assert all(allocations[o] in (1, 2) for o in allocations)
            total, available, allocated, reserved = await stock(api, product)
            held = sum(
                1 + i % 2
                for i, o in enumerate(orders)
                if o["id"] in paid_ids and i % 3 == products.index(product)
            )
            assert (total, available, allocated, reserved) == (20, 20 - held, held, 0)
        assert await stock(api, scarce) == (10, 10, 0, 0)
    print(
        f"\n{backend} ({workers} processes): 40 checkouts for 10 units in {race_seconds:.2f} s; "
        f"{len(lags)} holds released {min(lags):.2f}-{max(lags):.2f} s after reservedUntil"
    )


async def test_holds_survive_a_killed_server(db_url: str, backend: str, template: Template) -> None:
    product: str
    orders: list[dict[str, Any]]
    with contextlib.suppress(ProcessLookupError):  # its exit: the process is already gone
        async with (
            running_server(db_url, **SETTINGS) as doomed,
            httpx.AsyncClient(base_url=doomed.base, timeout=60) as http,
        ):
            api = Api(http, template)
            product = await new_product(api, stock=5)
            orders = [(await checkout_one(api, product))["order"] for _ in range(5)]
            assert await stock(api, product) == (5, 0, 5, 5)
            os.kill(doomed.process.pid, signal.SIGKILL)
            await doomed.process.wait()
    async with (
        running_server(db_url, **SETTINGS) as server,
        httpx.AsyncClient(base_url=server.base, timeout=60) as http,
    ):
        api = Api(http, template)
        await wait_until_released(api, [product])
        lags = await release_lags(api, orders)
        assert await stock(api, product) == (5, 5, 0, 0)
        entries = await ledger(api, product)
        assert Counter(e[2] for e in entries if e[0] == "DEALLOCATE") == {
            o["id"]: 1 for o in orders
        }
    print(f"\n{backend}: after SIGKILL, 5 holds released {max(lags):.2f} s after reservedUntil")
