"""Catalogue enums (schema enums made from the domain's, every value described)."""

import strawberry

from domain.catalog import ProductSortField as DomainProductSortField
from domain.catalog import Status
from domain.customfields import CustomFieldEntity as DomainCustomFieldEntity
from domain.customfields import CustomFieldType as DomainCustomFieldType
from schema.base import describe_values

ProductStatus = strawberry.enum(
    Status,
    name="ProductStatus",
    description="LIVE: shown to everyone. DRAFT: admins only (storefronts never see it).",
)


ProductSortField = strawberry.enum(
    DomainProductSortField,
    name="ProductSortField",
    description=(
        "What products are sorted by: NAME (ignoring case), PRICE (the stored price, store "
        "currency, without tax), CREATED_AT, UPDATED_AT, RELEVANCE (best match of the search "
        "first)."
    ),
)


CustomFieldEntity = strawberry.enum(
    DomainCustomFieldEntity, name="CustomFieldEntity", description="What a custom field is for."
)


CustomFieldType = strawberry.enum(
    DomainCustomFieldType,
    name="CustomFieldType",
    description=(
        "The JSON type a custom field's values must have: STRING, INTEGER (no decimals), FLOAT "
        "(any number), BOOLEAN, DATE (a string YYYY-MM-DD) or CHOICE (one of its `choices`)."
    ),
)


describe_values(
    ProductStatus, {"LIVE": "For sale: everyone sees it.", "DRAFT": "Hidden: only admins see it."}
)


describe_values(
    ProductSortField,
    {
        "NAME": "The name, ignoring letter case.",
        "PRICE": "The stored price (store currency, without tax).",
        "CREATED_AT": "When the product was created.",
        "UPDATED_AT": "When the product last changed.",
        "RELEVANCE": (
            "How well the product matches `filter.search`, best first with ASC (an exact SKU "
            "match, then the words' rank, then a fixed tie-break); the default with a search. "
            "Without a search it sorts like NAME."
        ),
    },
)


describe_values(
    CustomFieldEntity,
    {
        "PRODUCT": "Values on products (`ProductInput.customFields`).",
        "ORDER": "Values on orders (checkout, orderCreate and orderUpdate).",
        "CUSTOMER": "Values on customers (customerRegister and customerUpdate).",
    },
)


describe_values(
    CustomFieldType,
    {
        "STRING": "Any string.",
        "INTEGER": "A whole number (not 2.5, not a boolean).",
        "FLOAT": "Any number (not a boolean).",
        "BOOLEAN": "true or false.",
        "DATE": "A real date as a string, YYYY-MM-DD.",
        "CHOICE": "One of the definition's `choices`.",
    },
)
