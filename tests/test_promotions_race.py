"""The usage-limit race against a real server: with usageLimit 10 and 50 buyers checking out
at once, exactly 10 orders carry the discount and 40 checkouts fail with PROMOTION_EXHAUSTED,
changing nothing. PostgreSQL runs 3 worker processes on one database; SQLite one process."""

import asyncio
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from models.engine import Database
from models.orders import Order
from models.promotions import PromotionUse
from tests.cart_helpers import add, product
from tests.conftest import Api, Template, running_server
from tests.promotion_helpers import apply, cart, checkout, create_promotion, error_codes, promotion

pytestmark = pytest.mark.slow
WORKERS = {"sqlite": 1, "postgres": 3}
LIMIT, BUYERS = 10, 50


async def test_a_usage_limit_holds_under_concurrent_checkouts(
    db_url: str, backend: str, template: Template
) -> None:
    db = Database(db_url)
    try:
        async with (
            running_server(db_url, workers=WORKERS[backend]) as server,
            httpx.AsyncClient(base_url=server.base, timeout=120) as http,
        ):
            api = Api(http, template)
            mug = await product(api, "MUG", price=1000, requiresShipping=False)
            made = await create_promotion(
                api, code="TEN", kind="PERCENT_OFF", value=20, usageLimit=LIMIT
            )
            references = [f"buyer-{n}" for n in range(BUYERS)]
            for reference in references:
                await add(api, reference, mug, 1)
                assert (await apply(api, reference, "ten"))["errors"] == []
            started = time.monotonic()
            results = await asyncio.gather(
                *(checkout(api, r, email=f"{r}@example.com") for r in references)
            )
            elapsed = time.monotonic() - started

            outcome = Counter(tuple(error_codes(r)) for r in results)
            assert outcome == {(): LIMIT, ("PROMOTION_EXHAUSTED",): BUYERS - LIMIT}, outcome
            for result in results:
                if result["errors"] == []:
                    assert result["order"]["totals"]["discount"]["amount"] == 200
            assert (await promotion(api, made["id"]))["usageCount"] == LIMIT
            failed = [r for r, res in zip(references, results, strict=True) if res["errors"]]
            for reference in failed[:5]:  # their carts are untouched
                shown = await cart(api, reference)
                assert len(shown["items"]) == 1 and shown["promotionCodes"] == ["TEN"]
                assert shown["discounts"][0]["reasonCode"] == "PROMOTION_EXHAUSTED"
    finally:
        async with db.reader() as session:
            orders = await session.scalar(select(func.count()).select_from(Order))
            uses = await session.scalar(select(func.count()).select_from(PromotionUse))
        await db.dispose()
    assert (orders, uses) == (LIMIT, LIMIT)
    print(f"\n{backend} ({WORKERS[backend]} worker(s)): {BUYERS} checkouts in {elapsed:.2f} s")
