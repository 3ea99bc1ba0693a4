"""Search, facets and bulk import (API.md section 15): productFacets and productBulkCreate;
the search is `ProductFilter.search` with the RELEVANCE sort of the catalogue's listings."""

from schema.base import Node
from schema.search.mutations import SearchMutation
from schema.search.queries import SearchQuery

QUERIES: tuple[type, ...] = (SearchQuery,)
MUTATIONS: tuple[type, ...] = (SearchMutation,)
NODE_TYPES: tuple[type[Node], ...] = ()
