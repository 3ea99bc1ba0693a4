"""Product search (API.md section 15): words, prefixes, accents and case; whole SKUs; the
RELEVANCE order walked with cursors; every other filter combined; drafts hidden from
storefronts; the index kept in step with writes and built for existing rows by its migration."""

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from domain import versions
from domain.catalog import ProductQuery, ProductSortField
from domain.facets import product_facets
from domain.pagination import PageRequest
from domain.search import (
    EXPANDED_WORDS,
    NAME_SKU_VECTOR,
    SearchTerms,
    page_of_products,
    product_listing,
    word_tsqueries,
)
from models.base import utcnow
from models.catalog import Product
from models.engine import Database, StatementCounter
from models.migrate import alembic_config
from resolvers.ids import parse_id
from tests.catalog_helpers import (
    PRODUCT_DELETE,
    PRODUCT_UPDATE,
    PRODUCTS,
    create_category,
    create_group,
    create_product,
)
from tests.conftest import Api

SEARCH_REVISION = "5c3a9f1d2b7e"
NAME_INDEX_REVISION = "e7f8a9b0c1d2"


async def _skus(api: Api, search: str, as_: str = "storefront", **variables: Any) -> list[str]:
    filter = {"search": search, **variables.pop("filter", {})}
    data = await api.data(PRODUCTS, {"first": 100, "filter": filter, **variables}, as_=as_)
    return [e["node"]["sku"] for e in data["products"]["edges"]]


async def _found(api: Api, search: str, **kw: Any) -> set[str]:
    return set(await _skus(api, search, **kw))


async def test_words_prefixes_accents_and_case(api: Api) -> None:
    await create_product(api, "CAFE-1", name="Café Crème mug", description="Stoneware, 300 ml")
    await create_product(api, "TEA-1", name="Tea mug", description="Porcelain for the café")
    await create_product(api, "KET-1", name="Kettle", description="Steel; whistles")
    assert await _found(api, "CAFE") == {"CAFE-1", "TEA-1"}  # accents and case ignored
    assert await _found(api, "crème MUG") == {"CAFE-1"}  # every word must match
    assert await _found(api, "mug kettle") == set()
    assert await _found(api, "stonew") == {"CAFE-1"}  # the last word as a prefix
    assert await _found(api, "ket") == {"KET-1"}
    assert await _found(api, "stonew mug") == set()  # only the last word is a prefix
    assert await _found(api, "whistles steel") == {"KET-1"}  # any order, any field
    assert await _found(api, "porcelain tea-1") == {"TEA-1"}  # SKU words too
    assert await _found(api, "zzqx") == set()


async def test_a_whole_sku_matches_exactly_and_comes_first(api: Api) -> None:
    await create_product(api, "AB-1", name="Red lamp ab 1")
    await create_product(api, "X/7#", name="Odd", description="mentions ab 1 too")
    await create_product(api, "AB-12", name="Other lamp")
    assert (await _skus(api, "AB-1"))[0] == "AB-1"
    assert await _found(api, "AB-1") == {"AB-1", "AB-12", "X/7#"}  # "ab" and prefix "1"
    assert await _skus(api, "X/7#") == ["X/7#"]
    assert await _skus(api, "  AB-12 ") == ["AB-12"]


async def test_relevance_walks_with_cursors_without_skips_or_repeats(api: Api) -> None:
    for i in range(13):
        name = "Lamp lamp" if i % 3 == 0 else "Lamp"
        await create_product(api, f"L{i:02d}", name=name, description="lamp " * (i % 4))
    await create_product(api, "OTHER", name="Chair")
    everything = await _skus(api, "lamp")
    assert len(everything) == 13 and len(set(everything)) == 13
    for direction, sort in (("after", None), ("after", {"field": "RELEVANCE"})):
        seen: list[str] = []
        variables: dict[str, Any] = {"first": 4, "filter": {"search": "lamp"}, "sortBy": sort}
        while True:
            page = (await api.storefront(PRODUCTS, variables))["products"]
            seen += [e["node"]["sku"] for e in page["edges"]]
            assert page["totalCount"] == 13
            if not page["pageInfo"]["hasNextPage"]:
                break
            variables[direction] = page["pageInfo"]["endCursor"]
        assert seen == everything
    backwards: list[str] = []
    variables = {"last": 5, "filter": {"search": "lamp"}}
    while True:
        page = (await api.storefront(PRODUCTS, variables))["products"]
        backwards = [e["node"]["sku"] for e in page["edges"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        variables["before"] = page["pageInfo"]["startCursor"]
    assert backwards == everything
    descending = await _skus(api, "lamp", sortBy={"field": "RELEVANCE", "direction": "DESC"})
    assert descending == everything[::-1]


async def test_one_word_ranks_name_and_sku_hits_first_each_tier_by_id(
    api: Api, db: Database
) -> None:
    """One word: the products with it in their name or SKU, then those with it in their
    description only, each tier in product id order on PostgreSQL and in creation (search
    row) order on SQLite (not bm25's shorter-text preference, which would list "Lamp" before
    "Lamp for a long reading evening"). Several words are still ranked by bm25 / ts_rank."""
    names = ["Lamp", "Lamp for a long reading evening", "Small desk lamp", "Lamp of brass"]
    tops = [await create_product(api, f"N{i}", name=name) for i, name in enumerate(names)]
    tops.append(await create_product(api, "LAMP-9", name="Shade"))
    description = ["a lamp", "a lamp for the long reading evenings of winter", "lamp oil"]
    rest = [
        await create_product(api, f"D{i}", name="Bulb", description=text)
        for i, text in enumerate(description)
    ]
    await create_product(api, "NONE", name="Chair", description="no light")

    def by_id(products: list[dict[str, Any]]) -> list[str]:
        if db.is_sqlite:  # (created in this order)
            return [p["sku"] for p in products]
        return [p["sku"] for p in sorted(products, key=lambda p: _pk(p["id"]))]

    assert await _skus(api, "lamp") == by_id(tops) + by_id(rest)
    assert await _skus(api, "lam") == by_id(tops) + by_id(rest)  # a prefix: the same tiers
    assert (await _skus(api, "lamp reading"))[0] in {"N1", "D1"}


async def test_a_one_word_first_page_reads_each_tier_s_first_hits_not_every_hit(
    api: Api, db: Database
) -> None:
    """A one-word search's first page: PostgreSQL (no count asked) takes each tier's first
    hits from a probe of the first products by id when it holds enough of them, else reads
    the tier whole; SQLite takes each tier's first hits in the FTS index's order. Every first
    page equals the one ranked from every hit whatever the probe's size (down to 1 product:
    every fallback), for storefronts (drafts skipped) and admins, and the cursor walk from it
    continues on the ranked pages without skips or repeats."""
    for i in range(4):
        await create_product(api, f"N{i}", name=f"Lamp {i}")
        await create_product(api, f"D{i}", name=f"Bowl {i}", description="by the lamp")
    await create_product(api, "LAMP", name="Shade")  # a whole SKU, ranked first
    await create_product(api, "X-1", name="Draft lamp", status="DRAFT")
    await create_product(api, "X-2", name="Vase", description="a lamp too", status="DRAFT")
    await create_product(api, "C-1", name="Chair")
    for search in ("lamp", "la", "LAMP", "bowl", "zz"):
        for storefront in (True, False):
            for probe_rows in (1, 3, 1000):
                for size in (1, 2, 3, 6, 20):
                    query = ProductQuery(search=search)
                    listing = product_listing(
                        query, None, storefront, db.is_sqlite, False, probe_rows
                    )
                    assert listing.first_page is not None
                    ranked = replace(listing, first_page=None)
                    async with db.reader() as session:
                        pages = [
                            await page_of_products(session, each, False, PageRequest(first=size))
                            for each in (listing, ranked)
                        ]
                    assert [p.items for p in pages] == [pages[1].items] * 2
                    assert [p.cursors for p in pages] == [pages[1].cursors] * 2
                    assert pages[0].has_next_page == pages[1].has_next_page
                    if size == 20:  # the count
                        async with db.reader() as session:
                            counts = [
                                await session.scalar(p.count_statement, p.params) for p in pages
                            ]
                        assert counts[0] == counts[1] == len(pages[1].items)
    counted = product_listing(ProductQuery(search="lamp"), None, True, db.is_sqlite, True)
    assert (counted.first_page is None) != db.is_sqlite  # (PostgreSQL: the ranked page counts)
    if not db.is_sqlite:  # one statement per shape, built once; the words are its parameters
        pages = [
            product_listing(ProductQuery(search=word), None, True, False, False).first_page
            for word in ("lamp", "bowl", "t-shirt")
        ]
        built = [page(3) for page in pages if page is not None]
        assert built[0][0] is built[1][0] and built[0][0] is not built[2][0]
        assert [b[2]["search_run_0"] for b in built] == ["lamp", "bowl", "t"]
        ranked = [
            product_listing(ProductQuery(search=words), None, True, False, False)
            for words in ("red lamp", "blue bowl", "red t-shirt")
        ]  # the whole ranked statement too, for every number of words
        assert ranked[0].statement is ranked[1].statement is not ranked[2].statement
        assert ranked[1].params is not None and ranked[1].params["search_run_1"] == "bowl"
    uncounted = PRODUCTS.replace("totalCount", "")
    variables: dict[str, Any] = {"first": 2, "filter": {"search": "lamp"}}
    seen: list[str] = []
    while True:
        page = (await api.storefront(uncounted, variables))["products"]
        seen += [e["node"]["sku"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    assert seen == await _skus(api, "lamp") and len(seen) == 9


def test_the_name_and_sku_index_is_the_expression_searches_name() -> None:
    migration = ScriptDirectory.from_config(alembic_config()).get_revision(NAME_INDEX_REVISION)
    assert migration.module.NAME_SKU_VECTOR == NAME_SKU_VECTOR


def _pk(global_id: str) -> uuid.UUID:
    parsed = parse_id(global_id)
    assert parsed is not None
    return parsed[1]


async def test_relevance_prefers_name_matches_and_needs_a_search(api: Api) -> None:
    await create_product(api, "D", name="Bowl", description="pairs with a lamp")
    await create_product(api, "N", name="Lamp")
    assert await _skus(api, "lamp") == ["N", "D"]
    by_name = await api.storefront(PRODUCTS, {"first": 5, "sortBy": {"field": "RELEVANCE"}})
    assert [e["node"]["sku"] for e in by_name["products"]["edges"]] == ["D", "N"]  # as NAME
    name_cursor = by_name["products"]["edges"][0]["cursor"]
    mixed = await api.gql(
        PRODUCTS, {"filter": {"search": "lamp"}, "after": name_cursor}, as_="storefront"
    )
    assert mixed["errors"][0]["extensions"]["code"] == "INVALID"


async def test_search_combines_with_every_filter(api: Api) -> None:
    home = await create_category(api, "Home")
    lights = await create_category(api, "Lights", parentId=home["id"])
    acme = await create_group(api, "brand", "Acme")
    summer = await create_group(api, "collection", "Summer")
    await create_product(
        api,
        "L1",
        name="Desk lamp",
        price=3000,
        categoryIds=[lights["id"]],
        brandId=acme["id"],
        collectionIds=[summer["id"]],
        manageStock=True,
        stock=3,
    )
    await create_product(api, "L2", name="Floor lamp", price=9000, manageStock=True, stock=0)
    await create_product(api, "L3", name="Lamp shade", price=500, status="DRAFT")
    parent = await create_product(api, "P", name="Lamp kit", price=100)
    await create_product(api, "CHAIR", name="Chair", price=3000, categoryIds=[lights["id"]])
    assert await _found(api, "lamp", filter={"categorySlug": "home"}) == {"L1"}
    assert await _found(api, "lamp", filter={"brandSlug": "acme"}) == {"L1"}
    assert await _found(api, "lamp", filter={"collectionSlug": "summer"}) == {"L1"}
    assert await _found(api, "lamp", filter={"priceMin": 1000, "priceMax": 5000}) == {"L1"}
    assert await _found(api, "lamp", filter={"inStock": False}) == {"L2"}
    assert await _found(api, "lamp", filter={"inStock": True}) == {"L1", "P"}
    assert await _found(api, "lamp", filter={"isChild": False}) == {"L1", "L2", "P"}
    assert await _found(api, "lamp", filter={"parentId": parent["id"]}) == set()
    assert await _found(api, "lamp", as_="admin", filter={"status": "DRAFT"}) == {"L3"}
    assert await _found(api, "lamp", filter={"status": "DRAFT"}) == set()
    by_price = await _skus(api, "lamp", sortBy={"field": "PRICE", "direction": "DESC"})
    assert by_price == ["L2", "L1", "P"]
    in_category = """query($search: String) { category(slug: "home") {
        products(filter: {search: $search}) { edges { node { sku } } } } }"""
    data = await api.storefront(in_category, {"search": "desk"})
    assert [e["node"]["sku"] for e in data["category"]["products"]["edges"]] == ["L1"]


async def test_search_counts_equal_the_products_found_and_rank_only_to_order(api: Api) -> None:
    """totalCount of every kind of search listing is the number of products it lists; on
    SQLite neither a count nor a listing in another order computes a rank (bm25 per hit is
    most of the time of a count of thousands of hits; one word's name-or-SKU tier)."""
    await _shop_of_lamps(api)
    cases: list[dict[str, Any]] = [
        {"filter": {"search": "lamp"}},  # RELEVANCE, storefront: hits ranked alone
        {"filter": {"search": "L-1"}},  # the whole-SKU branch
        {"filter": {"search": "lamp", "priceMin": 200}},  # RELEVANCE joined to products
        {"filter": {"search": "lamp"}, "sortBy": {"field": "PRICE"}},
        {"filter": {"search": "nothing"}},
    ]
    for variables in cases:
        data = await api.storefront(PRODUCTS, {"first": 100, **variables})
        products = data["products"]
        assert products["totalCount"] == len(products["edges"]), variables
    for query, sort in (
        (ProductQuery(search="lamp"), None),
        (ProductQuery(search="lamp", price_min=200), None),
        (ProductQuery(search="lamp"), ProductSortField.PRICE),
    ):
        for words, rank in (("lamp", "product_search.rowid IN"), ("lamp 2", "bm25")):
            query = replace(query, search=words)
            listing = product_listing(query, sort, storefront=True, sqlite=True)
            counted = listing.counted if listing.counted is not None else listing.statement
            assert rank not in str(counted.compile(dialect=sqlite.dialect()))
            ranked = rank in str(listing.statement.compile(dialect=sqlite.dialect()))
            assert ranked == (sort is None)


async def test_a_relevance_page_on_postgresql_counts_in_its_own_statement(
    api: Api, db: Database
) -> None:
    """PostgreSQL reads every hit to rank it, so the first page of a RELEVANCE search carries
    the count (a window): totalCount adds no statement there. Pages after a cursor (the
    window would count only the rows after it), `first: 0` and SQLite count apart; every
    way gives the same total."""
    await _shop_of_lamps(api)
    uncounted_query = PRODUCTS.replace("totalCount", "")
    variables: dict[str, Any] = {"first": 2, "filter": {"search": "lamp"}}
    await api.admin(uncounted_query, variables)  # the token and reference data cached
    with StatementCounter() as counted:  # (admins: no response cache)
        first = (await api.admin(PRODUCTS, variables))["products"]
    with StatementCounter() as uncounted:
        await api.admin(uncounted_query, variables)
    assert counted.count - uncounted.count == (1 if db.is_sqlite else 0)
    after = {**variables, "after": first["pageInfo"]["endCursor"]}
    second = (await api.admin(PRODUCTS, after))["products"]
    none = (await api.admin(PRODUCTS, {**variables, "first": 0}))["products"]
    nothing = await api.admin(PRODUCTS, {"first": 2, "filter": {"search": "zzqxw"}})
    assert first["totalCount"] == second["totalCount"] == none["totalCount"] == 6
    assert nothing["products"]["totalCount"] == 0


async def test_a_relevance_page_reads_its_products_in_the_statement_that_ranks(
    api: Api, db: Database
) -> None:
    """A RELEVANCE page ranks narrow (id, score) rows and reads the product rows of the page
    only, in the same statement: a search page runs as many statements as the same page
    without a search, with or without other filters, on both databases; PostgreSQL counts
    with a window only when totalCount is asked."""
    await _shop_of_lamps(api)
    uncounted_query = PRODUCTS.replace("totalCount", "")
    await api.admin(uncounted_query, {"first": 2})  # the token and reference data cached
    counts = []
    for filter in (None, {"search": "lamp"}, {"search": "lamp", "priceMin": 100}):
        with StatementCounter() as counter:
            data = await api.admin(uncounted_query, {"first": 2, "filter": filter})
        assert len(data["products"]["edges"]) == 2
        counts.append(counter.count)
    assert counts[0] == counts[1] == counts[2], counts
    for query in (ProductQuery(search="lamp"), ProductQuery(search="lamp", price_min=100)):
        for with_total in (False, True):
            listing = product_listing(query, None, True, db.is_sqlite, with_total)
            names = [c.name for c in listing.statement.selected_columns]
            windowed = with_total and not db.is_sqlite
            assert names == ["id", "score", *(["total"] if windowed else [])]


async def _shop_of_lamps(api: Api) -> None:
    for i in range(5):
        await create_product(api, f"L-{i}", name=f"Lamp {i}", price=100 * i)
    await create_product(api, "D-1", name="Draft lamp", status="DRAFT")
    await create_product(api, "C-1", name="Chair")


async def test_drafts_are_never_found_by_storefronts(api: Api) -> None:
    draft = await create_product(api, "SECRET-1", name="Secret lamp", status="DRAFT")
    assert await _found(api, "secret") == set()
    assert await _found(api, "SECRET-1") == set()  # not by its whole SKU either
    assert await _found(api, "secret", as_="admin") == {"SECRET-1"}
    await api.admin(PRODUCT_UPDATE, {"id": draft["id"], "input": {"status": "LIVE"}})
    assert await _found(api, "secret") == {"SECRET-1"}


async def test_the_index_follows_updates_and_deletes(api: Api) -> None:
    product = await create_product(api, "OLD-SKU", name="Walnut desk", description="oiled")
    changes = {"name": "Oak table", "sku": "NEW-SKU", "description": "waxed"}
    result = await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": changes})
    assert result["productUpdate"]["errors"] == []
    for gone in ("walnut", "desk", "oiled", "OLD-SKU"):
        assert await _found(api, gone, as_="admin") == set(), gone
    for found in ("oak table", "waxed", "NEW-SKU"):
        assert await _found(api, found, as_="admin") == {"NEW-SKU"}, found
    await api.admin(PRODUCT_DELETE, {"id": product["id"]})
    assert await _found(api, "oak", as_="admin") == set()


async def test_a_last_word_matches_every_word_it_starts(api: Api, db: Database) -> None:
    """The last word is a prefix however it is matched (PostgreSQL: as the words of
    `search_word` starting with it, when there are at most EXPANDED_WORDS of them, else as a
    prefix), with the words a product gets when created or renamed."""
    await create_product(api, "M1", name="Red mug")
    await create_product(api, "M2", name="Red mugs", description="a pair")
    await create_product(api, "M3", name="Blue mugwort")
    await create_product(api, "M4", name="Red cup", description="not a mu g")
    for i in range(EXPANDED_WORDS + 2):  # more words starting "lamp" than are expanded
        await create_product(api, f"L{i}", name=f"Red lamp{chr(97 + i)}")
    await create_product(api, "T1", name="Red t-shirt")
    assert await _found(api, "red mug") == {"M1", "M2"}
    assert await _found(api, "mugw") == {"M3"}
    assert await _found(api, "red mugw") == set()
    assert await _found(api, "red lamp") == {f"L{i}" for i in range(EXPANDED_WORDS + 2)}
    assert await _found(api, "red lampc") == {"L2"}
    assert await _found(api, "red t-sh") == {"T1"}  # (a phrase: its last run a prefix)
    assert await _found(api, "pair mu") == {"M2"}
    cup = (await api.admin(PRODUCTS, {"first": 1, "filter": {"search": "cup"}}))["products"]
    changes = {"input": {"name": "Red mugful"}, "id": cup["edges"][0]["node"]["id"]}
    assert (await api.admin(PRODUCT_UPDATE, changes))["productUpdate"]["errors"] == []
    assert await _found(api, "red mug") == {"M1", "M2", "M4"}
    assert await _missing_words(db) == 0
    if not db.is_sqlite:  # what PostgreSQL's index reads: each word, the last as words or a prefix
        queries = {}
        async with db.reader() as session:
            for search in ("red mug", "red lamp", "mugw", "red t-sh", "zz", "t-shirt red"):
                terms = SearchTerms.parse(search)
                assert terms is not None
                queries[search] = [await session.scalar(select(q)) for q in word_tsqueries(terms)]
        assert queries == {
            "red mug": ["'red'", "'mug' | 'mugful' | 'mugs' | 'mugwort'"],
            "red lamp": ["'red'", "'lamp':*"],
            "mugw": ["'mugwort'"],
            "red t-sh": ["'red'", "'t' <-> 'sh':*"],
            "zz": ["'zz':*"],
            "t-shirt red": ["'t' <-> 'shirt'", "'red'"],
        }


async def _missing_words(db: Database) -> int:
    """PostgreSQL: the lexemes of products' search vectors missing from search_word (0 on
    SQLite, which has no such table)."""
    if db.is_sqlite:
        return 0
    missing = """SELECT count(*) FROM product, unnest(tsvector_to_array(search_vector)) AS w
                 WHERE NOT EXISTS (SELECT 1 FROM search_word s WHERE s.word = w COLLATE "C")"""
    async with db.reader() as session:
        return int(await session.scalar(text(missing)) or 0)


async def test_search_words_follow_bulk_inserts_and_updates(db: Database) -> None:
    """PostgreSQL keeps every lexeme of every product in search_word: after a multi-row
    INSERT (the statement-level trigger), after renames, SKU and description changes."""
    now = utcnow()
    fixed = {"images": [], "custom_fields": {}, "created_at": now, "updated_at": now}
    rows = [
        {"sku": f"BULK-{i}", "slug": f"bulk-{i}", "name": f"Crème jug{i}", "price": 100}
        for i in range(5)
    ]
    async with db.transaction() as session:
        await session.execute(insert(Product), [{**r, **fixed} for r in rows])
    assert await _missing_words(db) == 0
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE product SET name = 'Zircon vase', description = 'quartz',"
                " sku = 'ZV-' || substr(slug, 6)"
            )
        )
    assert await _missing_words(db) == 0
    if not db.is_sqlite:
        async with db.reader() as session:
            words = set(await session.scalars(text("SELECT word FROM search_word")))
        assert {"creme", "jug0", "zircon", "quartz", "zv", "4"} <= words
    listing = product_listing(ProductQuery(search="quartz zirc"), None, False, db.is_sqlite)
    async with db.reader() as session:
        page = await page_of_products(session, listing, False, PageRequest(first=10))
    assert sorted(p.sku for p in page.items) == [f"ZV-{i}" for i in range(5)]


async def test_a_search_too_long_is_invalid(api: Api) -> None:
    result = await api.gql(PRODUCTS, {"filter": {"search": "word " * 17}}, as_="storefront")
    assert result["errors"][0]["extensions"]["code"] == "INVALID"
    result = await api.gql(PRODUCTS, {"filter": {"search": "x" * 201}}, as_="storefront")
    assert result["errors"][0]["extensions"]["code"] == "INVALID"


def _migrate(db_url: str, revision: str, direction: str) -> None:
    """Run Alembic on `db_url` (in a worker thread: Alembic's env runs its own event loop)."""

    async def run() -> None:
        db = Database(db_url)

        def step(connection: Connection) -> None:
            getattr(command, direction)(alembic_config(connection), revision)

        async with db.write_engine.begin() as conn:
            await conn.run_sync(step)
        await db.dispose()

    asyncio.run(run())


async def test_the_migration_indexes_existing_products(db_url: str) -> None:
    before = ScriptDirectory.from_config(alembic_config()).get_revision(SEARCH_REVISION)
    await asyncio.to_thread(_migrate, db_url, str(before.down_revision), "downgrade")
    db = Database(db_url)
    try:
        now = utcnow()
        rows = [
            {"sku": f"OLD-{i}", "slug": f"old-{i}", "name": f"Brass lamp {i}", "price": 5000}
            for i in range(3)
        ]
        fixed = {"images": [], "custom_fields": {}, "created_at": now, "updated_at": now}
        with versions.suspended():  # no version_stamp table at that revision
            async with db.transaction() as session:
                await session.execute(insert(Product), [{**r, **fixed} for r in rows])
    finally:
        await db.dispose()
    await asyncio.to_thread(_migrate, db_url, "head", "upgrade")
    db = Database(db_url)
    try:
        listing = product_listing(ProductQuery(search="brass"), None, False, db.is_sqlite)
        async with db.reader() as session:
            page = await page_of_products(session, listing, False, PageRequest(first=10))
        assert sorted(p.sku for p in page.items) == ["OLD-0", "OLD-1", "OLD-2"]
        async with db.reader() as session:  # (SQLite: from the search rows' own columns)
            counted = await product_facets(
                session, ProductQuery(search="brass"), False, db.is_sqlite
            )
        assert (counted.total_count, counted.in_stock) == (3, 3)
        assert [(r.min, r.count) for r in counted.price_ranges] == [(5000, 3)]
        assert await _missing_words(db) == 0  # (PostgreSQL: search_word filled, b8c9d0e1f2a3)
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=False)
async def test_sqlite_search_triggers_exist_at_head(db: Database) -> None:
    """A later migration that rebuilds the product table on SQLite drops its triggers; this
    notices (see the search migration's docstring)."""
    async with db.reader() as session:
        rows = await session.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'product'")
        )
        names = {r[0] for r in rows}
    triggers = {"insert", "update", "status", "delete"}
    assert {f"product_search_{name}" for name in triggers} <= names
    async with db.reader() as session:  # the links' copies in the search rows (a1b2c3d4e5f7)
        rows = await session.execute(
            text(
                "SELECT name FROM sqlite_master"
                " WHERE type = 'trigger' AND tbl_name = 'product_category'"
            )
        )
        names = {r[0] for r in rows}
    assert {f"product_category_search_{name}" for name in ("insert", "delete", "update")} <= names


@pytest.mark.parametrize("backend", ["postgres"], indirect=False)
async def test_postgres_search_indexes_keep_small_pending_lists(db: Database) -> None:
    """Every search reads a GIN index's whole pending list: migration c9d0e1f2a3b4 bounds it."""
    async with db.reader() as session:
        rows = await session.execute(
            text(
                "SELECT relname, reloptions FROM pg_class"
                " WHERE relname IN ('ix_product_search', 'ix_product_search_name')"
            )
        )
        options = {name: opts for name, opts in rows}
    assert options == {
        "ix_product_search": ["gin_pending_list_limit=256"],
        "ix_product_search_name": ["gin_pending_list_limit=256"],
    }


async def test_search_word_triggers_plan_against_the_table_as_it_is(db: Database) -> None:
    """PostgreSQL: the triggers keeping search_word were planned on their first call and kept
    that plan for the connection (PL/pgSQL): planned on a young store's nearly empty table,
    every later call read all of search_word (a bulk load went quadratic). They now plan on
    each call (migration d0e1f2a3b4c5): one connection, first calls on a small table, then
    50k words; new words are then found by index probes, not by reading the table."""
    if db.is_sqlite:
        pytest.skip("search_word is PostgreSQL's")
    seq_scans = text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'search_word'")
    rename = text("UPDATE product SET name = :name WHERE sku = :sku")
    now = utcnow()
    fixed = {"images": [], "custom_fields": {}, "created_at": now, "updated_at": now}

    async def add(conn: Any, sku: str, name: str) -> None:
        row = {"sku": sku, "slug": sku.lower(), "name": name, "price": 100, **fixed}
        await conn.execute(insert(Product), [row])

    async with db.write_engine.connect() as conn, conn.begin():
        await add(conn, "FIRST", "Early jug")
        await conn.execute(rename, {"name": "Early vase", "sku": "FIRST"})
        await conn.execute(
            text("INSERT INTO search_word SELECT 'w' || g FROM generate_series(1, 50000) g")
        )
        before = await conn.scalar(seq_scans)
        await add(conn, "LATER", "Brandnewword jug")
        await conn.execute(rename, {"name": "Othernewword jug", "sku": "LATER"})
        assert await conn.scalar(seq_scans) == before
        found = text(
            "SELECT count(*) FROM search_word WHERE word IN ('brandnewword', 'othernewword')"
        )
        assert await conn.scalar(found) == 2
