"""Facet counts over a product listing (API.md section 15): three statements whatever the
catalogue, each over exactly the products the listing's filter matches (the same statement,
search index included), so `total_count` always equals the listing's totalCount.

- price ranges and in-stock: one GROUP BY over the matches (buckets of the stored price, store
  currency minor units without tax: the same number `priceMin`/`priceMax` filter on);
- brands: matches per brand (storefronts: LIVE brands, as they only see those), most first;
- categories: matches linked to each category itself (not its sub-categories: a product in two
  sub-categories of one parent would count twice in a sum), most first.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.catalog import ProductQuery, ProductSortField, Status, in_stock_condition
from domain.search import product_listing
from models.catalog import Brand, Category, Product, ProductCategory

PRICE_BUCKETS = (0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000)
"""Lower bounds of the price ranges (minor units): 0-9.99, 10-24.99, 25-49.99, 50-99.99,
100-249.99, 250-499.99, 500-999.99, 1000 and up in a two-decimal currency."""


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


async def product_facets(
    session: AsyncSession, query: ProductQuery, storefront: bool, sqlite: bool
) -> Facets:
    listing = product_listing(query, ProductSortField.NAME, storefront, sqlite)
    in_stock = case((in_stock_condition(True), 1), else_=0)
    matches = listing.statement.with_only_columns(
        Product.id.label("id"),
        Product.brand_id.label("brand_id"),
        _bucket(Product.price).label("bucket"),
        in_stock.label("in_stock"),
    ).subquery("matches")
    rows = await session.execute(
        select(matches.c.bucket, func.count(), func.sum(matches.c.in_stock).cast(Integer)).group_by(
            matches.c.bucket
        )
    )
    buckets = {bucket: (count, stocked) for bucket, count, stocked in rows.all()}
    brands = select(Brand, func.count()).join(matches, matches.c.brand_id == Brand.id)
    if storefront:
        brands = brands.where(Brand.status == Status.LIVE.value)
    brand_rows = await session.execute(
        brands.group_by(Brand.id).order_by(func.count().desc(), Brand.name, Brand.id)
    )
    categories = (
        select(Category, func.count())
        .join(ProductCategory, ProductCategory.category_id == Category.id)
        .where(ProductCategory.product_id.in_(select(matches.c.id)))
        .group_by(Category.id)
        .order_by(func.count().desc(), Category.name, Category.id)
    )
    category_rows = await session.execute(categories)
    return Facets(
        total_count=sum(count for count, _ in buckets.values()),
        categories=[(row, count) for row, count in category_rows.all()],
        brands=[(row, count) for row, count in brand_rows.all()],
        price_ranges=_ranges({b: count for b, (count, _) in buckets.items()}),
        in_stock=sum(stocked or 0 for _, stocked in buckets.values()),
    )
