"""productFacets (API.md section 15): counts over exactly the products a filter matches, LIVE
only for storefronts, in a fixed number of statements."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect

from domain import bulk
from domain.catalog import ProductQuery
from domain.facets import _counts_statement
from models.catalog import PRODUCT_CATEGORY_IDS, Product
from models.engine import SQLITE_MMAP_BYTES, Database, StatementCounter
from resolvers.ids import parse_id
from tests.catalog_helpers import (
    PRODUCT_DELETE,
    PRODUCT_UPDATE,
    PRODUCTS,
    create_category,
    create_group,
    create_product,
    product_input,
)
from tests.conftest import Api
from tests.test_search import _migrate

LINKS_REVISION_BEFORE = "f1a2b3c4d5e6"
"""The revision before the search rows' category ids (a1b2c3d4e5f7)."""

FACETS = """query($filter: ProductFilter) { productFacets(filter: $filter) {
  totalCount inStock
  categories { category { id name slug } count }
  brands { brand { id name slug } count }
  priceRanges { min max count }
} }"""


async def _shop(api: Api) -> None:
    home = await create_category(api, "Home")
    lights = await create_category(api, "Lights", parentId=home["id"])
    acme = await create_group(api, "brand", "Acme")
    hidden = await create_group(api, "brand", "Hidden", status="DRAFT")
    lamp = {"categoryIds": [lights["id"]], "brandId": acme["id"]}
    await create_product(api, "L1", name="Desk lamp", price=999, **lamp)
    await create_product(
        api, "L2", name="Floor lamp", price=1000, manageStock=True, stock=0, **lamp
    )
    await create_product(api, "L3", name="Lamp shade", price=30_000, brandId=hidden["id"])
    await create_product(api, "L4", name="Draft lamp", price=500, status="DRAFT", **lamp)
    await create_product(api, "C1", name="Chair", price=250_000, categoryIds=[home["id"]])


def _counts(facets: dict[str, Any], key: str, inner: str) -> dict[str, int]:
    return {f[inner]["slug"]: f["count"] for f in facets[key]}


async def test_storefront_facets_count_live_products_only(api: Api) -> None:
    await _shop(api)
    facets = (await api.storefront(FACETS))["productFacets"]
    assert facets["totalCount"] == 4
    assert facets["inStock"] == 3  # L2 is sold out
    assert _counts(facets, "categories", "category") == {"lights": 2, "home": 1}
    assert _counts(facets, "brands", "brand") == {"acme": 2}  # the DRAFT brand is hidden
    assert facets["priceRanges"] == [
        {"min": 0, "max": 999, "count": 1},
        {"min": 1000, "max": 2499, "count": 1},
        {"min": 25000, "max": 49999, "count": 1},
        {"min": 100000, "max": None, "count": 1},
    ]
    admin = (await api.admin(FACETS))["productFacets"]
    assert admin["totalCount"] == 5
    assert _counts(admin, "brands", "brand") == {"acme": 3, "hidden": 1}


async def test_facet_totals_equal_the_listing_for_every_filter(api: Api) -> None:
    await _shop(api)
    filters: list[dict[str, Any]] = [
        {},
        {"search": "lamp"},
        {"search": "la", "inStock": True},
        {"categorySlug": "home"},
        {"categorySlug": "home", "includeSubcategories": False},
        {"brandSlug": "acme", "priceMax": 999},
        {"priceMin": 1000},
        {"status": "DRAFT"},
        {"search": "nothing-like-it"},
    ]
    for as_ in ("storefront", "admin"):
        for filter in filters:
            listing = await api.data(PRODUCTS, {"first": 1, "filter": filter}, as_=as_)
            facets = (await api.data(FACETS, {"filter": filter}, as_=as_))["productFacets"]
            total = listing["products"]["totalCount"]
            assert facets["totalCount"] == total, (as_, filter)
            assert sum(r["count"] for r in facets["priceRanges"]) == total
            bucket = facets["priceRanges"][0] if facets["priceRanges"] else None
            if bucket:  # a range is a filter that lists exactly its count
                narrowed = {**filter, "priceMin": bucket["min"], "priceMax": bucket["max"]}
                if bucket["max"] is None:
                    del narrowed["priceMax"]
                if "priceMax" in filter:
                    narrowed["priceMax"] = min(filter["priceMax"], bucket["max"])
                again = await api.data(PRODUCTS, {"first": 1, "filter": narrowed}, as_=as_)
                assert again["products"]["totalCount"] == bucket["count"], (as_, filter)
            stocked = await api.data(
                PRODUCTS, {"first": 1, "filter": {**filter, "inStock": True}}, as_=as_
            )
            assert facets["inStock"] == stocked["products"]["totalCount"], (as_, filter)


async def test_facets_add_up_matches_that_share_every_facet_value(api: Api) -> None:
    """Matches alike in price bucket, stock, brand and categories are counted once each in
    every facet (the counts are summed from groups of such matches), whichever way a search
    is counted (a plain search, and with a price filter: SQLite's other path)."""
    home = await create_category(api, "Home")
    lights = await create_category(api, "Lights")
    acme = await create_group(api, "brand", "Acme")
    alike = {"price": 1500, "brandId": acme["id"], "categoryIds": [lights["id"], home["id"]]}
    for i in range(3):
        await create_product(api, f"A{i}", name=f"Oak lamp {i}", **alike)
    sold_out = {**alike, "categoryIds": [lights["id"]], "manageStock": True, "stock": 0}
    await create_product(api, "A3", name="Oak lamp 3", **{**sold_out, "price": 1600})
    await create_product(api, "B1", name="Oak chair", price=1500, categoryIds=[home["id"]])
    for filter in ({"search": "oak"}, {"search": "oak", "priceMin": 1}):
        facets = (await api.storefront(FACETS, {"filter": filter}))["productFacets"]
        assert facets["totalCount"] == 5 and facets["inStock"] == 4, filter
        assert _counts(facets, "categories", "category") == {"lights": 4, "home": 4}
        assert _counts(facets, "brands", "brand") == {"acme": 4}
        assert facets["priceRanges"] == [{"min": 1000, "max": 2499, "count": 5}]


async def test_facets_take_three_statements_whatever_the_catalogue(api: Api, db: Database) -> None:
    await _shop(api)
    await api.storefront(FACETS)  # the token is looked up once, then cached
    with StatementCounter() as small:
        await api.storefront(FACETS, {"filter": {"search": "lamp"}})
    for i in range(10):
        await create_product(api, f"X{i}", name=f"Lamp {i}", price=100 * i)
    with StatementCounter() as large:
        await api.storefront(FACETS, {"filter": {"search": "lamp"}})
    assert small.count == large.count
    assert large.count == 3  # the grouped counts, the brands, the categories


async def test_whole_catalogue_facets_are_kept_until_the_catalogue_changes(
    api: Api, db: Database
) -> None:
    """The unfiltered facets are kept per role under the `catalog` version stamp: a change
    committed through another Database (as another server process would) is seen at once."""
    await _shop(api)
    first = (await api.storefront(FACETS))["productFacets"]
    with StatementCounter() as again:
        assert (await api.storefront(FACETS))["productFacets"] == first
    assert again.count == 0
    assert (await api.admin(FACETS))["productFacets"]["totalCount"] == 5  # kept apart
    async with db.transaction() as session:
        await session.execute(update(Product).where(Product.sku == "L1").values(status="DRAFT"))
    with StatementCounter() as changed:
        facets = (await api.storefront(FACETS))["productFacets"]
    assert facets["totalCount"] == 3
    assert changed.count == 3
    assert (await api.admin(FACETS))["productFacets"]["totalCount"] == 5


async def test_sqlite_connections_read_through_a_shared_memory_map(db: Database) -> None:
    """Facets of a search look up every hit's product row and links: on SQLite they read
    through a memory map of the file (the OS page cache, shared), not each connection's 2 MB
    page cache that such lookups evict."""
    if not db.is_sqlite:
        pytest.skip("a SQLite setting")
    for engine in (db.read_engine, db.write_engine):
        async with engine.connect() as conn:
            mapped = (await conn.exec_driver_sql("PRAGMA mmap_size")).scalar()
        assert mapped == SQLITE_MMAP_BYTES


def test_facets_count_categories_from_arrays_where_they_can_and_never_rank() -> None:
    """PostgreSQL counts every match's categories from its row's category_ids (no link
    lookups, so no sort of the matches); SQLite does for a search with no other filter than
    the status (its FTS hits' facet columns and category ids from product_search_row, not
    each hit's product row nor links), and otherwise sorts a search's hits by id so their
    links are read in their index's order (not the whole catalogue: sorting 100k ids cost
    more than it saved). Counts are never ranked (no bm25 or ts_rank)."""
    for dialect, sqlite in ((postgresql.dialect(), False), (sqlite_dialect.dialect(), True)):
        for query in (ProductQuery(search="lamp"), ProductQuery(search="lamp", price_min=1)):
            plain = sqlite and query.price_min is None
            searched = str(_counts_statement(query, True, sqlite)[0].compile(dialect=dialect))
            assert ("ORDER BY product.id" in searched) == (sqlite and not plain)
            assert ("product_search_row.price" in searched) == plain
            assert ("JOIN product_category" in searched) == (sqlite and not plain)
            grouped_once = "GROUP BY hits.category_ids, hits.brand_id, (hits.bucket * 2) +"
            assert (grouped_once in searched) == (plain or not sqlite)
            assert "bm25" not in searched and "ts_rank" not in searched
        whole = str(_counts_statement(ProductQuery(), True, sqlite)[0].compile(dialect=dialect))
        assert "ORDER BY" not in whole
        assert ("JOIN product_category" in whole) == sqlite


async def test_a_search_s_facets_follow_every_write_to_the_columns_they_count(
    api: Api, db: Database
) -> None:
    """A search's facets (SQLite: from the search rows' copies of price, brand, stock and
    status, kept by triggers) equal the facets of the same search through the product rows
    (`priceMin: 0` matches every product and takes the other path) after each kind of write,
    for both roles."""
    await _shop(api)
    acme = await create_group(api, "brand", "Other")
    writes: list[dict[str, Any]] = [
        {"price": 60_000},
        {"brand_id": _pk(acme["id"])},
        {"brand_id": None},
        {"manage_stock": True, "stock_total": 3, "stock_allocated": 3},
        {"stock_allocated": 1},
        {"manage_stock": False},
        {"status": "DRAFT"},
        {"status": "LIVE"},
    ]
    for values in [{}, *writes]:
        if values:
            async with db.transaction() as session:
                await session.execute(update(Product).where(Product.sku == "L1").values(**values))
        for as_ in ("storefront", "admin"):
            plain = await api.data(FACETS, {"filter": {"search": "lamp"}}, as_=as_)
            other = await api.data(FACETS, {"filter": {"search": "lamp", "priceMin": 0}}, as_=as_)
            assert plain == other, (values, as_)
    facets = (await api.storefront(FACETS, {"filter": {"search": "desk"}}))["productFacets"]
    assert facets["inStock"] == 1 and facets["priceRanges"][0]["min"] == 50_000


def _pk(global_id: str) -> Any:
    parsed = parse_id(global_id)
    assert parsed is not None
    return parsed[1]


CATEGORY_DELETE = """mutation($id: ID!) { categoryDelete(id: $id) {
  category { id } errors { code } } }"""
BULK = """mutation($inputs: [ProductInput!]!) { productBulkCreate(inputs: $inputs) {
  products { id } errors { code } } }"""


async def test_a_search_s_category_counts_follow_every_write_to_the_links(
    api: Api, db_url: str
) -> None:
    """A search's category counts (SQLite: from the search rows' JSON arrays of category
    ids, kept by triggers on the links) equal the counts through the links (`priceMin: 0`
    takes that path) after each kind of write to the links and after the migration that
    adds the arrays is run again over existing links (its backfill), for both roles."""
    home = await create_category(api, "Home")
    lights = await create_category(api, "Lights", parentId=home["id"])
    desk = await create_product(api, "L1", name="Desk lamp", categoryIds=[lights["id"]])
    both = [home["id"], lights["id"]]
    floor = await create_product(api, "L2", name="Floor lamp", categoryIds=both)
    shade = await create_product(api, "L3", name="Lamp shade")

    async def same_counts() -> dict[str, int]:
        for as_ in ("storefront", "admin"):
            plain = await api.data(FACETS, {"filter": {"search": "lamp"}}, as_=as_)
            other = await api.data(FACETS, {"filter": {"search": "lamp", "priceMin": 0}}, as_=as_)
            assert plain == other, as_
        return _counts(plain["productFacets"], "categories", "category")

    assert await same_counts() == {"lights": 2, "home": 1}
    changes: list[tuple[str, dict[str, Any]]] = [
        (PRODUCT_UPDATE, {"id": shade["id"], "input": {"categoryIds": both}}),
        (PRODUCT_UPDATE, {"id": floor["id"], "input": {"categoryIds": []}}),
        (
            BULK,
            {
                "inputs": [
                    product_input(f"B{i}", name="Bulk lamp", categoryIds=both) for i in range(3)
                ]
            },
        ),
        (PRODUCT_DELETE, {"id": desk["id"]}),
        (CATEGORY_DELETE, {"id": lights["id"]}),
    ]
    expected = [
        {"lights": 3, "home": 2},
        {"lights": 2, "home": 1},
        {"lights": 5, "home": 4},
        {"lights": 4, "home": 4},
        {"home": 4},
    ]
    for (document, variables), counts in zip(changes, expected, strict=True):
        result = await api.admin(document, variables)
        assert all(not payload["errors"] for payload in result.values()), result
        assert await same_counts() == counts, document
    await asyncio.to_thread(_migrate, db_url, LINKS_REVISION_BEFORE, "downgrade")
    await create_product(api, "L9", name="Late lamp", categoryIds=[home["id"]])
    await asyncio.to_thread(_migrate, db_url, "head", "upgrade")
    assert await same_counts() == {"home": 5}


@pytest.mark.parametrize("backend", ["postgres"], indirect=False)
async def test_bulk_created_products_carry_their_category_ids_without_a_second_write(
    api: Api, db: Database
) -> None:
    """PostgreSQL: productBulkCreate inserts each product with its category_ids set and its
    links in one statement, so the links' triggers find nothing to change: no product row is
    written twice (an UPDATE per product was most of a batch's extra cost)."""
    home = _pk((await create_category(api, "Home"))["id"])
    lights = _pk((await create_category(api, "Lights"))["id"])
    inputs = [
        {**product_input(f"B{i}"), "category_ids": ids}
        for i, ids in enumerate([[lights, home], [home], []])
    ]
    async with db.transaction() as session:
        created = await bulk.create_products(session, inputs)
        stats = "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = :t"
        written = (await session.execute(text(stats), {"t": "product"})).one()
        arrays = select(Product.sku, PRODUCT_CATEGORY_IDS).where(
            Product.id.in_([p.id for p in created])
        )
        found = dict((await session.execute(arrays)).all())
    assert tuple(written) == (3, 0)
    assert found == {"B0": sorted([lights, home]), "B1": [home], "B2": []}
