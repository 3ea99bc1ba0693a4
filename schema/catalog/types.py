"""Catalogue types, queries and mutations (API.md section 4): products with prices, stock
status, variations and children; the category tree; brands and collections; tax bands and
currencies; custom field definitions."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON

from domain.catalog import ProductQuery, Status
from domain.catalog import ProductSortField as DomainProductSortField
from domain.customfields import CustomFieldEntity as DomainCustomFieldEntity
from domain.customfields import CustomFieldType as DomainCustomFieldType
from domain.errors import DomainError, ErrorCode
from models.catalog import Brand as BrandRow
from models.catalog import Category as CategoryRow
from models.catalog import Collection as CollectionRow
from models.catalog import Currency as CurrencyRow
from models.catalog import FieldDefinition as FieldDefinitionRow
from models.catalog import Product as ProductRow
from models.catalog import TaxBand as TaxBandRow
from models.catalog import Variation as VariationRow
from models.catalog import VariationOption as VariationOptionRow
from resolvers import catalog as resolve
from resolvers.ids import decode_id, maybe_decode_id
from schema.base import (
    AfterArg,
    BeforeArg,
    Connection,
    DisplayPrice,
    FirstArg,
    IsAdmin,
    LastArg,
    Node,
    SortDirection,
    StrawberryInfo,
    UserError,
    describe_values,
    described,
    global_id,
    input_data,
    mutate,
    mutate_row,
    node_type,
    page_request,
)
from schema.inventory import Stock, StockStatus

# --- tax bands -------------------------------------------------------------------------


@strawberry.type(description="A tax rate applied to products and shipping in the band.")
class TaxBand(Node):
    name: str = strawberry.field(description="Display name, e.g. Standard rate.")
    rate: Decimal = strawberry.field(description="Percent, e.g. 20 for 20%.")

    @classmethod
    def of(cls, row: TaxBandRow) -> "TaxBand":
        return cls(id=global_id("TaxBand", row.id), name=row.name, rate=row.rate)


@node_type("TaxBand")
async def _tax_band_node(info: StrawberryInfo, pk: object) -> TaxBand | None:
    row = await resolve.tax_band(info.context, pk)  # type: ignore[arg-type]
    return TaxBand.of(row) if row else None


@strawberry.input(description="A tax band's fields.")
class TaxBandInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required on create.")
    rate: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="Percent from 0 to 100."
    )


@strawberry.type(description="The result of a tax band mutation.")
class TaxBandPayload:
    tax_band: TaxBand | None = strawberry.field(default=None, description="The tax band.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- currencies ------------------------------------------------------------------------


@strawberry.type(description="A currency prices can show in (request header X-Currency).")
class Currency(Node):
    code: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    name: str = strawberry.field(description="Display name, e.g. Euro.")
    exchange_rate: Decimal = strawberry.field(
        description="Units of this currency per one unit of the store currency."
    )
    format: str = strawberry.field(description='Display format, e.g. "${price}".')
    decimal_places: int = strawberry.field(description="Digits of the minor unit (JPY: 0).")
    decimal_point: str = strawberry.field(description="Between whole and minor units.")
    thousand_separator: str = strawberry.field(description="Between groups of three digits.")
    enabled: bool = strawberry.field(description="Whether X-Currency may name it.")
    is_default: bool = strawberry.field(
        name="default", description="The store currency: catalogue prices are entered in it."
    )

    @classmethod
    def of(cls, row: CurrencyRow) -> "Currency":
        return cls(
            id=global_id("Currency", row.id),
            code=row.code,
            name=row.name,
            exchange_rate=row.exchange_rate,
            format=row.format,
            decimal_places=row.decimal_places,
            decimal_point=row.decimal_point,
            thousand_separator=row.thousand_separator,
            enabled=row.enabled,
            is_default=row.is_default,
        )


@node_type("Currency")
async def _currency_node(info: StrawberryInfo, pk: object) -> Currency | None:
    row = await resolve.currency(info.context, pk, None)  # type: ignore[arg-type]
    return Currency.of(row) if row else None


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


@strawberry.type(description="The result of a currency mutation.")
class CurrencyPayload:
    currency: Currency | None = strawberry.field(default=None, description="The currency.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- arguments -------------------------------------------------------------------------


IdArg = described(strawberry.ID | None, "Its global id (give exactly one key).")
SlugArg = described(str | None, "Its slug (give exactly one key).")
SkuArg = described(str | None, "Its SKU, exact (give exactly one key).")


# --- enums -----------------------------------------------------------------------------

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
        "currency, without tax), CREATED_AT, UPDATED_AT."
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
    ProductStatus,
    {"LIVE": "For sale: everyone sees it.", "DRAFT": "Hidden: only admins see it."},
)
describe_values(
    ProductSortField,
    {
        "NAME": "The name, ignoring letter case.",
        "PRICE": "The stored price (store currency, without tax).",
        "CREATED_AT": "When the product was created.",
        "UPDATED_AT": "When the product last changed.",
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


# --- products --------------------------------------------------------------------------


@strawberry.type(description="A product image, hosted anywhere.")
class Image:
    url: str = strawberry.field(description="An http(s) URL.")
    alt: str = strawberry.field(description="Alternative text for screen readers (may be empty).")


@strawberry.type(
    description=(
        "A sellable product. A product with variations can have child products, one per "
        "combination of options; a child is a product in its own right (own SKU, stock, status)."
    )
)
class Product(Node):
    sku: str = strawberry.field(description="Stock keeping unit; unique.")
    slug: str = strawberry.field(description="URL name; unique, e.g. blue-t-shirt.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Long description (may be empty).")
    status: ProductStatus = strawberry.field(description="LIVE or DRAFT.")
    weight: int | None = strawberry.field(description="Grams, for shipping.")
    requires_shipping: bool = strawberry.field(
        description="False for digital goods and services: no shipping method needed."
    )
    manage_stock: bool = strawberry.field(
        description="True: stock is counted and limits what can be paid for."
    )
    images: list[Image] = strawberry.field(description="Images in display order.")
    created_at: datetime = strawberry.field(description="When the product was made (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    row: strawberry.Private[ProductRow]

    @classmethod
    def of(cls, row: ProductRow) -> "Product":
        return cls(
            id=global_id("Product", row.id),
            sku=row.sku,
            slug=row.slug,
            name=row.name,
            description=row.description,
            status=Status(row.status),
            weight=row.weight,
            requires_shipping=row.requires_shipping,
            manage_stock=row.manage_stock,
            images=[Image(url=i["url"], alt=i.get("alt") or "") for i in row.images],
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(
        description=(
            "The regular price in the request's currency (X-Currency header, else the store "
            "currency), with and without the tax of its tax band."
        )
    )
    async def price(self, info: StrawberryInfo) -> DisplayPrice:
        return DisplayPrice.of(
            await resolve.display_price(info.context, self.row.price, self.row.tax_band_id)
        )

    @strawberry.field(description="The sale price, when set: what a buyer pays instead of `price`.")
    async def sale_price(self, info: StrawberryInfo) -> DisplayPrice | None:
        if self.row.sale_price is None:
            return None
        return DisplayPrice.of(
            await resolve.display_price(info.context, self.row.sale_price, self.row.tax_band_id)
        )

    @strawberry.field(description="The tax band of the product's prices (none: no tax).")
    async def tax_band(self, info: StrawberryInfo) -> TaxBand | None:
        pk = self.row.tax_band_id
        row = await resolve.tax_band(info.context, pk) if pk else None
        return TaxBand.of(row) if row else None

    @strawberry.field(description="The categories the product is in.")
    async def categories(self, info: StrawberryInfo) -> list["Category"]:
        return [Category.of(r) for r in await resolve.product_categories(info.context, self.row.id)]

    @strawberry.field(description="The product's brand, if any (storefronts: LIVE brands).")
    async def brand(self, info: StrawberryInfo) -> Optional["Brand"]:
        row = await resolve.brand(info.context, self.row.brand_id)
        return Brand.of(row) if row else None

    @strawberry.field(description="The collections the product is in (storefronts: LIVE ones).")
    async def collections(self, info: StrawberryInfo) -> list["Collection"]:
        rows = await resolve.product_collections(info.context, self.row.id)
        return [Collection.of(r) for r in rows]

    @strawberry.field(
        description="Stock level for shoppers; products that do not manage stock are IN_STOCK."
    )
    def stock_status(self, info: StrawberryInfo) -> StockStatus:
        return resolve.stock_status(info.context, self.row)

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Stock figures (admin only; FORBIDDEN for other tokens).",
    )
    def stock(self) -> Stock | None:
        return Stock.of(self.row)

    @strawberry.field(description="Option axes (e.g. size, colour) its children combine.")
    async def variations(self, info: StrawberryInfo) -> list["Variation"]:
        return [Variation.of(r) for r in await resolve.variations(info.context, self.row.id)]

    @strawberry.field(description="For a child product: the options it was built from.")
    async def options(self, info: StrawberryInfo) -> list["VariationOption"]:
        return [VariationOption.of(r) for r in await resolve.child_options(info.context, self.row)]

    @strawberry.field(description="For a child product: the product it was built from.")
    async def parent(self, info: StrawberryInfo) -> Optional["Product"]:
        row = await resolve.product(info.context, self.row.parent_id)
        return Product.of(row) if row else None

    @strawberry.field(description="The child products, one per combination of options.")
    async def children(self, info: StrawberryInfo) -> list["Product"]:
        return [Product.of(r) for r in await resolve.children(info.context, self.row.id)]

    @strawberry.field(
        description="Custom field values, keyed by field slug (see fieldDefinitions)."
    )
    async def custom_fields(self, info: StrawberryInfo) -> JSON:
        return await resolve.custom_fields(info.context, "PRODUCT", self.row.custom_fields)


@node_type("Product")
async def _product_node(info: StrawberryInfo, pk: uuid.UUID) -> Product | None:
    row = await resolve.product(info.context, pk)
    return Product.of(row) if row else None


@strawberry.input(description="A product image.")
class ImageInput:
    url: str = strawberry.field(description="An http(s) URL.")
    alt: str | None = strawberry.field(default=None, description="Alternative text.")


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
        default=None, description="Case-insensitive text in the name, SKU or description."
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
SortArg = described(ProductSort | None, "Sort order (default NAME ASC).")


async def product_connection(
    info: StrawberryInfo,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter: ProductFilter | None,
    sort_by: ProductSort | None,
    **scope: Any,
) -> Connection[Product]:
    """A page of products (the root listing, and those of a category, brand or collection)."""
    request = page_request(first, after, last, before)
    query = (filter or ProductFilter()).query(**scope)
    sort = sort_by or ProductSort(field=DomainProductSortField.NAME)
    descending = sort.direction is SortDirection.DESC
    page = await resolve.products(info.context, query, sort.field, descending, request)
    return Connection.of(page, Product.of)


@strawberry.type(description="The result of a product mutation.")
class ProductPayload:
    product: Product | None = strawberry.field(default=None, description="The product.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- categories, brands, collections ---------------------------------------------------


PRODUCTS_ARGS_DOC = (
    "Products in it, paginated (first/after or last/before), filtered and sorted like `products`."
)


@strawberry.type(description="A node of the category tree; siblings are ordered by position.")
class Category(Node):
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="URL name; unique.")
    description: str = strawberry.field(description="Description (may be empty).")
    position: int = strawberry.field(description="Index among its siblings, from 0.")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    row: strawberry.Private[CategoryRow]

    @classmethod
    def of(cls, row: CategoryRow) -> "Category":
        return cls(
            id=global_id("Category", row.id),
            name=row.name,
            slug=row.slug,
            description=row.description,
            position=row.position,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="The parent category; null for a root.")
    async def parent(self, info: StrawberryInfo) -> Optional["Category"]:
        row = await resolve.category(info.context, self.row.parent_id)
        return Category.of(row) if row else None

    @strawberry.field(description="Sub-categories in position order.")
    async def children(self, info: StrawberryInfo) -> list["Category"]:
        return [Category.of(r) for r in await resolve.subcategories(info.context, self.row.id)]

    @strawberry.field(
        description=PRODUCTS_ARGS_DOC
        + " Includes the products of sub-categories unless filter.includeSubcategories is false."
    )
    async def products(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: FilterArg = None,
        sort_by: SortArg = None,
    ) -> Connection[Product]:
        return await product_connection(
            info, first, after, last, before, filter, sort_by, category_id=self.row.id
        )


@node_type("Category")
async def _category_node(info: StrawberryInfo, pk: uuid.UUID) -> Category | None:
    row = await resolve.category(info.context, pk)
    return Category.of(row) if row else None


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


@strawberry.type(description="The result of a category mutation.")
class CategoryPayload:
    category: Category | None = strawberry.field(default=None, description="The category.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of categoriesReorder.")
class CategoriesPayload:
    categories: list[Category] | None = strawberry.field(
        default=None, description="The moved categories, in the order of the input."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


def _group_fields(kind: str) -> str:
    return f"A {kind}: a named group of products with its own page; storefronts see LIVE ones."


@strawberry.type(description=_group_fields("brand"))
class Brand(Node):
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="URL name; unique.")
    description: str = strawberry.field(description="Description (may be empty).")
    status: ProductStatus = strawberry.field(description="LIVE or DRAFT (admins only).")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    row: strawberry.Private[BrandRow]

    @classmethod
    def of(cls, row: BrandRow) -> "Brand":
        return cls(row=row, **_group_values("Brand", row))

    @strawberry.field(description=PRODUCTS_ARGS_DOC)
    async def products(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: FilterArg = None,
        sort_by: SortArg = None,
    ) -> Connection[Product]:
        return await product_connection(
            info, first, after, last, before, filter, sort_by, brand_id=self.row.id
        )


@strawberry.type(description=_group_fields("collection (e.g. Summer sale, Bestsellers)"))
class Collection(Node):
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="URL name; unique.")
    description: str = strawberry.field(description="Description (may be empty).")
    status: ProductStatus = strawberry.field(description="LIVE or DRAFT (admins only).")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    row: strawberry.Private[CollectionRow]

    @classmethod
    def of(cls, row: CollectionRow) -> "Collection":
        return cls(row=row, **_group_values("Collection", row))

    @strawberry.field(description=PRODUCTS_ARGS_DOC)
    async def products(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: FilterArg = None,
        sort_by: SortArg = None,
    ) -> Connection[Product]:
        return await product_connection(
            info, first, after, last, before, filter, sort_by, collection_id=self.row.id
        )


def _group_values(kind: str, row: BrandRow | CollectionRow) -> dict[str, Any]:
    return {
        "id": global_id(kind, row.id),
        "name": row.name,
        "slug": row.slug,
        "description": row.description,
        "status": Status(row.status),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@node_type("Brand")
async def _brand_node(info: StrawberryInfo, pk: uuid.UUID) -> Brand | None:
    row = await resolve.brand(info.context, pk)
    return Brand.of(row) if row else None


@node_type("Collection")
async def _collection_node(info: StrawberryInfo, pk: uuid.UUID) -> Collection | None:
    row = await resolve.collection(info.context, pk)
    return Collection.of(row) if row else None


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


@strawberry.type(description="The result of a brand mutation.")
class BrandPayload:
    brand: Brand | None = strawberry.field(default=None, description="The brand.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a collection mutation.")
class CollectionPayload:
    collection: Collection | None = strawberry.field(default=None, description="The collection.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- variations ------------------------------------------------------------------------


@strawberry.type(description="One option of a variation (e.g. Red) and its modifiers.")
class VariationOption(Node):
    name: str = strawberry.field(description="Display name, unique in its variation.")
    description: str = strawberry.field(description="Description (may be empty).")
    price_change: int = strawberry.field(
        description="Added to the parent's price for children with this option (minor units of "
        "the store currency, may be negative)."
    )
    sku_suffix: str = strawberry.field(description="Appended to the parent's SKU, e.g. -RED.")
    slug_suffix: str = strawberry.field(description="Appended to the parent's slug, e.g. -red.")
    position: int = strawberry.field(description="Order of creation within its variation.")

    @classmethod
    def of(cls, row: VariationOptionRow) -> "VariationOption":
        return cls(
            id=global_id("VariationOption", row.id),
            name=row.name,
            description=row.description,
            price_change=row.price_change,
            sku_suffix=row.sku_suffix,
            slug_suffix=row.slug_suffix,
            position=row.position,
        )


@strawberry.type(description="An option axis of a product, e.g. Size or Colour.")
class Variation(Node):
    name: str = strawberry.field(description="Display name, unique per product.")
    position: int = strawberry.field(
        description="Order of creation: children's SKU and slug suffixes follow it."
    )
    row: strawberry.Private[VariationRow]

    @classmethod
    def of(cls, row: VariationRow) -> "Variation":
        return cls(id=global_id("Variation", row.id), name=row.name, position=row.position, row=row)

    @strawberry.field(description="Its options in order of creation.")
    async def options(self, info: StrawberryInfo) -> list[VariationOption]:
        return [VariationOption.of(r) for r in await resolve.options(info.context, self.row.id)]


@node_type("Variation")
async def _variation_node(info: StrawberryInfo, pk: uuid.UUID) -> Variation | None:
    row = await resolve.variation(info.context, pk)
    return Variation.of(row) if row else None


@node_type("VariationOption")
async def _option_node(info: StrawberryInfo, pk: uuid.UUID) -> VariationOption | None:
    row = await resolve.option(info.context, pk)
    return VariationOption.of(row) if row else None


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


@strawberry.type(description="The result of a variation mutation.")
class VariationPayload:
    variation: Variation | None = strawberry.field(default=None, description="The variation.")
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a variation option mutation.")
class VariationOptionPayload:
    variation_option: VariationOption | None = strawberry.field(
        default=None, description="The option."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- custom fields ---------------------------------------------------------------------


@strawberry.type(description="A custom field products, orders or customers can carry.")
class FieldDefinition(Node):
    entity: CustomFieldEntity = strawberry.field(description="What it is for.")
    slug: str = strawberry.field(description="Its key in customFields objects.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Help text (may be empty).")
    type: CustomFieldType = strawberry.field(description="The type values must have.")
    required: bool = strawberry.field(description="Whether every record must have a value.")
    choices: list[str] = strawberry.field(description="The allowed values of a CHOICE field.")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")

    @classmethod
    def of(cls, row: FieldDefinitionRow) -> "FieldDefinition":
        return cls(
            id=global_id("FieldDefinition", row.id),
            entity=DomainCustomFieldEntity(row.entity),
            slug=row.slug,
            name=row.name,
            description=row.description,
            type=DomainCustomFieldType(row.type),
            required=row.required,
            choices=list(row.choices),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@node_type("FieldDefinition")
async def _field_definition_node(info: StrawberryInfo, pk: uuid.UUID) -> FieldDefinition | None:
    row = await resolve.field_definition(info.context, pk)
    return FieldDefinition.of(row) if row else None


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


@strawberry.type(description="The result of a custom field definition mutation.")
class FieldDefinitionPayload:
    field_definition: FieldDefinition | None = strawberry.field(
        default=None, description="The definition."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- lookups ---------------------------------------------------------------------------


def one_key(**keys: object) -> str:
    """The one lookup key given (e.g. id, slug or sku); INVALID unless exactly one is."""
    given = [name for name, value in keys.items() if value is not None]
    if len(given) != 1:
        raise DomainError(
            ErrorCode.INVALID, f"give exactly one of {', '.join(keys)}", list(given or keys)
        )
    return given[0]


# --- root fields -----------------------------------------------------------------------


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Every tax band.")
    async def tax_bands(self, info: StrawberryInfo) -> list[TaxBand]:
        return [TaxBand.of(r) for r in await resolve.tax_bands(info.context)]

    @strawberry.field(description="One tax band by id.")
    async def tax_band(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Its global id.")
    ) -> TaxBand | None:
        pk = maybe_decode_id(id, "TaxBand")
        row = await resolve.tax_band(info.context, pk) if pk else None
        return TaxBand.of(row) if row else None

    @strawberry.field(description="Enabled currencies (admins: all), the store default first.")
    async def currencies(self, info: StrawberryInfo) -> list[Currency]:
        return [Currency.of(r) for r in await resolve.currencies(info.context)]

    @strawberry.field(description="One currency by id or ISO code.")
    async def currency(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID | None, "Its global id.") = None,
        code: described(str | None, "Its ISO 4217 code, e.g. EUR.") = None,
    ) -> Currency | None:
        pk = maybe_decode_id(id, "Currency") if id else None
        if (id and not pk) or (not id and not code):
            return None
        row = await resolve.currency(info.context, pk, code)
        return Currency.of(row) if row else None

    @strawberry.field(
        description=(
            "Products, a page at a time (first/after or last/before, first at most 100), "
            "filtered and sorted (default: by name). Storefronts see LIVE products only."
        )
    )
    async def products(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: FilterArg = None,
        sort_by: SortArg = None,
    ) -> Connection[Product]:
        return await product_connection(info, first, after, last, before, filter, sort_by)

    @strawberry.field(
        description="One product by exactly one of id, slug or sku (storefronts: LIVE only)."
    )
    async def product(
        self,
        info: StrawberryInfo,
        id: IdArg = None,
        slug: SlugArg = None,
        sku: SkuArg = None,
    ) -> Product | None:
        key = one_key(id=id, slug=slug, sku=sku)
        pk = maybe_decode_id(id, "Product") if id else None
        if key == "id" and pk is None:
            return None
        row = await resolve.product_by(info.context, pk, slug, sku)
        return Product.of(row) if row else None

    @strawberry.field(
        description="The root categories, or the sub-categories of parentId, in position order."
    )
    async def categories(
        self,
        info: StrawberryInfo,
        parent_id: described(strawberry.ID | None, "List its sub-categories instead.") = None,
    ) -> list[Category]:
        pk = decode_id(parent_id, "Category", ["parentId"]) if parent_id else None
        return [Category.of(r) for r in await resolve.categories(info.context, pk)]

    @strawberry.field(description="One category by exactly one of id or slug.")
    async def category(
        self, info: StrawberryInfo, id: IdArg = None, slug: SlugArg = None
    ) -> Category | None:
        if one_key(id=id, slug=slug) == "id":
            row = await resolve.category(info.context, maybe_decode_id(id, "Category"))
        else:
            row = await resolve.category_by_slug(info.context, slug or "")
        return Category.of(row) if row else None

    @strawberry.field(description="Brands by name, a page at a time (storefronts: LIVE ones).")
    async def brands(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[Brand]:
        page = await resolve.groups(
            info.context, BrandRow, page_request(first, after, last, before)
        )
        return Connection.of(page, Brand.of)

    @strawberry.field(description="One brand by exactly one of id or slug.")
    async def brand(
        self, info: StrawberryInfo, id: IdArg = None, slug: SlugArg = None
    ) -> Brand | None:
        if one_key(id=id, slug=slug) == "id":
            row = await resolve.brand(info.context, maybe_decode_id(id, "Brand"))
        else:
            row = await resolve.group_by_slug(info.context, BrandRow, slug or "")
        return Brand.of(row) if row else None

    @strawberry.field(description="Collections by name, a page at a time (storefronts: LIVE ones).")
    async def collections(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[Collection]:
        request = page_request(first, after, last, before)
        page = await resolve.groups(info.context, CollectionRow, request)
        return Connection.of(page, Collection.of)

    @strawberry.field(description="One collection by exactly one of id or slug.")
    async def collection(
        self, info: StrawberryInfo, id: IdArg = None, slug: SlugArg = None
    ) -> Collection | None:
        if one_key(id=id, slug=slug) == "id":
            row = await resolve.collection(info.context, maybe_decode_id(id, "Collection"))
        else:
            row = await resolve.group_by_slug(info.context, CollectionRow, slug or "")
        return Collection.of(row) if row else None

    @strawberry.field(description="Custom field definitions of one entity (or of all), by slug.")
    async def field_definitions(
        self,
        info: StrawberryInfo,
        entity: described(CustomFieldEntity | None, "Only this entity's fields.") = None,
    ) -> list[FieldDefinition]:
        entities = [entity] if entity else list(DomainCustomFieldEntity)
        rows = [
            row for e in entities for row in await resolve.field_definitions(info.context, e.value)
        ]
        return [FieldDefinition.of(r) for r in rows]


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a tax band.")
    async def tax_band_create(
        self, info: StrawberryInfo, input: described(TaxBandInput, "The tax band's fields.")
    ) -> TaxBandPayload | None:
        return await mutate_row(
            TaxBandPayload,
            "tax_band",
            TaxBand.of,
            lambda: resolve.create_tax_band(info.context, input_data(input)),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a tax band.")
    async def tax_band_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the tax band to change."),
        input: described(TaxBandInput, "The tax band's fields."),
    ) -> TaxBandPayload | None:
        return await mutate_row(
            TaxBandPayload,
            "tax_band",
            TaxBand.of,
            lambda: resolve.update_tax_band(
                info.context, decode_id(id, "TaxBand"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a tax band no product or method uses (IN_USE otherwise).",
    )
    async def tax_band_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the tax band to delete.")
    ) -> TaxBandPayload | None:
        return await mutate_row(
            TaxBandPayload,
            "tax_band",
            TaxBand.of,
            lambda: resolve.delete_tax_band(info.context, decode_id(id, "TaxBand")),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a currency.")
    async def currency_create(
        self, info: StrawberryInfo, input: described(CurrencyInput, "The currency's fields.")
    ) -> CurrencyPayload | None:
        return await mutate_row(
            CurrencyPayload,
            "currency",
            Currency.of,
            lambda: resolve.create_currency(info.context, input_data(input)),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a currency.")
    async def currency_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the currency to change."),
        input: described(CurrencyInput, "The currency's fields."),
    ) -> CurrencyPayload | None:
        return await mutate_row(
            CurrencyPayload,
            "currency",
            Currency.of,
            lambda: resolve.update_currency(
                info.context, decode_id(id, "Currency"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a currency (never the store default, nor one carts or orders use).",
    )
    async def currency_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the currency to delete.")
    ) -> CurrencyPayload | None:
        return await mutate_row(
            CurrencyPayload,
            "currency",
            Currency.of,
            lambda: resolve.delete_currency(info.context, decode_id(id, "Currency")),
        )

    # products

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a product.")
    async def product_create(
        self, info: StrawberryInfo, input: described(ProductInput, "The product's fields.")
    ) -> ProductPayload | None:
        return await mutate_row(
            ProductPayload,
            "product",
            Product.of,
            lambda: resolve.create_product(info.context, input_data(input)),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Change a product (omitted fields stay)."
    )
    async def product_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the product to change."),
        input: described(ProductInput, "The product's fields."),
    ) -> ProductPayload | None:
        return await mutate_row(
            ProductPayload,
            "product",
            Product.of,
            lambda: resolve.update_product(
                info.context, decode_id(id, "Product"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Delete a product with its children and variations. Orders keep their copies of "
            "its lines."
        ),
    )
    async def product_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the product to delete.")
    ) -> ProductPayload | None:
        return await mutate_row(
            ProductPayload,
            "product",
            Product.of,
            lambda: resolve.delete_product(info.context, decode_id(id, "Product")),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Add a variation (an option axis such as Size) to a product.",
    )
    async def product_variation_create(
        self,
        info: StrawberryInfo,
        product_id: described(strawberry.ID, "The product to add it to."),
        input: described(VariationInput, "The variation's fields."),
    ) -> VariationPayload | None:
        return await mutate_row(
            VariationPayload,
            "variation",
            Variation.of,
            lambda: resolve.create_variation(
                info.context, decode_id(product_id, "Product", ["productId"]), input_data(input)
            ),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Rename a variation.")
    async def product_variation_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the variation to change."),
        input: described(VariationInput, "The variation's fields."),
    ) -> VariationPayload | None:
        return await mutate_row(
            VariationPayload,
            "variation",
            Variation.of,
            lambda: resolve.update_variation(
                info.context, decode_id(id, "Variation"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a variation and its options (rebuild children afterwards).",
    )
    async def product_variation_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the variation to delete.")
    ) -> VariationPayload | None:
        return await mutate_row(
            VariationPayload,
            "variation",
            Variation.of,
            lambda: resolve.delete_variation(info.context, decode_id(id, "Variation")),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add an option to a variation.")
    async def variation_option_create(
        self,
        info: StrawberryInfo,
        variation_id: described(strawberry.ID, "The variation to add it to."),
        input: described(VariationOptionInput, "The option's fields."),
    ) -> VariationOptionPayload | None:
        return await mutate_row(
            VariationOptionPayload,
            "variation_option",
            VariationOption.of,
            lambda: resolve.create_option(
                info.context,
                decode_id(variation_id, "Variation", ["variationId"]),
                input_data(input),
            ),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change an option.")
    async def variation_option_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the option to change."),
        input: described(VariationOptionInput, "The option's fields."),
    ) -> VariationOptionPayload | None:
        return await mutate_row(
            VariationOptionPayload,
            "variation_option",
            VariationOption.of,
            lambda: resolve.update_option(
                info.context, decode_id(id, "VariationOption"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete an option (rebuild children afterwards).",
    )
    async def variation_option_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the option to delete.")
    ) -> VariationOptionPayload | None:
        return await mutate_row(
            VariationOptionPayload,
            "variation_option",
            VariationOption.of,
            lambda: resolve.delete_option(info.context, decode_id(id, "VariationOption")),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Create a child product for every combination of the product's options, refresh "
            "the existing ones (SKU, slug, name, prices, descriptive fields) and delete those "
            "whose combination is gone. Running it again never duplicates a child."
        ),
    )
    async def product_children_build(
        self,
        info: StrawberryInfo,
        product_id: described(strawberry.ID, "The parent product."),
    ) -> ProductPayload | None:
        return await mutate_row(
            ProductPayload,
            "product",
            Product.of,
            lambda: resolve.build_children(
                info.context, decode_id(product_id, "Product", ["productId"])
            ),
        )

    # categories

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a category.")
    async def category_create(
        self, info: StrawberryInfo, input: described(CategoryInput, "The category's fields.")
    ) -> CategoryPayload | None:
        return await mutate_row(
            CategoryPayload,
            "category",
            Category.of,
            lambda: resolve.create_category(info.context, input_data(input)),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Change a category; moving it under its own descendant is INVALID.",
    )
    async def category_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the category to change."),
        input: described(CategoryInput, "The category's fields."),
    ) -> CategoryPayload | None:
        return await mutate_row(
            CategoryPayload,
            "category",
            Category.of,
            lambda: resolve.update_category(
                info.context, decode_id(id, "Category"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Delete a category without sub-categories (IN_USE otherwise); its products stay."
        ),
    )
    async def category_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the category to delete.")
    ) -> CategoryPayload | None:
        return await mutate_row(
            CategoryPayload,
            "category",
            Category.of,
            lambda: resolve.delete_category(info.context, decode_id(id, "Category")),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Move many categories at once, all or nothing; a move that makes a cycle is "
            "INVALID. Sibling positions are renumbered 0, 1, 2, ..."
        ),
    )
    async def categories_reorder(
        self,
        info: StrawberryInfo,
        input: described(list[CategoryMoveInput], "The moves, applied together."),
    ) -> CategoriesPayload | None:
        async def run() -> dict[str, object]:
            moves = [input_data(move) for move in input]
            rows = await resolve.reorder_categories(info.context, moves)
            return {"categories": [Category.of(r) for r in rows]}

        return await mutate(CategoriesPayload, run)

    # brands and collections

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a brand.")
    async def brand_create(
        self, info: StrawberryInfo, input: described(BrandInput, "The brand's fields.")
    ) -> BrandPayload | None:
        return await mutate_row(
            BrandPayload,
            "brand",
            Brand.of,
            lambda: resolve.create_group(info.context, BrandRow, input_data(input)),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a brand.")
    async def brand_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the brand to change."),
        input: described(BrandInput, "The brand's fields."),
    ) -> BrandPayload | None:
        return await mutate_row(
            BrandPayload,
            "brand",
            Brand.of,
            lambda: resolve.update_group(
                info.context, BrandRow, decode_id(id, "Brand"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a brand; its products stay, without a brand.",
    )
    async def brand_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the brand to delete.")
    ) -> BrandPayload | None:
        return await mutate_row(
            BrandPayload,
            "brand",
            Brand.of,
            lambda: resolve.delete_group(info.context, BrandRow, decode_id(id, "Brand")),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a collection.")
    async def collection_create(
        self, info: StrawberryInfo, input: described(CollectionInput, "The collection's fields.")
    ) -> CollectionPayload | None:
        return await mutate_row(
            CollectionPayload,
            "collection",
            Collection.of,
            lambda: resolve.create_group(info.context, CollectionRow, input_data(input)),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a collection.")
    async def collection_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the collection to change."),
        input: described(CollectionInput, "The collection's fields."),
    ) -> CollectionPayload | None:
        return await mutate_row(
            CollectionPayload,
            "collection",
            Collection.of,
            lambda: resolve.update_group(
                info.context, CollectionRow, decode_id(id, "Collection"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a collection; its products stay, outside it.",
    )
    async def collection_delete(
        self, info: StrawberryInfo, id: described(strawberry.ID, "Id of the collection to delete.")
    ) -> CollectionPayload | None:
        return await mutate_row(
            CollectionPayload,
            "collection",
            Collection.of,
            lambda: resolve.delete_group(info.context, CollectionRow, decode_id(id, "Collection")),
        )

    # custom fields

    @strawberry.mutation(permission_classes=[IsAdmin], description="Define a custom field.")
    async def field_definition_create(
        self,
        info: StrawberryInfo,
        input: described(FieldDefinitionInput, "The field definition's fields."),
    ) -> FieldDefinitionPayload | None:
        return await mutate_row(
            FieldDefinitionPayload,
            "field_definition",
            FieldDefinition.of,
            lambda: resolve.create_field_definition(info.context, input_data(input)),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Change a custom field's name, description, required flag or choices.",
    )
    async def field_definition_update(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the field definition to change."),
        input: described(FieldDefinitionInput, "The field definition's fields."),
    ) -> FieldDefinitionPayload | None:
        return await mutate_row(
            FieldDefinitionPayload,
            "field_definition",
            FieldDefinition.of,
            lambda: resolve.update_field_definition(
                info.context, decode_id(id, "FieldDefinition"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a custom field; its values disappear from every record.",
    )
    async def field_definition_delete(
        self,
        info: StrawberryInfo,
        id: described(strawberry.ID, "Id of the field definition to delete."),
    ) -> FieldDefinitionPayload | None:
        return await mutate_row(
            FieldDefinitionPayload,
            "field_definition",
            FieldDefinition.of,
            lambda: resolve.delete_field_definition(info.context, decode_id(id, "FieldDefinition")),
        )


QUERIES: tuple[type, ...] = (CatalogQuery,)
MUTATIONS: tuple[type, ...] = (CatalogMutation,)
