"""Products: create, update, delete, validation (every rule), lookups, stock, and what each
role may see."""

import asyncio
from typing import Any

from sqlalchemy import func, select

from models.catalog import Product, ProductCategory
from models.engine import Database, StatementCounter
from models.inventory import StockTransaction
from tests.catalog_helpers import (
    PRODUCT_CREATE,
    PRODUCT_DELETE,
    PRODUCT_UPDATE,
    PRODUCTS,
    create_category,
    create_group,
    create_product,
    create_tax_band,
    errors_of,
    product_input,
)
from tests.conftest import Api

LOOKUP = """query($id: ID, $slug: String, $sku: String) {
  product(id: $id, slug: $slug, sku: $sku) { id sku status } }"""


async def _create(api: Api, input: dict[str, Any]) -> dict[str, Any]:
    return (await api.admin(PRODUCT_CREATE, {"input": input}))["productCreate"]


async def test_create_with_every_field_and_read_it_back(api: Api) -> None:
    band = await create_tax_band(api, "VAT", "20")
    shirts = await create_category(api, "Shirts")
    brand = await create_group(api, "brand", "Acme")
    summer = await create_group(api, "collection", "Summer")
    created = await _create(
        api,
        {
            "sku": "TEE-1",
            "slug": "blue-tee",
            "name": "Blue Tee",
            "description": "Soft cotton",
            "status": "LIVE",
            "price": 1999,
            "salePrice": 1499,
            "taxBandId": band,
            "categoryIds": [shirts["id"]],
            "brandId": brand["id"],
            "collectionIds": [summer["id"]],
            "images": [{"url": "https://cdn.test/tee.png", "alt": "A blue tee"}],
            "weight": 180,
            "requiresShipping": True,
            "manageStock": True,
            "stock": 12,
            "customFields": {},
        },
    )
    assert created["errors"] == []
    product = created["product"]
    assert product["price"] == {
        "withTax": {"amount": 2399, "currency": "USD", "formatted": "$23.99"},
        "withoutTax": {"amount": 1999},
        "tax": {"amount": 400},
    }
    assert product["salePrice"]["withTax"]["amount"] == 1799  # 1499 + 299.8 -> 300
    assert product["taxBand"]["rate"] == "20"
    assert product["categories"] == [{"id": shirts["id"], "slug": "shirts"}]
    assert product["brand"]["slug"] == "acme"
    assert product["collections"][0]["slug"] == "summer"
    assert product["images"] == [{"url": "https://cdn.test/tee.png", "alt": "A blue tee"}]
    assert (product["weight"], product["stockStatus"]) == (180, "IN_STOCK")

    stock = await api.admin(
        "query($id: ID!) { product(id: $id) { stock { total available allocated } } }",
        {"id": product["id"]},
    )
    assert stock["product"]["stock"] == {"total": 12, "available": 12, "allocated": 0}


async def test_defaults_slug_from_name_and_draft_status(api: Api) -> None:
    created = await _create(api, {"sku": "A-1", "name": "Crème Brûlée Set!", "price": 0})
    assert created["errors"] == []
    product = created["product"]
    assert (product["slug"], product["status"]) == ("creme-brulee-set", "DRAFT")
    assert (product["requiresShipping"], product["manageStock"]) == (True, False)
    assert product["stockStatus"] == "IN_STOCK"  # unmanaged stock is always in stock


async def test_every_invalid_field_is_reported_at_once(api: Api) -> None:
    bad = {
        "sku": "has space",
        "slug": "Not A Slug",
        "name": " ",
        "price": -1,
        "salePrice": -5,
        "weight": -3,
        "taxBandId": "not-an-id",
        "brandId": "QnJhbmQ6MDAwMDAwMDAwMDAwNDAwMDgwMDAwMDAwMDAwMDAwMDA",
        "categoryIds": ["nope"],
        "collectionIds": ["nope", "nope2"],
        "images": [{"url": "ftp://files.test/a.png"}, {"url": "https://ok.test/b.png"}],
        "stock": 3,
        "customFields": {"colour": "red"},
    }
    result = await _create(api, bad)
    assert result["product"] is None
    assert errors_of(result) == {
        ("INVALID", ("input", "sku")),
        ("INVALID", ("input", "slug")),
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "price")),
        ("INVALID", ("input", "salePrice")),
        ("INVALID", ("input", "weight")),
        ("NOT_FOUND", ("input", "taxBandId")),
        ("NOT_FOUND", ("input", "brandId")),
        ("NOT_FOUND", ("input", "categoryIds", "0")),
        ("NOT_FOUND", ("input", "collectionIds", "0")),
        ("NOT_FOUND", ("input", "collectionIds", "1")),
        ("INVALID", ("input", "images", "0", "url")),
        ("INVALID", ("input", "stock")),  # manageStock is not true
        ("INVALID", ("input", "customFields", "colour")),  # no such field defined
    }
    assert (await api.admin(PRODUCTS))["products"]["totalCount"] == 0


async def test_misspelt_status_is_a_graphql_validation_error(api: Api) -> None:
    body = await api.gql(PRODUCT_CREATE, {"input": product_input("X", status="PUBLISHED")})
    assert "PUBLISHED" in body["errors"][0]["message"]


async def test_sku_and_slug_are_unique(api: Api) -> None:
    await create_product(api, "SKU-1", slug="first")
    result = await _create(api, product_input("SKU-1", slug="first"))
    assert errors_of(result) == {("DUPLICATE", ("input", "sku")), ("DUPLICATE", ("input", "slug"))}
    other = await create_product(api, "SKU-2", slug="second")
    clash = (await api.admin(PRODUCT_UPDATE, {"id": other["id"], "input": {"slug": "first"}}))[
        "productUpdate"
    ]
    assert errors_of(clash) == {("DUPLICATE", ("input", "slug"))}
    same = (await api.admin(PRODUCT_UPDATE, {"id": other["id"], "input": {"sku": "SKU-2"}}))[
        "productUpdate"
    ]
    assert same["errors"] == []  # its own sku is not a clash


async def test_update_changes_only_given_fields_and_clears_nullable_ones(api: Api) -> None:
    band = await create_tax_band(api, "VAT", "20")
    product = await create_product(api, "P-1", salePrice=500, taxBandId=band, weight=100)
    result = (
        await api.admin(
            PRODUCT_UPDATE,
            {"id": product["id"], "input": {"salePrice": None, "taxBandId": None, "name": "New"}},
        )
    )["productUpdate"]
    assert result["errors"] == []
    updated = result["product"]
    assert (updated["name"], updated["sku"], updated["weight"]) == ("New", "P-1", 100)
    assert updated["salePrice"] is None and updated["taxBand"] is None
    assert updated["price"]["tax"]["amount"] == 0
    assert updated["updatedAt"] > product["updatedAt"]

    refused = (await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"price": None}}))[
        "productUpdate"
    ]
    assert errors_of(refused) == {("REQUIRED", ("input", "price"))}


async def test_update_replaces_categories(api: Api, db: Database) -> None:
    a, b = await create_category(api, "A"), await create_category(api, "B")
    product = await create_product(api, "P-1", categoryIds=[a["id"]])
    result = (
        await api.admin(
            PRODUCT_UPDATE, {"id": product["id"], "input": {"categoryIds": [b["id"], b["id"]]}}
        )
    )["productUpdate"]
    assert [c["slug"] for c in result["product"]["categories"]] == ["b"]
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(ProductCategory)) == 1


async def test_unknown_product_id_is_not_found(api: Api) -> None:
    result = (await api.admin(PRODUCT_UPDATE, {"id": "bogus", "input": {"name": "x"}}))[
        "productUpdate"
    ]
    assert errors_of(result) == {("NOT_FOUND", ("id",))}
    deleted = (await api.admin(PRODUCT_DELETE, {"id": "bogus"}))["productDelete"]
    assert errors_of(deleted) == {("NOT_FOUND", ("id",))}


async def test_stock_goes_through_the_ledger(api: Api, db: Database) -> None:
    product = await create_product(api, "S-1", manageStock=True, stock=10)
    down = (await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"stock": 4}}))[
        "productUpdate"
    ]
    assert down["errors"] == [] and down["product"]["stockStatus"] == "LOW_STOCK"
    async with db.reader() as session:
        ledger = (
            await session.execute(
                select(StockTransaction.action, StockTransaction.quantity).order_by(
                    StockTransaction.created_at
                )
            )
        ).all()
    assert [tuple(r) for r in ledger] == [("INCREMENT", 10), ("DECREMENT", 6)]

    negative = (await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"stock": -1}}))[
        "productUpdate"
    ]
    assert errors_of(negative) == {("INVALID", ("input", "stock"))}
    async with db.transaction() as session:  # 3 units paid for by an order
        row = await session.get(Product, _pk(product["id"]))
        assert row is not None
        row.stock_allocated = 3
    below = (await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"stock": 2}}))[
        "productUpdate"
    ]
    assert errors_of(below) == {("INSUFFICIENT_STOCK", ("input", "stock"))}
    zero = (await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"stock": 3}}))[
        "productUpdate"
    ]
    assert zero["product"]["stockStatus"] == "OUT_OF_STOCK"


def _pk(global_id: str) -> Any:
    from resolvers.ids import parse_id

    parsed = parse_id(global_id)
    assert parsed is not None
    return parsed[1]


async def test_lookup_by_id_slug_or_sku(api: Api) -> None:
    product = await create_product(api, "LOOK-1", slug="look")
    for variables in ({"id": product["id"]}, {"slug": "look"}, {"sku": "LOOK-1"}):
        assert (await api.storefront(LOOKUP, variables))["product"]["sku"] == "LOOK-1"
    assert (await api.storefront(LOOKUP, {"sku": "look-1"}))["product"] is None
    assert (await api.storefront(LOOKUP, {"id": "garbage"}))["product"] is None
    both = await api.gql(LOOKUP, {"slug": "look", "sku": "LOOK-1"}, as_="storefront")
    assert both["errors"][0]["extensions"]["code"] == "INVALID"
    neither = await api.gql(LOOKUP, {}, as_="storefront")
    assert neither["errors"][0]["extensions"]["code"] == "INVALID"


async def test_storefront_never_sees_drafts(api: Api) -> None:
    live = await create_product(api, "LIVE-1")
    draft = await create_product(api, "DRAFT-1", status="DRAFT", slug="draft-one")
    for variables in ({"id": draft["id"]}, {"slug": "draft-one"}, {"sku": "DRAFT-1"}):
        assert (await api.storefront(LOOKUP, variables))["product"] is None
        assert (await api.admin(LOOKUP, variables))["product"]["status"] == "DRAFT"
    node = "query($id: ID!) { node(id: $id) { id ... on Product { sku } } }"
    assert (await api.storefront(node, {"id": draft["id"]}))["node"] is None
    assert (await api.storefront(node, {"id": live["id"]}))["node"]["sku"] == "LIVE-1"

    shop = (await api.storefront(PRODUCTS))["products"]
    assert [e["node"]["sku"] for e in shop["edges"]] == ["LIVE-1"] and shop["totalCount"] == 1
    asked = await api.storefront(PRODUCTS, {"filter": {"status": "DRAFT"}})
    assert asked["products"]["totalCount"] == 0 and asked["products"]["edges"] == []
    admin = await api.admin(PRODUCTS, {"filter": {"status": "DRAFT"}})
    assert [e["node"]["sku"] for e in admin["products"]["edges"]] == ["DRAFT-1"]


async def test_stock_figures_are_admin_only(api: Api) -> None:
    product = await create_product(api, "S-1", manageStock=True, stock=2)
    query = "query($id: ID!) { product(id: $id) { sku stockStatus stock { total } } }"
    body = await api.gql(query, {"id": product["id"]}, as_="storefront")
    assert body["data"]["product"]["stock"] is None
    assert body["data"]["product"]["stockStatus"] == "LOW_STOCK"
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["product", "stock"]


async def test_catalogue_writes_are_admin_only(api: Api) -> None:
    body = await api.gql(PRODUCT_CREATE, {"input": product_input("X")}, as_="storefront")
    assert body["data"] == {"productCreate": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.admin(PRODUCTS))["products"]["totalCount"] == 0


async def test_delete_removes_the_product_and_its_links(api: Api, db: Database) -> None:
    category = await create_category(api, "C")
    product = await create_product(
        api, "DEL-1", categoryIds=[category["id"]], manageStock=True, stock=3
    )
    result = (await api.admin(PRODUCT_DELETE, {"id": product["id"]}))["productDelete"]
    assert result == {"product": {"id": product["id"], "sku": "DEL-1"}, "errors": []}
    assert (await api.admin(LOOKUP, {"id": product["id"]}))["product"] is None
    async with db.reader() as session:
        for table in (ProductCategory, StockTransaction):
            assert await session.scalar(select(func.count()).select_from(table)) == 0
    again = (await api.admin(PRODUCT_DELETE, {"id": product["id"]}))["productDelete"]
    assert errors_of(again) == {("NOT_FOUND", ("id",))}


async def test_tax_band_in_use_cannot_be_deleted(api: Api) -> None:
    band = await create_tax_band(api, "VAT", "20")
    product = await create_product(api, "T-1", taxBandId=band)
    delete = "mutation($id: ID!) { taxBandDelete(id: $id) { errors { code field message } } }"
    refused = (await api.admin(delete, {"id": band}))["taxBandDelete"]
    assert errors_of(refused) == {("IN_USE", ("id",))}
    await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"taxBandId": None}})
    assert (await api.admin(delete, {"id": band}))["taxBandDelete"]["errors"] == []


async def test_concurrent_creates_of_one_sku_make_one_product(api: Api, db: Database) -> None:
    """Checked-then-inserted in parallel: the unique index decides, the losers get DUPLICATE."""
    inputs = [product_input("RACE", slug=f"race-{i}") for i in range(6)]
    results = await asyncio.gather(*(_create(api, i) for i in inputs))
    assert sum(r["errors"] == [] for r in results) == 1
    losers = [r for r in results if r["errors"]]
    assert all(errors_of(r) <= {("DUPLICATE", ("input", "sku"))} for r in losers)
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == 1


async def test_concurrent_stock_settings_keep_the_ledger_whole(api: Api, db: Database) -> None:
    product = await create_product(api, "S-1", manageStock=True, stock=5)
    totals = [0, 20, 3, 11, 8, 15]
    await asyncio.gather(
        *(api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"stock": t}}) for t in totals)
    )
    async with db.reader() as session:
        row = await session.get(Product, _pk(product["id"]))
        ledger = (
            await session.execute(select(StockTransaction.action, StockTransaction.quantity))
        ).all()
    assert row is not None and row.stock_total in totals
    signed = sum(q if action == "INCREMENT" else -q for action, q in ledger)
    assert signed == row.stock_total  # every change went through the ledger, none was lost


async def test_product_create_statements(api: Api, backend: str) -> None:
    """productCreate with stock and a category, counted so that it cannot creep back: the
    checks' lookups, then one INSERT each of the product, its link, its ledger row and its
    three events (product.created, stock.changed, stock.low), and the version stamp."""
    category = await create_category(api, "Lamps")
    await create_product(api, "WARM-1")  # the process warms its caches
    with StatementCounter() as counter:
        await create_product(
            api, "COUNT-1", categoryIds=[category["id"]], manageStock=True, stock=3
        )
    assert counter.count == {"sqlite": 13, "postgres": 14}[backend]  # 18, 19 before
