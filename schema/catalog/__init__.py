"""Catalogue (API.md section 4): products with prices, stock status, variations and children;
the category tree; brands and collections; tax bands and currencies; custom field definitions."""

from schema.catalog.mutations import CatalogMutation
from schema.catalog.queries import CatalogQuery

QUERIES: tuple[type, ...] = (CatalogQuery,)
MUTATIONS: tuple[type, ...] = (CatalogMutation,)
