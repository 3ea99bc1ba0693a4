"""Catalogue input types and argument annotations."""

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain.catalog import ProductQuery
from resolvers.ids import decode_id
from schema.base import SortDirection, described, quick_input
from schema.catalog.enums import CustomFieldEntity, CustomFieldType, ProductSortField, ProductStatus


@strawberry.input(description="A tax band's fields.")
class TaxBandInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required on create.")
    rate: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="Percent from 0 to 100."
    )


@strawberry.input(description="A currency's fields (omitted ones are left unchanged).")
class CurrencyInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 4217 code (3 letters); unique."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    exchange_rate: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="Units per one store-currency unit; above 0."
    )
    format: str | None = strawberry.field(
        default=strawberry.UNSET, description='Must contain {price}, e.g. "€{price}".'
    )
    decimal_places: int | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 4; default 2."
    )
    decimal_point: str | None = strawberry.field(
        default=strawberry.UNSET, description='Default ".".'
    )
    thousand_separator: str | None = strawberry.field(
        default=strawberry.UNSET, description='Default ",".'
    )
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Default true; the store currency stays enabled."
    )
    default: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Make this the store currency (its rate must be 1)."
    )


IdArg = described(strawberry.ID | None, "Its global id (give exactly one key).")


SlugArg = described(str | None, "Its slug (give exactly one key).")


SkuArg = described(str | None, "Its SKU, exact (give exactly one key).")


@quick_input
@strawberry.input(description="A product image.")
class ImageInput:
    url: str = strawberry.field(description="An http(s) URL.")
    alt: str | None = strawberry.field(default=None, description="Alternative text.")


@quick_input
@strawberry.input(
    description=(
        "A product's fields. On create `sku`, `name` and `price` are required and `slug` "
        "defaults to one made from the name; on update, omitted fields stay unchanged."
    )
)
class ProductInput:
    sku: str | None = strawberry.field(default=strawberry.UNSET, description="Unique, no spaces.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET, description="Unique; lowercase letters, digits and hyphens."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required on create.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Free text; null means empty."
    )
    status: ProductStatus | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to DRAFT."
    )
    price: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Minor units of the store currency, without tax; 0 or more.",
    )
    sale_price: int | None = strawberry.field(
        default=strawberry.UNSET, description="Like price; null removes the sale price."
    )
    tax_band_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null: no tax."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the product's categories."
    )
    brand_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null: no brand."
    )
    collection_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the product's collections."
    )
    images: list[ImageInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the product's images (at most 20)."
    )
    weight: int | None = strawberry.field(default=strawberry.UNSET, description="Grams.")
    requires_shipping: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to true."
    )
    manage_stock: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to false."
    )
    stock: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Sets the stock total (needs manageStock: true); recorded in the stock ledger as an "
            "INCREMENT or DECREMENT. It cannot go below the units allocated to orders."
        ),
    )
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Values keyed by field slug, checked against the PRODUCT field definitions; on "
            "update merged into the current values (null removes a value)."
        ),
    )


@strawberry.input(description="Which products to list; every given condition must hold.")
class ProductFilter:
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Words that must all occur in the name, SKU or description (ignoring case and "
            "accents; the last word also as a prefix), or a whole SKU; at most 200 characters "
            "and 16 words. Blank means no search."
        ),
    )
    category_slug: str | None = strawberry.field(
        default=None, description="In this category (and, by default, its sub-categories)."
    )
    include_subcategories: bool = strawberry.field(
        default=True, description="With categorySlug: false lists the category's own products."
    )
    brand_slug: str | None = strawberry.field(default=None, description="Of this brand.")
    collection_slug: str | None = strawberry.field(default=None, description="In this collection.")
    status: ProductStatus | None = strawberry.field(
        default=None, description="Storefronts only ever see LIVE products."
    )
    price_min: int | None = strawberry.field(
        default=None, description="Stored price at least this (store currency minor units)."
    )
    price_max: int | None = strawberry.field(
        default=None, description="Stored price at most this (store currency minor units)."
    )
    in_stock: bool | None = strawberry.field(
        default=None,
        description="true: can be bought now (unmanaged, or available > 0); false: sold out.",
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the children of this product."
    )
    is_child: bool | None = strawberry.field(
        default=None, description="true: only child products; false: hide child products."
    )

    def query(self, **scope: Any) -> ProductQuery:
        parent_id = (
            decode_id(self.parent_id, "Product", ["filter", "parentId"]) if self.parent_id else None
        )
        return ProductQuery(
            search=self.search,
            category_slug=self.category_slug,
            brand_slug=self.brand_slug,
            collection_slug=self.collection_slug,
            status=self.status,
            price_min=self.price_min,
            price_max=self.price_max,
            in_stock=self.in_stock,
            parent_id=parent_id,
            is_child=self.is_child,
            include_subcategories=self.include_subcategories,
            **scope,
        )


@strawberry.input(description="How to sort products.")
class ProductSort:
    field: ProductSortField = strawberry.field(description="The sort key.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="ASC (default) or DESC."
    )


FilterArg = described(ProductFilter | None, "Which products (every given condition holds).")


SortArg = described(
    ProductSort | None, "Sort order (default: RELEVANCE with a search, else NAME ASC)."
)


@strawberry.input(description="A category's fields (on update, omitted ones stay unchanged).")
class CategoryInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required on create.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET, description="Unique; defaults to one made from the name."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Free text; null means empty."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null: a root category."
    )
    position: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Index among its siblings (0 = first); omitted on create: last.",
    )


@strawberry.input(description="One move of categoriesReorder.")
class CategoryMoveInput:
    id: strawberry.ID = strawberry.field(description="The category to move.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Its new parent; null makes it a root; omitted keeps its parent.",
    )
    position: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Its index among its (new) siblings, from 0; omitted: last.",
    )


@strawberry.input(description="The fields brands and collections share.")
class GroupInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required on create.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET, description="Unique; defaults to one made from the name."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Free text; null means empty."
    )
    status: ProductStatus | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to LIVE."
    )


@strawberry.input(description="A brand's fields (on update, omitted ones stay unchanged).")
class BrandInput(GroupInput):
    pass


@strawberry.input(description="A collection's fields (on update, omitted ones stay unchanged).")
class CollectionInput(GroupInput):
    pass


@strawberry.input(description="A variation's fields.")
class VariationInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="e.g. Size.")


@strawberry.input(description="An option's fields (on update, omitted ones stay unchanged).")
class VariationOptionInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="e.g. Red.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Free text; null means empty."
    )
    price_change: int | None = strawberry.field(
        default=strawberry.UNSET, description="Minor units of the store currency; default 0."
    )
    sku_suffix: str | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to - and the name in capitals (-RED)."
    )
    slug_suffix: str | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to - and the name as a slug (-red)."
    )


@strawberry.input(
    description=(
        "A custom field's definition. entity, slug and type are fixed once made; on update "
        "only name, description, required and choices change."
    )
)
class FieldDefinitionInput:
    entity: CustomFieldEntity | None = strawberry.field(
        default=strawberry.UNSET, description="What it is for; required on create."
    )
    slug: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Key in customFields: a lowercase letter, then letters, digits or _.",
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name; required on create."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Help text; null means empty."
    )
    type: CustomFieldType | None = strawberry.field(
        default=strawberry.UNSET, description="Value type; required on create."
    )
    required: bool | None = strawberry.field(default=strawberry.UNSET, description="Default false.")
    choices: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="The allowed values; CHOICE fields only."
    )
