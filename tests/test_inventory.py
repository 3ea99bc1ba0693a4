"""Inventory (API.md section 9): stockTransactionCreate and its limits, the ledger, stock status,
and the database rules behind them (conditional UPDATEs, the CHECK constraint)."""

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from domain.ids import encode_id
from domain.inventory import MAX_STOCK, StockStatus, stock_status
from models.catalog import Product
from models.engine import Database, StatementCounter
from resolvers.ids import decode_id
from tests.conftest import Api

STOCK_CHANGE = """
mutation($id: ID!, $action: StockAction!, $quantity: Int!) {
  stockTransactionCreate(productId: $id, input: {action: $action, quantity: $quantity}) {
    stock { total available allocated }
    transaction { id action quantity orderId productId createdAt }
    errors { code message field }
  }
}"""
LEDGER = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  stockTransactions(productId: $id, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { action quantity orderId } }
  }
}"""


async def make_product(
    db: Database, *, stock: int = 0, manage: bool = True, price: int = 1000, sku: str = ""
) -> str:
    """A LIVE product row (set up directly; the catalogue API is not under test here)."""
    sku = sku or f"SKU-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as session:
        product = Product(
            sku=sku,
            slug=sku.lower(),
            name=f"Product {sku}",
            sort_name=f"product {sku}".casefold(),
            status="LIVE",
            price=price,
            manage_stock=manage,
            stock_total=stock,
        )
        session.add(product)
    return encode_id("Product", product.id)


async def stock_of(db: Database, product_gid: str) -> dict[str, int]:
    async with db.reader() as session:
        row = await session.get(Product, decode_id(product_gid, "Product"))
        assert row is not None
        return {
            "total": row.stock_total,
            "available": row.stock_available,
            "allocated": row.stock_allocated,
        }


async def change(api: Api, product: str, action: str, quantity: int, **kw: Any) -> Any:
    body = await api.gql(
        STOCK_CHANGE, {"id": product, "action": action, "quantity": quantity}, **kw
    )
    assert "errors" not in body, body
    return body["data"]["stockTransactionCreate"]


async def test_every_action_and_its_limit(api: Api, db: Database) -> None:
    product = await make_product(db)
    steps = [  # (action, quantity, error code or None, stock after as (total, available, allocated))
        ("INCREMENT", 10, None, (10, 10, 0)),
        ("ALLOCATE", 4, None, (10, 6, 4)),
        ("DECREMENT", 7, "INSUFFICIENT_STOCK", (10, 6, 4)),  # total may not go below allocated
        ("DECREMENT", 6, None, (4, 0, 4)),
        ("ALLOCATE", 1, "INSUFFICIENT_STOCK", (4, 0, 4)),  # never more than available
        ("DEALLOCATE", 5, "INSUFFICIENT_STOCK", (4, 0, 4)),  # never more than allocated
        ("DEALLOCATE", 4, None, (4, 4, 0)),
        ("INCREMENT", 1, None, (5, 5, 0)),
    ]
    for action, quantity, code, (total, available, allocated) in steps:
        result = await change(api, product, action, quantity)
        expected = {"total": total, "available": available, "allocated": allocated}
        if code is None:
            assert result["errors"] == [], (action, quantity, result)
            assert result["stock"] == expected
            record = result["transaction"]
            assert (record["action"], record["quantity"], record["orderId"]) == (
                action,
                quantity,
                None,
            )
            assert record["productId"] == product
        else:
            assert result["stock"] is None and result["transaction"] is None
            assert [(e["code"], e["field"]) for e in result["errors"]] == [
                (code, ["input", "quantity"])
            ]
        assert await stock_of(db, product) == expected

    ledger = (await api.admin(LEDGER, {"id": product, "first": 50}))["stockTransactions"]
    done = [(a, q) for a, q, code, _ in steps if code is None]
    assert [(e["node"]["action"], e["node"]["quantity"]) for e in ledger["edges"]] == list(
        reversed(done)
    )  # newest first; refused changes left no entry
    assert ledger["totalCount"] == len(done)


async def test_bad_input_changes_nothing(api: Api, db: Database) -> None:
    product = await make_product(db, stock=10)
    for quantity in (0, -3, MAX_STOCK):  # the last would overflow the column
        result = await change(api, product, "INCREMENT", quantity)
        assert [(e["code"], e["field"]) for e in result["errors"]] == [
            ("INVALID", ["input", "quantity"])
        ]
    misspelt = await api.gql(STOCK_CHANGE, {"id": product, "action": "ADD", "quantity": 1})
    assert "errors" in misspelt and misspelt.get("data") is None  # a validation error
    unknown = encode_id("Product", uuid.uuid4())
    for other in (unknown, "not-an-id", encode_id("TaxBand", uuid.uuid4())):
        result = await change(api, other, "INCREMENT", 1)
        assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["productId"])]
    body = await api.gql(LEDGER, {"id": unknown})
    assert body["data"]["stockTransactions"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await stock_of(db, product) == {"total": 10, "available": 10, "allocated": 0}
    assert (await change(api, product, "INCREMENT", MAX_STOCK - 10))["stock"]["total"] == MAX_STOCK


async def test_admin_only(api: Api, db: Database) -> None:
    product = await make_product(db, stock=3)
    body = await api.gql(
        STOCK_CHANGE, {"id": product, "action": "INCREMENT", "quantity": 1}, as_="storefront"
    )
    assert body["data"]["stockTransactionCreate"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.gql(LEDGER, {"id": product}, as_="storefront")
    assert body["data"]["stockTransactions"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stock_of(db, product) == {"total": 3, "available": 3, "allocated": 0}


async def test_ledger_pages_forwards_and_backwards(api: Api, db: Database) -> None:
    product = await make_product(db)
    for quantity in range(1, 8):
        assert (await change(api, product, "INCREMENT", quantity))["errors"] == []
    seen: list[int] = []
    after = None
    while True:
        page = (await api.admin(LEDGER, {"id": product, "first": 3, "after": after}))[
            "stockTransactions"
        ]
        seen += [e["node"]["quantity"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    back = (await api.admin(LEDGER, {"id": product, "last": 2, "before": after}))[
        "stockTransactions"
    ]
    assert [e["node"]["quantity"] for e in back["edges"]] == [4, 3]  # just before "2"
    too_big = await api.gql(LEDGER, {"id": product, "first": 101})
    assert too_big["errors"][0]["extensions"]["code"] == "INVALID"


async def test_ledger_statement_count_does_not_grow_with_the_page(api: Api, db: Database) -> None:
    product = await make_product(db)
    for _ in range(30):
        await change(api, product, "INCREMENT", 1)
    await api.admin(LEDGER, {"id": product, "first": 1})  # the process loads its price tables
    counts = []
    for first in (2, 30):
        with StatementCounter() as counter:
            page = await api.admin(LEDGER, {"id": product, "first": first})
        assert len(page["stockTransactions"]["edges"]) == first
        counts.append(counter.count)
    assert counts[0] == counts[1]


async def test_concurrent_manual_allocations_never_exceed_available(api: Api, db: Database) -> None:
    product = await make_product(db, stock=10)
    results = await asyncio.gather(*(change(api, product, "ALLOCATE", 1) for _ in range(25)))
    codes = sorted(e["code"] for r in results for e in r["errors"])
    assert sum(1 for r in results if r["errors"] == []) == 10
    assert codes == ["INSUFFICIENT_STOCK"] * 15
    assert await stock_of(db, product) == {"total": 10, "available": 0, "allocated": 10}


async def test_the_database_refuses_allocated_above_total(db: Database) -> None:
    """The CHECK constraint holds `0 <= allocated <= total` even against code that forgets."""
    product = await make_product(db, stock=2)
    pk = decode_id(product, "Product")
    for values in ({"stock_allocated": 3}, {"stock_allocated": -1}, {"stock_total": -1}):
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                await session.execute(update(Product).where(Product.id == pk).values(values))
    assert await stock_of(db, product) == {"total": 2, "available": 2, "allocated": 0}


def test_stock_status_thresholds() -> None:
    def status(total: int, allocated: int, manage: bool = True) -> StockStatus:
        row = Product(sku="x", slug="x", name="x", price=1, manage_stock=manage, stock_total=total)
        row.stock_allocated = allocated
        return stock_status(row, low_stock_threshold=5)

    assert status(20, 0) is StockStatus.IN_STOCK
    assert status(6, 0) is StockStatus.IN_STOCK
    assert status(5, 0) is StockStatus.LOW_STOCK  # at the threshold
    assert status(10, 9) is StockStatus.LOW_STOCK  # available counts, not total
    assert status(3, 3) is StockStatus.OUT_OF_STOCK
    assert status(0, 0, manage=False) is StockStatus.IN_STOCK  # unmanaged: always in stock
