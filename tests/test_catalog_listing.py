"""Product listings: every filter, every sort in both directions, keyset page walks that
neither skip nor repeat, and a constant number of SQL statements whatever the page size."""

import time
from typing import Any

import pytest
import sqlalchemy

from domain import catalog, tax_bands
from domain.search import product_listing
from models.catalog import Brand, Collection
from models.engine import Database, StatementCounter
from tests.catalog_helpers import (
    PRODUCT_UPDATE,
    PRODUCTS,
    create_category,
    create_group,
    create_product,
)
from tests.conftest import Api


async def _skus(api: Api, as_: str = "storefront", **variables: Any) -> list[str]:
    data = await api.data(PRODUCTS, {"first": 100, **variables}, as_=as_)
    return [e["node"]["sku"] for e in data["products"]["edges"]]


async def _shop(api: Api) -> None:
    """A small catalogue that every filter can tell apart."""
    clothing = await create_category(api, "Clothing")
    shirts = await create_category(api, "Shirts", parentId=clothing["id"])
    home = await create_category(api, "Home")
    acme = await create_group(api, "brand", "Acme")
    other = await create_group(api, "brand", "Other")
    summer = await create_group(api, "collection", "Summer")
    hidden = await create_group(api, "collection", "Hidden", status="DRAFT")
    await create_product(
        api,
        "SH-RED",
        name="Red Shirt",
        price=2000,
        categoryIds=[shirts["id"]],
        brandId=acme["id"],
        collectionIds=[summer["id"]],
        manageStock=True,
        stock=5,
    )
    await create_product(
        api,
        "SH-BLU",
        name="Blue shirt",
        price=1500,
        categoryIds=[shirts["id"]],
        brandId=other["id"],
        collectionIds=[hidden["id"]],
        manageStock=True,
        stock=0,
    )
    await create_product(
        api,
        "MUG_1",
        name="Mug, 100% ceramic",
        price=800,
        categoryIds=[home["id"]],
        description="Dishwasher safe",
    )
    await create_product(api, "JACKET", name="Jacket", price=9000, categoryIds=[clothing["id"]])
    await create_product(api, "HAT", name="Red hat", price=1200, status="DRAFT")


async def test_search_matches_name_sku_and_description_case_insensitively(api: Api) -> None:
    await _shop(api)
    by_name = {"field": "NAME", "direction": "ASC"}
    assert await _skus(api, filter={"search": "SHIRT"}, sortBy=by_name) == ["SH-BLU", "SH-RED"]
    assert await _skus(api, filter={"search": "sh-re"}) == ["SH-RED"]
    assert await _skus(api, filter={"search": "dishwasher"}) == ["MUG_1"]
    assert await _skus(api, filter={"search": "red"}) == ["SH-RED"]  # the red hat is a draft
    admin_red = await _skus(api, as_="admin", filter={"search": "red"}, sortBy=by_name)
    assert admin_red == ["HAT", "SH-RED"]
    assert await _skus(api, filter={"search": "   "}) != []  # blank search is no filter


async def test_search_syntax_characters_are_plain_text(api: Api) -> None:
    """Search matches words (section 15), never LIKE or full-text operator syntax."""
    await _shop(api)
    assert await _skus(api, filter={"search": "100%"}) == ["MUG_1"]
    assert await _skus(api, filter={"search": "MUG_1"}) == ["MUG_1"]  # a whole SKU
    for text in ("%", "_", "\\", "G_1", '"', "'", "ceramic OR jacket", "NEAR(jacket)", "a:*|b"):
        assert await _skus(api, filter={"search": text}) == [], text
    assert await _skus(api, filter={"search": "jacket*"}) == ["JACKET"]  # "*" splits words


async def test_category_filter_includes_subcategories_unless_told_not_to(api: Api) -> None:
    await _shop(api)
    assert await _skus(api, filter={"categorySlug": "clothing"}) == ["SH-BLU", "JACKET", "SH-RED"]
    own = {"categorySlug": "clothing", "includeSubcategories": False}
    assert await _skus(api, filter=own) == ["JACKET"]
    assert await _skus(api, filter={"categorySlug": "shirts"}) == ["SH-BLU", "SH-RED"]
    assert await _skus(api, filter={"categorySlug": "nowhere"}) == []


async def test_brand_and_collection_filters(api: Api) -> None:
    await _shop(api)
    assert await _skus(api, filter={"brandSlug": "acme"}) == ["SH-RED"]
    assert await _skus(api, filter={"collectionSlug": "summer"}) == ["SH-RED"]
    assert await _skus(api, filter={"collectionSlug": "hidden"}) == []  # a DRAFT collection
    assert await _skus(api, as_="admin", filter={"collectionSlug": "hidden"}) == ["SH-BLU"]


async def test_a_brand_page_filtered_by_another_brand_is_empty(api: Api) -> None:
    await _shop(api)
    query = """query($filter: ProductFilter) { brand(slug: "acme") {
        products(filter: $filter) { edges { node { sku } } } } }"""
    own = (await api.storefront(query, {"filter": {"brandSlug": "acme"}}))["brand"]["products"]
    assert [e["node"]["sku"] for e in own["edges"]] == ["SH-RED"]
    other = (await api.storefront(query, {"filter": {"brandSlug": "other"}}))["brand"]["products"]
    assert other["edges"] == []


async def test_price_range_and_stock_filters(api: Api) -> None:
    await _shop(api)
    assert await _skus(api, filter={"priceMin": 1500, "priceMax": 2000}) == ["SH-BLU", "SH-RED"]
    assert await _skus(api, filter={"priceMax": 799}) == []
    assert await _skus(api, filter={"priceMin": 9000}) == ["JACKET"]
    in_stock = await _skus(api, filter={"inStock": True})
    assert in_stock == ["JACKET", "MUG_1", "SH-RED"]  # unmanaged ones are always in stock
    assert await _skus(api, filter={"inStock": False}) == ["SH-BLU"]


async def test_filters_combine(api: Api) -> None:
    await _shop(api)
    both = {"categorySlug": "clothing", "inStock": True, "priceMax": 5000, "search": "shirt"}
    assert await _skus(api, filter=both) == ["SH-RED"]
    data = await api.storefront(PRODUCTS, {"filter": {"categorySlug": "shirts"}})
    assert data["products"]["totalCount"] == 2


async def _sorted(api: Api, field: str, direction: str) -> list[str]:
    return await _skus(api, as_="admin", sortBy={"field": field, "direction": direction})


async def test_every_sort_in_both_directions(api: Api) -> None:
    await create_product(api, "B", name="banana", price=300)
    await create_product(api, "A", name="Apple", price=200)
    await create_product(api, "C", name="Cherry", price=100)
    assert await _sorted(api, "NAME", "ASC") == ["A", "B", "C"]  # case-insensitive
    assert await _sorted(api, "NAME", "DESC") == ["C", "B", "A"]
    assert await _sorted(api, "PRICE", "ASC") == ["C", "A", "B"]
    assert await _sorted(api, "PRICE", "DESC") == ["B", "A", "C"]
    assert await _sorted(api, "CREATED_AT", "ASC") == ["B", "A", "C"]
    assert await _sorted(api, "CREATED_AT", "DESC") == ["C", "A", "B"]
    first = (await api.admin('{ product(sku: "B") { id } }'))["product"]["id"]
    await api.admin(PRODUCT_UPDATE, {"id": first, "input": {"description": "touched"}})
    assert await _sorted(api, "UPDATED_AT", "ASC") == ["A", "C", "B"]
    assert await _sorted(api, "UPDATED_AT", "DESC") == ["B", "C", "A"]
    default = await _skus(api, as_="admin", sortBy={"field": "PRICE"})
    assert default == ["C", "A", "B"]  # direction defaults to ASC


async def _walk(api: Api, size: int, sort: dict[str, str], backwards: bool = False) -> list[str]:
    """Every page of a listing, following cursors; checks pageInfo on the way."""
    seen: list[str] = []
    cursor: str | None = None
    while True:
        if backwards:
            variables = {"last": size, "before": cursor, "sortBy": sort}
        else:
            variables = {"first": size, "after": cursor, "sortBy": sort}
        page = (await api.storefront(PRODUCTS, variables))["products"]
        skus = [e["node"]["sku"] for e in page["edges"]]
        seen = skus + seen if backwards else seen + skus
        info = page["pageInfo"]
        more = info["hasPreviousPage"] if backwards else info["hasNextPage"]
        if not more:
            return seen
        assert len(skus) == size
        cursor = info["startCursor"] if backwards else info["endCursor"]


async def test_page_walks_neither_skip_nor_repeat(api: Api) -> None:
    for i in range(23):  # many equal prices: the id breaks ties
        await create_product(api, f"W-{i:02}", name=f"Item {i % 5}", price=100 * (i % 4))
    for sort in ({"field": "PRICE", "direction": "ASC"}, {"field": "NAME", "direction": "DESC"}):
        whole = await _skus(api, sortBy=sort)
        assert len(whole) == 23
        assert await _walk(api, 5, sort) == whole
        assert await _walk(api, 5, sort, backwards=True) == whole
        assert await _walk(api, 23, sort) == whole


async def test_page_walk_is_stable_while_products_are_added(api: Api) -> None:
    for i in range(10):
        await create_product(api, f"P-{i}", price=100 * i)
    sort = {"field": "PRICE", "direction": "ASC"}
    first = (await api.storefront(PRODUCTS, {"first": 4, "sortBy": sort}))["products"]
    await create_product(api, "EARLY", price=0)  # sorts before the cursor: not repeated
    await create_product(api, "LATE", price=950)  # sorts after it: not skipped
    after = first["pageInfo"]["endCursor"]
    rest = await api.storefront(PRODUCTS, {"first": 50, "after": after, "sortBy": sort})
    seen = [e["node"]["sku"] for e in first["edges"] + rest["products"]["edges"]]
    assert seen == [f"P-{i}" for i in range(10)] + ["LATE"]
    assert rest["products"]["totalCount"] == 12


async def test_bad_pagination_arguments_are_invalid(api: Api) -> None:
    await create_product(api, "A")
    too_many = await api.gql(PRODUCTS, {"first": 101}, as_="storefront")
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID"
    garbage = await api.gql(PRODUCTS, {"after": "not-a-cursor"}, as_="storefront")
    assert garbage["errors"][0]["extensions"]["code"] == "INVALID"
    by_name = (await api.storefront(PRODUCTS, {"first": 1}))["products"]["pageInfo"]["endCursor"]
    mixed = await api.gql(
        PRODUCTS,
        {"after": by_name, "sortBy": {"field": "CREATED_AT", "direction": "ASC"}},
        as_="storefront",
    )
    assert mixed["errors"][0]["extensions"]["code"] == "INVALID"
    assert "sort" in mixed["errors"][0]["message"]


LISTING = """query($first: Int!) {
  products(first: $first, sortBy: {field: PRICE, direction: DESC}) {
    totalCount
    edges { node {
      id sku name stockStatus
      price { withTax { amount formatted } withoutTax { amount } tax { amount } }
      salePrice { withTax { amount } }
      taxBand { name rate }
      brand { name slug }
      categories { name slug parent { name } }
      collections { slug }
    } }
  }
}"""


async def _listing_statements(api: Api, size: int) -> int:
    with StatementCounter() as counter:
        data = await api.storefront(LISTING, {"first": size})
    assert len(data["products"]["edges"]) == size
    return counter.count


async def _seed_listing(db: Database, count: int) -> None:
    """`count` products with a tax band, brand, categories (with a parent), a collection and
    stock, made through the domain layer in one transaction (fast)."""
    async with db.transaction() as s:
        band = await tax_bands.create_tax_band(s, {"name": "VAT", "rate": "20"})
        parent = await catalog.create_category(s, {"name": "Clothing"})
        children = [
            await catalog.create_category(s, {"name": f"Cat {i}", "parent_id": parent.id})
            for i in range(3)
        ]
        brands = [await catalog.create_group(s, Brand, {"name": f"Brand {i}"}) for i in range(3)]
        summer = await catalog.create_group(s, Collection, {"name": "Summer"})
        for i in range(count):
            managed = i % 2 == 0
            await catalog.create_product(
                s,
                {
                    "sku": f"N-{i:03}",
                    "name": f"Product {i}",
                    "status": catalog.Status.LIVE,
                    "price": 100 + i,
                    "sale_price": 90 + i if i % 2 else None,
                    "tax_band_id": band.id,
                    "category_ids": [children[i % 3].id, parent.id],
                    "brand_id": brands[i % 3].id,
                    "collection_ids": [summer.id],
                    "manage_stock": managed,
                    "stock": i if managed else None,
                },
            )


async def test_listing_statement_count_does_not_grow_with_page_size(api: Api, db: Database) -> None:
    await _seed_listing(db, 100)
    await _listing_statements(api, 1)  # warm the token cache
    small, large = await _listing_statements(api, 20), await _listing_statements(api, 100)
    # page, count, tax bands, brands, categories, their parents, collections (the currency
    # table is kept by the process until a currency changes)
    assert small == large == 7

    started = time.perf_counter()
    for _ in range(10):
        await api.storefront(LISTING, {"first": 20})
    per_request_ms = (time.perf_counter() - started) * 100
    print(f"\n20-item listing: {small} SQL statements, {per_request_ms:.1f} ms per request")


async def _every_sku(api: Api, filter: dict[str, Any], sort: dict[str, str]) -> list[str]:
    """Every SKU of a listing, read 4 at a time (cursor after cursor)."""
    skus: list[str] = []
    after = None
    while True:
        variables = {"first": 4, "after": after, "filter": filter, "sortBy": sort}
        page = (await api.storefront(PRODUCTS, variables))["products"]
        skus += [e["node"]["sku"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return skus
        after = page["pageInfo"]["endCursor"]


MEMBERSHIP_FILTERS: list[dict[str, Any]] = [
    {"categorySlug": "clothing"},
    {"categorySlug": "clothing", "includeSubcategories": False},
    {"categorySlug": "cat-1"},
    {"collectionSlug": "summer"},
    {"categorySlug": "cat-2", "collectionSlug": "summer", "priceMax": 120},
    {"categorySlug": "nowhere"},
]


async def test_membership_filters_list_the_same_products_read_either_way(
    api: Api, db: Database, monkeypatch: Any
) -> None:
    """A category or collection filter reads the linked products first, or (SQLite, many
    links) tests membership while walking the sort order: both list the same pages."""
    await _seed_listing(db, 30)
    sorts = [{"field": "NAME", "direction": "ASC"}, {"field": "PRICE", "direction": "DESC"}]
    monkeypatch.setattr(catalog, "WALK_IN_ORDER_LINKS", 10_000)
    from_links = [await _every_sku(api, f, s) for f in MEMBERSHIP_FILTERS for s in sorts]
    monkeypatch.setattr(catalog, "WALK_IN_ORDER_LINKS", 1)
    walked = [await _every_sku(api, f, s) for f in MEMBERSHIP_FILTERS for s in sorts]
    assert walked == from_links
    assert [len(skus) for skus in from_links[:8:2]] == [30, 30, 10, 30]
    assert from_links[-1] == []


async def _plan(db: Database, query: catalog.ProductQuery) -> str:
    listing = product_listing(query, catalog.ProductSortField.NAME, True, sqlite=True)
    stmt = listing.statement.order_by(*(k.column for k in listing.keys)).limit(21)
    compiled = stmt.compile(db.read_engine, compile_kwargs={"literal_binds": True})
    async with db.reader() as session:
        rows = await session.execute(sqlalchemy.text(f"EXPLAIN QUERY PLAN {compiled}"))
        return " | ".join(row[3] for row in rows)


async def test_sqlite_plans_a_category_page_from_its_links_or_by_walking_the_order(
    db: Database,
) -> None:
    """SQLite's planner left to itself scans the whole link table for a category page (100 ms
    at 100k products); a few links are read through their index, many by walking the name
    index and looking each product's link up."""
    if not db.is_sqlite:
        pytest.skip("SQLite's planner")
    await _seed_listing(db, 3)
    async with db.reader() as session:
        planned = await catalog.plan_membership(
            session, catalog.ProductQuery(category_slug="cat-1")
        )
    assert not planned.walk_in_order
    from_links = await _plan(db, planned)
    assert "SCAN product_category" not in from_links
    assert "ix_product_category_category (category_id=?)" in from_links
    walked = await _plan(db, catalog.ProductQuery(category_slug="cat-1", walk_in_order=True))
    assert "USING INDEX ix_product_status_name (status=?)" in walked
    assert "SEARCH product_category USING" in walked  # each product's links looked up
    assert "SCAN product_category" not in walked


async def test_what_a_listing_asks_is_read_per_document_merged_fields_too(api: Api) -> None:
    """The listing works out once per document whether `totalCount` and `categories` are
    asked (schema/catalog/types.py); a field asked twice (merged) and another document asking
    otherwise each get their own answer, the second run of each the same as the first."""
    await _shop(api)
    count_only = "{ products(first: 2) { totalCount } }"
    merged = (
        "{ products(first: 2) { totalCount } "
        "products(first: 2) { edges { node { sku categories { slug } } } } }"
    )
    for _ in range(2):
        counted = await api.data(count_only, as_="storefront")
        assert counted["products"] == {"totalCount": 4}
        both = (await api.data(merged, as_="storefront"))["products"]
        assert both["totalCount"] == 4
        assert len(both["edges"]) == 2
        assert all(isinstance(e["node"]["categories"], list) for e in both["edges"])
