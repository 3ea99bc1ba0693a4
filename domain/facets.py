"""Facet counts over a product listing (API.md section 15), in at most three statements
whatever the catalogue, over exactly the products the listing's filter matches (the same
statement, search index included), so `total_count` always equals the listing's totalCount.

1. The counts, in one statement: where the matches carry their category ids (PostgreSQL,
   and a SQLite search with no other filter than the status), they are grouped once by
   (category ids, brand, price bucket and in-stock flag as one integer), a few hundred groups
   for 10k matches, and each facet summed from the groups (the 10k hits of a prefix search
   at 100k products, in process, alternated: SQLite 29.4 -> 22.7 ms, PostgreSQL 27.2 ->
   19.8 ms, medians; see _from_groups);
   otherwise the matches are computed once (a MATERIALIZED common table expression) and
   grouped three ways:
   - price ranges and in-stock: buckets of the stored price (store currency minor units
     without tax: the same number `priceMin`/`priceMax` filter on);
   - brands: matches per brand;
   - categories: matches linked to each category itself (not its sub-categories: a product
     in two sub-categories of one parent would count twice in a sum), never from all links:
     PostgreSQL unnests each matched row's `product.category_ids` (uuid[], kept by triggers
     on the links, migration b2c3d4e5f6a8; a one-word search's 5k hits at 100k products:
     18.8k -> 3.7k buffers, the counts in SQL 14.2 -> 10.7 ms, minima of 25 alternated
     runs); SQLite, for a search with no other filter than the status, reads its hits'
     search rows (`product_search_row.category_ids`, a JSON array kept by triggers on the
     links, migration a1b2c3d4e5f7; the whole facets call in process, minima 15.8-16.6 ->
     9.5-11.8 ms), and otherwise looks each match's links up in their primary key (a
     search's matches sorted by id first, so they are read in the index's order).
   Such a search's counts statement is built once per shape and kept (PlainSearch; building
   it took 1.2-1.9 ms a request).
2. The brands counted (storefronts: LIVE ones, as they only see those), most first.
3. The categories counted, most first.
"""

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Uuid,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from domain.catalog import ProductQuery, ProductSortField, Status, in_stock_condition
from domain.search import PlainSearch, facet_hits, product_listing
from models.catalog import PRODUCT_CATEGORY_IDS, Brand, Category, Product, ProductCategory

PRICE_BUCKETS = (0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000)
"""Lower bounds of the price ranges (minor units): 0-9.99, 10-24.99, 25-49.99, 50-99.99,
100-249.99, 250-499.99, 500-999.99, 1000 and up in a two-decimal currency."""
_PRICES, _BRANDS, _CATEGORIES = 0, 1, 2
_NO_ID, _NO_BUCKET = cast(null(), Uuid()), cast(null(), Integer)
_TWO = literal_column("2")


@dataclass(frozen=True)
class PriceRange:
    min: int
    max: int | None
    """Inclusive, like the priceMax filter; None for the open top range."""
    count: int


@dataclass(frozen=True)
class Facets:
    total_count: int
    categories: list[tuple[Category, int]]
    brands: list[tuple[Brand, int]]
    price_ranges: list[PriceRange]
    in_stock: int


def _bucket(price: Any) -> Any:
    """The index of the price's bucket (0 .. len(PRICE_BUCKETS) - 1)."""
    return case(
        *((price >= low, i) for i, low in reversed(list(enumerate(PRICE_BUCKETS)))),
        else_=0,
    )


def _ranges(counts: dict[int, int]) -> list[PriceRange]:
    """The non-empty ranges, cheapest first."""
    ranges = []
    for i, low in enumerate(PRICE_BUCKETS):
        if counts.get(i):
            high = PRICE_BUCKETS[i + 1] - 1 if i + 1 < len(PRICE_BUCKETS) else None
            ranges.append(PriceRange(low, high, counts[i]))
    return ranges


def _not_indexed(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`+value`: SQLite then cannot use (or build) an index on it, so it joins from the
    matches to the links' primary key instead of scanning every link (measured at 100k
    products: 375 ms for all links, a few ms for 5k matches)."""
    return UnaryExpression(value, operator=operators.custom_op("+"))


def _counts_statement(
    query: ProductQuery, storefront: bool, sqlite: bool
) -> tuple[Any, dict[str, Any] | None]:
    """(facet, bucket, id, count, in stock) rows: one per price bucket, brand and category;
    and the statement's parameters (None: its values are in it). A search with no other
    filter than the status: a statement kept per shape, the search its parameters."""
    plain = PlainSearch.of(query, storefront)
    if plain is not None:
        return _plain_search_counts(*plain.shape, sqlite), plain.parameters
    listing = product_listing(query, ProductSortField.NAME, storefront, sqlite)
    in_stock = case((in_stock_condition(True), 1), else_=0)
    columns = [
        Product.id.label("id"),
        Product.brand_id.label("brand_id"),
        Product.price.label("price"),
        in_stock.label("in_stock"),
    ]
    if not sqlite:  # (PostgreSQL: each product row carries its category ids)
        columns.append(PRODUCT_CATEGORY_IDS.label("category_ids"))
    matches = listing.statement.with_only_columns(*columns)
    if sqlite and query.search:  # a search's hits are found in no order; sorting a few
        matches = matches.order_by(Product.id)  # thousand ids pays (100k: no)
    return _grouped(matches, sqlite, arrays=not sqlite), None


@functools.lru_cache(maxsize=256)
def _plain_search_counts(runs: tuple[int, ...], by_status: bool, sqlite: bool) -> Any:
    """The counts statement of a PlainSearch of this shape."""
    return _from_groups([_facet_rows(hits) for hits in facet_hits(runs, by_status, sqlite)], sqlite)


def _facet_rows(matches: Select[Any]) -> Select[Any]:
    """The (brand_id, bucket, in_stock, category_ids) rows of `matches`."""
    found = matches.selected_columns
    bucket = _bucket(found.price).label("bucket")
    return matches.with_only_columns(found.brand_id, bucket, found.in_stock, found.category_ids)


def _grouped(matches: Select[Any], sqlite: bool, arrays: bool) -> Any:
    """`matches` (id, brand_id, price, in_stock[, category_ids] rows) grouped three ways.
    `arrays`: the categories from each match's category_ids (SQLite: a JSON array,
    PostgreSQL: uuid[]), else from its links."""
    if arrays:
        return _from_groups([_facet_rows(matches)], sqlite)
    found = matches.selected_columns
    bucket = _bucket(found.price).label("bucket")
    # computed once, read three times
    rows = (
        matches.with_only_columns(found.id, found.brand_id, bucket, found.in_stock)
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    product_id = _not_indexed(rows.c.id)  # (SQLite)
    categories = (
        select(literal(_CATEGORIES), _NO_BUCKET, ProductCategory.category_id, func.count())
        .add_columns(null())
        .select_from(rows)
        .join(ProductCategory, ProductCategory.product_id == product_id)
        .group_by(ProductCategory.category_id)
    )
    return _three_ways(rows.c.bucket, rows.c.brand_id, func.count(), rows.c.in_stock, categories)


def _from_groups(parts: list[Select[Any]], sqlite: bool) -> Any:
    """The (brand_id, bucket, in_stock, category_ids) rows of `parts` (matches that no two
    parts share), each part grouped once by its category ids, brand and stock bucket (a few
    hundred groups for thousands of matches: one sort on SQLite, one hash on PostgreSQL,
    instead of materializing every match and grouping it three times, its category ids
    unnested one by one), then each facet summed from the groups. The stock bucket (bucket
    * 2 + in stock) is one integer key, and the text key first: SQLite's sort of walnu's 10k
    hits by three keys, not four (bucket and in-stock apart), 14.0 -> 12.8 ms of SQL (minima
    of 30 alternated runs)."""
    grouped = []
    for i, part in enumerate(parts):
        hits = part.subquery(f"hits{i or ''}")
        stock_bucket = hits.c.bucket.op("*")(_TWO).op("+")(hits.c.in_stock)
        keys = (hits.c.category_ids, hits.c.brand_id, stock_bucket.label("stock_bucket"))
        grouped.append(select(*keys, func.count().label("n")).group_by(*keys))
    union = grouped[0] if len(grouped) == 1 else union_all(*grouped)
    groups = union.cte("groups").prefix_with("MATERIALIZED")
    if sqlite:
        each: Any = func.json_each(groups.c.category_ids).table_valued("value")
        found_from = groups.join(each, true())
        n = groups.c.n
    else:  # unnest in the select list (a ProjectSet), not a join to it
        each = select(func.unnest(groups.c.category_ids).label("value"), groups.c.n)
        each = found_from = each.subquery("each")
        n = each.c.n
    category: Any = type_coerce(each.c.value, Uuid())
    categories = (
        select(literal(_CATEGORIES), _NO_BUCKET, category, _total(n), null())
        .select_from(found_from)
        .group_by(each.c.value)
    )
    in_stock = groups.c.stock_bucket.op("%")(_TWO)
    return _three_ways(
        groups.c.stock_bucket.op("/")(_TWO),  # (integer division)
        groups.c.brand_id,
        _total(groups.c.n),
        in_stock.op("*")(groups.c.n),
        categories,
    )


def _total(n: Any) -> Any:
    return func.sum(n).cast(Integer)


def _three_ways(
    bucket: Any, brand_id: Any, count: Any, stocked: Any, categories: Select[Any]
) -> Any:
    """The price buckets (with the in-stock sum), brands and `categories` counts: `count`
    of each group, `stocked` in stock."""
    return union_all(
        select(literal(_PRICES), bucket, _NO_ID, count, _total(stocked)).group_by(bucket),
        select(literal(_BRANDS), _NO_BUCKET, brand_id, count, null())
        .where(brand_id.is_not(None))
        .group_by(brand_id),
        categories,
    )


async def _named(
    session: AsyncSession, model: Any, counts: dict[uuid.UUID, int], live_only: bool
) -> list[tuple[Any, int]]:
    """The rows of `model` counted, most first (then by name and id); none: no statement."""
    if not counts:
        return []
    stmt = select(model).where(model.id.in_(counts))
    if live_only:
        stmt = stmt.where(model.status == Status.LIVE.value)
    rows = (await session.scalars(stmt)).all()
    return sorted(
        ((row, counts[row.id]) for row in rows), key=lambda p: (-p[1], p[0].name, p[0].id)
    )


async def product_facets(
    session: AsyncSession, query: ProductQuery, storefront: bool, sqlite: bool
) -> Facets:
    statement, params = _counts_statement(query, storefront, sqlite)
    rows = (await session.execute(statement, params)).all()
    buckets = {
        bucket: (count, stocked) for facet, bucket, _, count, stocked in rows if facet == _PRICES
    }
    brands = {ref: count for facet, _, ref, count, _ in rows if facet == _BRANDS}
    categories = {ref: count for facet, _, ref, count, _ in rows if facet == _CATEGORIES}
    return Facets(
        total_count=sum(count for count, _ in buckets.values()),
        categories=await _named(session, Category, categories, live_only=False),
        brands=await _named(session, Brand, brands, live_only=storefront),
        price_ranges=_ranges({b: count for b, (count, _) in buckets.items()}),
        in_stock=sum(stocked or 0 for _, stocked in buckets.values()),
    )
