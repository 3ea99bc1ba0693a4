"""Facet and bulk-creation result types (API.md section 15)."""

import strawberry

from domain.facets import PRICE_BUCKETS, Facets
from schema.base import UserError
from schema.catalog.types import Brand, Category, Product


@strawberry.type(description="How many of the filtered products are in a category.")
class CategoryFacet:
    category: Category = strawberry.field(description="The category.")
    count: int = strawberry.field(
        description="Matching products linked to this category itself (not its sub-categories)."
    )


@strawberry.type(description="How many of the filtered products are of a brand.")
class BrandFacet:
    brand: Brand = strawberry.field(description="The brand.")
    count: int = strawberry.field(description="Matching products of this brand.")


@strawberry.type(
    description=(
        "How many of the filtered products have a stored price in a range (store currency "
        "minor units, without tax: what priceMin and priceMax filter on). The ranges start at "
        + ", ".join(str(b) for b in PRICE_BUCKETS)
        + "; only non-empty ones are listed."
    )
)
class PriceRangeFacet:
    min: int = strawberry.field(description="Lowest price in the range (inclusive).")
    max: int | None = strawberry.field(
        description="Highest price in the range (inclusive, like priceMax); null: no limit."
    )
    count: int = strawberry.field(description="Matching products in the range.")


@strawberry.type(description="Counts over the products a filter matches (for filter menus).")
class ProductFacets:
    total_count: int = strawberry.field(
        description="Matching products: the same as `products(filter:).totalCount`."
    )
    categories: list[CategoryFacet] = strawberry.field(
        description="Categories with matching products, most first."
    )
    brands: list[BrandFacet] = strawberry.field(
        description="Brands with matching products, most first (storefronts: LIVE brands)."
    )
    price_ranges: list[PriceRangeFacet] = strawberry.field(
        description="Non-empty price ranges, cheapest first; their counts add up to totalCount."
    )
    in_stock: int = strawberry.field(
        description="Matching products that can be bought now (as the inStock: true filter)."
    )

    @classmethod
    def of(cls, facets: Facets) -> "ProductFacets":
        return cls(
            total_count=facets.total_count,
            categories=[
                CategoryFacet(category=Category.of(r), count=n) for r, n in facets.categories
            ],
            brands=[BrandFacet(brand=Brand.of(r), count=n) for r, n in facets.brands],
            price_ranges=[
                PriceRangeFacet(min=r.min, max=r.max, count=r.count) for r in facets.price_ranges
            ],
            in_stock=facets.in_stock,
        )


@strawberry.type(description="The result of productBulkCreate.")
class ProductBulkPayload:
    products: list[Product] = strawberry.field(
        default_factory=list,
        description="The created products in the order of the inputs (empty when it failed).",
    )
    errors: list[UserError] = strawberry.field(
        description=(
            "Why it failed (empty on success); each field path starts with the input's index, "
            'e.g. ["inputs", "3", "sku"].'
        )
    )
