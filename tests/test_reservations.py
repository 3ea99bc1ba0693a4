"""Stock reservation at checkout and unpaid-order expiry (API.md section 11), on both backends.

The app here runs in-process without its background jobs; the tests run the sweeps themselves
with a `now` of their choosing (no waiting, no timed asserts). tests/test_reservations_live.py
runs them in real server processes.
"""

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.payments import sweep_stale_payments
from domain.reservations import expire_unpaid, release_due
from models.engine import Database
from models.settings import Settings
from tests.cart_helpers import ADDRESS, add
from tests.conftest import Api
from tests.promotion_helpers import apply as apply_code
from tests.promotion_helpers import create_promotion, promotion
from tests.test_payments import (
    DECLINED,
    PAY,
    VISA,
    LostAnswerGateway,
    codes,
    ledger,
    new_product,
    pay,
    plugins,  # noqa: F401 (a fixture)
)
from tests.test_payments import _seed as ensure_seeded

HOLD_SECONDS = 600
ORDER = """
  id status payment reservedUntil
  items { quantity }
  events { type message }
"""
CHECKOUT = f"""
mutation($reference: String!, $input: CheckoutInput!) {{
  cartCheckout(reference: $reference, input: $input) {{
    order {{ {ORDER} }} errors {{ code field message }}
  }}
}}"""
ORDER_CREATE = f"""
mutation($input: OrderCreateInput!) {{
  orderCreate(input: $input) {{ order {{ {ORDER} }} errors {{ code field message }} }}
}}"""
GET_ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"
CANCEL = f"""
mutation($id: ID!) {{ orderCancel(id: $id) {{ order {{ {ORDER} }} errors {{ code field message }} }} }}"""
STOCK = "query($id: ID!) { product(id: $id) { stock { total available allocated reserved } } }"
BUYER = {"customer": {"email": "buyer@example.com", "name": "Buyer"}, "billingAddress": ADDRESS}


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Reservation on (10 minutes); the sweeps are run by the tests."""
    return Settings(database_url=db_url, log_level="WARNING", reservation_seconds=HOLD_SECONDS)


async def stock(api: Api, product: str) -> tuple[int, int, int, int]:
    """(total, available, allocated, reserved)."""
    figures = (await api.admin(STOCK, {"id": product}))["product"]["stock"]
    return figures["total"], figures["available"], figures["allocated"], figures["reserved"]


async def try_checkout(api: Api, reference: str, product: str, quantity: int = 1) -> Any:
    assert (await add(api, reference, product, quantity))["errors"] == []
    body = await api.storefront(CHECKOUT, {"reference": reference, "input": BUYER})
    return body["cartCheckout"]


async def held_order(api: Api, product: str, quantity: int = 1) -> dict[str, Any]:
    """A checked-out order holding `quantity` units of `product`."""
    result = await try_checkout(api, f"cart-{time.monotonic_ns()}", product, quantity)
    assert result["errors"] == [], result
    assert result["order"]["reservedUntil"] is not None
    return dict(result["order"])


async def get_order(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.admin(GET_ORDER, {"id": order_id}))["order"])


def until(order: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(order["reservedUntil"])


def after_hold(order: dict[str, Any]) -> datetime:
    """A moment just after the order's hold ends."""
    return until(order) + timedelta(seconds=1)


def event_types(order: dict[str, Any]) -> list[str]:
    return [e["type"] for e in order["events"]]


# --- checkout and orderCreate hold stock ---------------------------------------------------


async def test_checkout_race_exactly_the_units_in_stock_are_held(api: Api, backend: str) -> None:
    units, buyers = 10, 40
    product = await new_product(api, stock=units)
    for i in range(buyers):
        assert (await add(api, f"race-{i}", product))["errors"] == []
    started = time.monotonic()
    results = await asyncio.gather(
        *(
            api.storefront(CHECKOUT, {"reference": f"race-{i}", "input": BUYER})
            for i in range(buyers)
        )
    )
    elapsed = time.monotonic() - started
    outcomes = Counter(tuple(c for c, _ in codes(r["cartCheckout"])) for r in results)
    assert outcomes == {(): units, ("INSUFFICIENT_STOCK",): buyers - units}, outcomes
    placed = [r["cartCheckout"]["order"] for r in results if r["cartCheckout"]["order"]]
    assert all(o["reservedUntil"] is not None for o in placed)
    assert await stock(api, product) == (units, 0, units, units)
    entries = await ledger(api, product)
    assert sorted(entries[1:]) == sorted(("ALLOCATE", 1, o["id"]) for o in placed)
    failed = [r["cartCheckout"] for r in results if not r["cartCheckout"]["order"]]
    assert all(f["errors"][0]["field"] == ["reference"] for f in failed)
    print(f"\n{backend}: {buyers} checkouts for {units} units held in {elapsed:.2f} s")


async def test_a_failed_hold_leaves_no_trace(api: Api) -> None:
    plenty, scarce = await new_product(api, stock=5), await new_product(api, stock=1)
    reference = "two-lines"
    assert (await add(api, reference, plenty, 2))["errors"] == []
    assert (await add(api, reference, scarce, 1))["errors"] == []
    await held_order(api, scarce)  # someone else holds the last unit
    result = (await api.storefront(CHECKOUT, {"reference": reference, "input": BUYER}))[
        "cartCheckout"
    ]
    assert result["order"] is None
    assert codes(result) == [("INSUFFICIENT_STOCK", ["reference"])]
    assert await stock(api, plenty) == (5, 5, 0, 0)  # its allocation was rolled back
    assert [e[0] for e in await ledger(api, plenty)] == ["INCREMENT"]
    cart = await api.storefront(
        "query($r: String!) { cart(reference: $r) { itemCount } }", {"r": reference}
    )
    assert cart["cart"]["itemCount"] == 3  # the cart is kept


async def test_order_create_holds_and_points_at_the_item(api: Api) -> None:
    managed, unmanaged = await new_product(api, stock=2), await new_product(api, stock=None)

    async def create(items: list[dict[str, Any]]) -> Any:
        return (await api.admin(ORDER_CREATE, {"input": {**BUYER, "items": items}}))["orderCreate"]

    made = await create(
        [{"productId": unmanaged, "quantity": 3}, {"productId": managed, "quantity": 2}]
    )
    assert made["errors"] == [] and made["order"]["reservedUntil"] is not None
    assert await stock(api, managed) == (2, 0, 2, 2)
    refused = await create(
        [{"productId": unmanaged, "quantity": 1}, {"productId": managed, "quantity": 1}]
    )
    assert codes(refused) == [("INSUFFICIENT_STOCK", ["input", "items", "1"])]
    assert "only 0 of" in refused["errors"][0]["message"]
    nothing_managed = await create([{"productId": unmanaged, "quantity": 1}])
    assert nothing_managed["errors"] == [] and nothing_managed["order"]["reservedUntil"] is None


# --- paying within the hold ------------------------------------------------------------------


async def test_pay_within_the_hold_uses_the_held_units(api: Api, db: Database) -> None:
    product = await new_product(api, stock=1)
    order = await held_order(api, product)
    assert await stock(api, product) == (1, 0, 1, 1)  # nothing available: pay uses the hold
    paid = await pay(api, order["id"])
    assert paid["errors"] == [] and paid["order"]["payment"] == "PAID"
    assert await stock(api, product) == (1, 0, 1, 0)
    assert (await get_order(api, order["id"]))["reservedUntil"] is None
    assert await ledger(api, product) == [("INCREMENT", 1, None), ("ALLOCATE", 1, order["id"])]
    assert await release_due(db, after_hold(order)) == 0  # the payment took the hold over


async def test_a_decline_keeps_the_hold(api: Api, db: Database) -> None:
    product = await new_product(api, stock=1)
    order = await held_order(api, product)
    declined = await pay(api, order["id"], card=DECLINED)
    assert codes(declined) == [("PAYMENT_DECLINED", None)]
    kept = await get_order(api, order["id"])
    assert kept["reservedUntil"] == order["reservedUntil"] and kept["payment"] == "UNPAID"
    assert await stock(api, product) == (1, 0, 1, 1)
    assert [e[0] for e in await ledger(api, product)] == ["INCREMENT", "ALLOCATE"]
    assert (await pay(api, order["id"]))["errors"] == []  # the retry still has its unit
    assert await stock(api, product) == (1, 0, 1, 0)
    assert await release_due(db, after_hold(order)) == 0


async def test_a_lapsed_hold_is_released_once_and_a_later_payment_allocates_afresh(
    api: Api, db: Database
) -> None:
    product = await new_product(api, stock=2)
    order = await held_order(api, product, 2)
    assert await release_due(db, until(order) - timedelta(seconds=1)) == 0  # not due yet
    assert await release_due(db, after_hold(order)) == 1
    assert await release_due(db, after_hold(order)) == 0  # exactly once
    released = await get_order(api, order["id"])
    assert released["reservedUntil"] is None and released["payment"] == "UNPAID"
    assert event_types(released) == ["created", "reservation_released"]
    assert await stock(api, product) == (2, 2, 0, 0)
    paid = await pay(api, order["id"])
    assert paid["errors"] == []
    assert await stock(api, product) == (2, 0, 2, 0)
    assert await ledger(api, product) == [
        ("INCREMENT", 2, None),
        ("ALLOCATE", 2, order["id"]),
        ("DEALLOCATE", 2, order["id"]),
        ("ALLOCATE", 2, order["id"]),
    ]


async def test_a_lapsed_hold_whose_units_were_sold_cannot_be_paid(api: Api, db: Database) -> None:
    product = await new_product(api, stock=1)
    slow = await held_order(api, product)
    assert await release_due(db, after_hold(slow)) == 1
    fast = await held_order(api, product)
    assert (await pay(api, fast["id"]))["errors"] == []
    assert codes(await pay(api, slow["id"])) == [("INSUFFICIENT_STOCK", ["orderId"])]
    assert await stock(api, product) == (1, 0, 1, 0)


async def test_a_decline_after_the_hold_lapsed_gives_the_units_back_at_the_next_sweep(
    api: Api, db: Database
) -> None:
    product = await new_product(api, stock=1)
    order = await held_order(api, product)
    assert codes(await pay(api, order["id"], card=DECLINED)) == [("PAYMENT_DECLINED", None)]
    assert await release_due(db, after_hold(order)) == 1
    assert await stock(api, product) == (1, 1, 0, 0)


async def test_release_and_payment_racing_exactly_one_wins(api: Api, db: Database) -> None:
    rounds = 15
    product = await new_product(api, stock=rounds)
    won: Counter[str] = Counter()
    for round_ in range(rounds):
        order = await held_order(api, product)

        async def pay_soon(delay: float, order_id: str = order["id"]) -> dict[str, Any]:
            await asyncio.sleep(delay)  # staggered, so that either side gets there first
            return await pay(api, order_id)

        released, paid = await asyncio.gather(
            release_due(db, after_hold(order)), pay_soon(0.003 * (round_ % 5))
        )
        assert paid["errors"] == [], paid  # either it used the hold or allocated afresh
        entries = [e[0] for e in await ledger(api, product) if e[2] == order["id"]]
        if released:
            won["release"] += 1
            assert entries == ["ALLOCATE", "DEALLOCATE", "ALLOCATE"]
        else:
            won["payment"] += 1
            assert entries == ["ALLOCATE"]
        assert await release_due(db, after_hold(order)) == 0
    assert await stock(api, product) == (rounds, 0, rounds, 0)
    print(f"\nrelease vs payment over {rounds} rounds: {dict(won)}")


# --- cancelling a held order -----------------------------------------------------------------


async def test_order_cancel_releases_the_hold_once(api: Api, db: Database) -> None:
    product = await new_product(api, stock=3)
    order = await held_order(api, product, 3)
    cancelled = (await api.admin(CANCEL, {"id": order["id"]}))["orderCancel"]
    assert cancelled["errors"] == [] and cancelled["order"]["reservedUntil"] is None
    assert await stock(api, product) == (3, 3, 0, 0)
    assert await release_due(db, after_hold(order)) == 0
    assert await expire_unpaid(db, timedelta(0), after_hold(order)) == 0
    assert [e[0] for e in await ledger(api, product)] == ["INCREMENT", "ALLOCATE", "DEALLOCATE"]


async def test_a_voided_authorization_of_a_held_order_releases_once(api: Api, db: Database) -> None:
    product = await new_product(api, stock=2)
    order = await held_order(api, product, 2)
    authorized = await pay(api, order["id"], gateway="manual", method="AUTHORIZE", card=None)
    assert authorized["errors"] == [] and authorized["order"]["payment"] == "AUTHORIZED"
    assert await stock(api, product) == (2, 0, 2, 0)
    voided = (
        await api.admin(
            """mutation($o: ID!, $t: ID!) { transactionCancel(orderId: $o, transactionId: $t) {
                order { payment reservedUntil } errors { code } } }""",
            {"o": order["id"], "t": authorized["transaction"]["id"]},
        )
    )["transactionCancel"]
    assert voided["errors"] == [] and voided["order"] == {
        "payment": "UNPAID",
        "reservedUntil": None,
    }
    assert await stock(api, product) == (2, 2, 0, 0)
    assert await release_due(db, after_hold(order)) == 0
    assert [e[0] for e in await ledger(api, product)] == ["INCREMENT", "ALLOCATE", "DEALLOCATE"]


# --- unpaid-order expiry -------------------------------------------------------------------


async def test_unpaid_orders_expire_once_as_a_cancellation(api: Api, db: Database) -> None:
    product = await new_product(api, stock=4)
    held, paid = await held_order(api, product, 1), await held_order(api, product, 1)
    assert (await pay(api, paid["id"]))["errors"] == []
    age = timedelta(hours=1)
    soon = datetime.fromisoformat(held["reservedUntil"]) - timedelta(seconds=HOLD_SECONDS)
    assert await expire_unpaid(db, age, soon) == 0  # not old enough yet
    later = soon + age + timedelta(seconds=5)
    assert await expire_unpaid(db, age, later) == 1
    assert await expire_unpaid(db, age, later) == 0  # exactly once
    expired = await get_order(api, held["id"])
    assert expired["status"] == "CANCELLED" and expired["reservedUntil"] is None
    assert event_types(expired) == ["created", "expired"]
    assert "unpaid" in expired["events"][-1]["message"]
    assert (await get_order(api, paid["id"]))["status"] == "COMPLETE"
    assert await stock(api, product) == (4, 3, 1, 0)
    assert [e for e in await ledger(api, product) if e[2] == held["id"]] == [
        ("ALLOCATE", 1, held["id"]),
        ("DEALLOCATE", 1, held["id"]),
    ]
    cancel_again = (await api.admin(CANCEL, {"id": held["id"]}))["orderCancel"]
    assert codes(cancel_again)[0][0] == "INVALID_TRANSITION"


async def test_expiry_sweeps_in_parallel_expire_each_order_once(api: Api, db: Database) -> None:
    product = await new_product(api, stock=12)
    placed = [await held_order(api, product) for _ in range(12)]
    later = until(placed[-1]) + timedelta(hours=1)
    counts = await asyncio.gather(*(expire_unpaid(db, timedelta(0), later) for _ in range(4)))
    assert sum(counts) == 12
    assert await stock(api, product) == (12, 12, 0, 0)
    for order in placed[:3]:
        assert event_types(await get_order(api, order["id"])) == ["created", "expired"]
    deallocations = Counter(e[2] for e in await ledger(api, product) if e[0] == "DEALLOCATE")
    assert deallocations == {o["id"]: 1 for o in placed}


async def test_release_sweeps_in_parallel_release_each_hold_once(api: Api, db: Database) -> None:
    products = [await new_product(api, stock=10) for _ in range(3)]
    placed = [await held_order(api, products[i % 3], 1 + i % 2) for i in range(15)]
    later = max(map(after_hold, placed))
    counts = await asyncio.gather(*(release_due(db, later) for _ in range(4)))
    assert sum(counts) == 15
    for product in products:
        assert await stock(api, product) == (10, 10, 0, 0)
        entries = await ledger(api, product)
        assert Counter(e[2] for e in entries if e[0] == "DEALLOCATE") == Counter(
            e[2] for e in entries if e[0] == "ALLOCATE"
        )


# --- a payment whose gateway answer was lost ---------------------------------------------


@pytest.mark.usefixtures("plugins")
async def test_a_lost_payment_gives_its_hold_back_and_the_sweep_releases_it(
    api: Api, db: Database
) -> None:
    """The gateway's answer never arrives: the payment had taken the hold over; when the
    stale-payment sweep gives up on it, the hold goes back to the order until its original
    time, and the release sweep frees the units then (once)."""
    await ensure_seeded(db)
    LostAnswerGateway.knows = False
    product = await new_product(api, stock=2)
    order = await held_order(api, product, 2)
    payment = {"gateway": "flaky", "method": "PURCHASE", "card": VISA}
    await api.post(PAY, {"order": order["id"], "input": payment}, as_="storefront")
    assert await stock(api, product) == (2, 0, 2, 0)  # in flight: the payment's units
    assert await release_due(db, after_hold(order)) == 0  # the sweep cannot take them
    assert await sweep_stale_payments(db, timedelta(0)) == 1
    assert (await get_order(api, order["id"]))["reservedUntil"] == order["reservedUntil"]
    assert await stock(api, product) == (2, 0, 2, 2)
    assert await release_due(db, after_hold(order)) == 1
    assert await stock(api, product) == (2, 2, 0, 0)
    assert [e[0] for e in await ledger(api, product)] == ["INCREMENT", "ALLOCATE", "DEALLOCATE"]


@pytest.mark.usefixtures("plugins")
async def test_a_held_order_cancelled_while_its_payment_is_in_flight_releases_once(
    api: Api, db: Database
) -> None:
    await ensure_seeded(db)
    LostAnswerGateway.knows, LostAnswerGateway.refunded = True, []
    product = await new_product(api, stock=2)
    order = await held_order(api, product, 2)
    payment = {"gateway": "flaky", "method": "PURCHASE", "card": VISA}
    await api.post(PAY, {"order": order["id"], "input": payment}, as_="storefront")
    assert (await api.admin(CANCEL, {"id": order["id"]}))["orderCancel"]["errors"] == []
    assert await stock(api, product) == (2, 0, 2, 0)  # still the payment's
    assert await sweep_stale_payments(db, timedelta(0)) == 1
    assert LostAnswerGateway.refunded == ["found"]  # the order could not take the charge
    assert await stock(api, product) == (2, 2, 0, 0)
    assert await release_due(db, after_hold(order)) == 0
    assert [e[0] for e in await ledger(api, product)] == ["INCREMENT", "ALLOCATE", "DEALLOCATE"]


async def test_an_expired_order_gives_its_promotion_use_back_and_its_hold(
    api: Api, db: Database
) -> None:
    """Exactly once: a paid order's use stays counted, and neither a second sweep nor a cancel
    after the expiry gives the expired order's use back again."""
    product = await new_product(api, stock=2)
    made = await create_promotion(api, code="TWICE", kind="PERCENT_OFF", value=10, usageLimit=2)
    placed = []
    for reference in ("paid-cart", "promo-cart"):
        assert (await add(api, reference, product))["errors"] == []
        assert (await apply_code(api, reference, "TWICE"))["errors"] == []
        body = await api.storefront(CHECKOUT, {"reference": reference, "input": BUYER})
        placed.append(body["cartCheckout"]["order"])
    paid, order = placed
    assert (await pay(api, paid["id"], gateway="manual", card=None, as_="admin"))["errors"] == []
    assert (await promotion(api, made["id"]))["usageCount"] == 2
    assert await stock(api, product) == (2, 0, 2, 1)
    assert await expire_unpaid(db, timedelta(0), after_hold(order)) == 1
    assert (await promotion(api, made["id"]))["usageCount"] == 1
    assert await stock(api, product) == (2, 1, 1, 0)
    assert await expire_unpaid(db, timedelta(0), after_hold(order)) == 0
    cancelled = (await api.admin(CANCEL, {"id": order["id"]}))["orderCancel"]
    assert codes(cancelled) == [("INVALID_TRANSITION", ["id"])]
    assert (await promotion(api, made["id"]))["usageCount"] == 1
    assert event_types(await get_order(api, order["id"])) == ["created", "expired"]
