"""Search root query fields: productFacets (the search itself is products(filter: {search}))."""

import strawberry

from resolvers import search as resolve
from schema.base import StrawberryInfo
from schema.catalog.inputs import FilterArg, ProductFilter
from schema.search.types import ProductFacets


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description=(
            "Facet counts (categories, brands, price ranges, in stock) over the products the "
            "filter matches, search included. Storefronts count LIVE products only."
        )
    )
    async def product_facets(self, info: StrawberryInfo, filter: FilterArg = None) -> ProductFacets:
        query = (filter or ProductFilter()).query()
        return ProductFacets.of(await resolve.product_facets(info.context, query))
