"""Races against a real server: many buyers paying at the same moment never oversell, orders
racing for overlapping products never deadlock, and concurrent duplicates of one idempotency
key charge once. PostgreSQL runs 4 worker processes on one database; SQLite one process.

The three races share one server per backend (starting one costs seconds); each checks only
the products and orders it made."""

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from models.engine import Database
from models.payments import PaymentTransaction
from resolvers.ids import decode_id
from tests.conftest import Api, Template, running_server
from tests.test_payments import codes, get_order, ledger, new_order, new_product, pay, stock

pytestmark = pytest.mark.slow
WORKERS = {"sqlite": 1, "postgres": 4}


async def test_races_against_a_real_server(db_url: str, backend: str, template: Template) -> None:
    db = Database(db_url)
    try:
        async with (
            running_server(db_url, workers=WORKERS[backend]) as server,
            httpx.AsyncClient(base_url=server.base, timeout=120) as http,
        ):
            api = Api(http, template)
            timings = [
                await n_units_many_buyers_exactly_n_paid(api, db),
                await overlapping_multi_line_orders_never_deadlock_or_oversell(api, db),
            ]
            await concurrent_duplicates_of_one_key_charge_once(api, db)
    finally:
        await db.dispose()
    print(f"\n{backend} ({WORKERS[backend]} worker(s)): " + "; ".join(timings))


async def transactions_by_status(db: Database, orders: list[dict[str, Any]]) -> Counter[str]:
    """The statuses of the payment transactions of these orders."""
    ids = [decode_id(o["id"], "Order") for o in orders]
    async with db.reader() as session:
        rows = await session.execute(
            select(PaymentTransaction.status, func.count())
            .where(PaymentTransaction.order_id.in_(ids))
            .group_by(PaymentTransaction.status)
        )
        return Counter({status: count for status, count in rows.all()})


async def n_units_many_buyers_exactly_n_paid(api: Api, db: Database) -> str:
    units, buyers = 10, 60
    product = await new_product(api, stock=units)
    orders = await asyncio.gather(*(new_order(api, [(product, 1)]) for _ in range(buyers)))
    started = time.monotonic()
    results = await asyncio.gather(*(pay(api, o["id"]) for o in orders))
    elapsed = time.monotonic() - started
    outcome = Counter(tuple(c for c, _ in codes(r)) for r in results)
    assert outcome == {(): units, ("INSUFFICIENT_STOCK",): buyers - units}, outcome
    assert await stock(api, product) == (units, 0, units)

    paid = {o["id"] for o, r in zip(orders, results, strict=True) if r["errors"] == []}
    entries = await ledger(api, product)
    assert entries[0] == ("INCREMENT", units, None)
    assert sorted(entries[1:]) == sorted(("ALLOCATE", 1, order) for order in paid)
    for order_id in list(paid)[:3]:
        assert (await get_order(api, order_id))["payment"] == "PAID"
    assert await transactions_by_status(db, orders) == {"SUCCEEDED": units}
    return f"{buyers} buyers for {units} units paid in {elapsed:.2f} s"


async def overlapping_multi_line_orders_never_deadlock_or_oversell(api: Api, db: Database) -> str:
    a, b, c = [await new_product(api, stock=10) for _ in range(3)]
    shapes = [
        [(a, 1), (b, 1)],
        [(b, 1), (a, 1)],
        [(b, 2), (c, 1)],
        [(c, 1), (b, 1)],
        [(c, 1), (a, 2)],
        [(a, 1), (c, 1)],
        [(c, 1), (b, 1), (a, 1)],
    ]
    wanted = [shapes[i % len(shapes)] for i in range(42)]
    orders = await asyncio.gather(*(new_order(api, lines) for lines in wanted))
    started = time.monotonic()
    results = await asyncio.gather(*(pay(api, o["id"]) for o in orders))
    elapsed = time.monotonic() - started

    assert {c for r in results for c, _ in codes(r)} <= {"INSUFFICIENT_STOCK"}
    held: Counter[str] = Counter()
    for lines, result in zip(wanted, results, strict=True):
        if result["errors"] == []:
            held.update({product: quantity for product, quantity in lines})
    assert 0 < sum(1 for r in results if r["errors"] == []) < len(orders)
    for product in (a, b, c):
        total, available, allocated = await stock(api, product)
        assert allocated == held[product] <= total == 10
        assert available == total - allocated
    statuses = await transactions_by_status(db, orders)
    assert set(statuses) == {"SUCCEEDED"}
    return f"{len(orders)} overlapping multi-line orders settled in {elapsed:.2f} s"


async def concurrent_duplicates_of_one_key_charge_once(api: Api, db: Database) -> None:
    product = await new_product(api, stock=3)
    order = await new_order(api, [(product, 2)])
    other = await new_order(api, [(product, 1)])

    async def attempt(i: int) -> dict[str, Any]:
        if i % 4 == 3:  # the same key for another order is a different request
            return await pay(api, other["id"], key="one-click")
        return await pay(api, order["id"], key="one-click")

    results = await asyncio.gather(*(attempt(i) for i in range(16)))
    same = [r for i, r in enumerate(results) if i % 4 != 3]
    reused = [r for i, r in enumerate(results) if i % 4 == 3]
    winner_is_first_order = all(r["errors"] == [] for r in same)
    if winner_is_first_order:
        assert len({r["transaction"]["id"] for r in same}) == 1
        assert all(
            codes(r) == [("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])] for r in reused
        )
        assert await stock(api, product) == (3, 1, 2)
    else:  # the other order's request claimed the key first
        assert len({r["transaction"]["id"] for r in reused}) == 1
        assert all(codes(r)[0][0] == "IDEMPOTENCY_KEY_REUSED" for r in same)
        assert await stock(api, product) == (3, 2, 1)
    assert await transactions_by_status(db, [order, other]) == {"SUCCEEDED": 1}
