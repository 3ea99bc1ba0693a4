"""Catalogue (API.md section 4): products with prices, stock status, variations and children;
the category tree; brands and collections; tax bands and currencies; custom field definitions."""

from schema.base import Node
from schema.catalog.mutations import CatalogMutation
from schema.catalog.queries import CatalogQuery
from schema.catalog.subscriptions import CatalogSubscription
from schema.catalog.types import (
    Brand,
    Category,
    Collection,
    Currency,
    FieldDefinition,
    Product,
    TaxBand,
    Variation,
    VariationOption,
)

QUERIES: tuple[type, ...] = (CatalogQuery,)
MUTATIONS: tuple[type, ...] = (CatalogMutation,)
SUBSCRIPTIONS: tuple[type, ...] = (CatalogSubscription,)
NODE_TYPES: tuple[type[Node], ...] = (
    TaxBand,
    Currency,
    Product,
    Category,
    Brand,
    Collection,
    Variation,
    VariationOption,
    FieldDefinition,
)
