"""Catalogue object types; Node types also say how `node(id:)` fetches them."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Optional, Self

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField

from domain.catalog import Status
from domain.customfields import CustomFieldEntity as DomainCustomFieldEntity
from domain.customfields import CustomFieldType as DomainCustomFieldType
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
    global_id,
    lean_field,
    page_request,
)
from schema.catalog.enums import CustomFieldEntity, CustomFieldType, ProductStatus
from schema.catalog.inputs import FilterArg, ProductFilter, ProductSort, SortArg
from schema.inventory.enums import StockStatus
from schema.inventory.types import Stock


@strawberry.type(description="A tax rate applied to products and shipping in the band.")
class TaxBand(Node):
    name: str = strawberry.field(description="Display name, e.g. Standard rate.")
    rate: Decimal = strawberry.field(description="Percent, e.g. 20 for 20%.")

    @classmethod
    def of(cls, row: TaxBandRow) -> "TaxBand":
        return cls(id=global_id("TaxBand", row.id), name=row.name, rate=row.rate)

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "TaxBand | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.tax_band(info.context, pk)
        return cls.of(row) if row else None


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

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Currency | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.currency(info.context, pk, None)
        return cls.of(row) if row else None


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

    @lean_field(
        "The regular price in the request's currency (X-Currency header, else the store "
        "currency), with and without the tax of its tax band."
    )
    def price(self, info: StrawberryInfo) -> DisplayPrice:
        return _shown_price(info, self.row.price, self.row.tax_band_id)

    @strawberry.field(description="The sale price, when set: what a buyer pays instead of `price`.")
    def sale_price(self, info: StrawberryInfo) -> DisplayPrice | None:
        if self.row.sale_price is None:
            return None
        return _shown_price(info, self.row.sale_price, self.row.tax_band_id)

    @strawberry.field(description="The tax band of the product's prices (none: no tax).")
    async def tax_band(self, info: StrawberryInfo) -> TaxBand | None:
        pk = self.row.tax_band_id
        row = await resolve.tax_band(info.context, pk) if pk else None
        return TaxBand.of(row) if row else None

    @lean_field("The categories the product is in.")
    def categories(self, info: StrawberryInfo) -> list["Category"]:
        known = resolve.loaded(info.context, resolve.load_product_categories, self.row.id)
        if known is not None:  # prefetched with the page: no coroutine, no task
            return [Category.of(r) for r in known]
        return self._categories_later(info)  # type: ignore[return-value]

    async def _categories_later(self, info: StrawberryInfo) -> list["Category"]:
        return [Category.of(r) for r in await resolve.product_categories(info.context, self.row.id)]

    @strawberry.field(description="The product's brand, if any (storefronts: LIVE brands).")
    async def brand(self, info: StrawberryInfo) -> Optional["Brand"]:
        row = await resolve.brand(info.context, self.row.brand_id)
        return Brand.of(row) if row else None

    @strawberry.field(description="The collections the product is in (storefronts: LIVE ones).")
    async def collections(self, info: StrawberryInfo) -> list["Collection"]:
        rows = await resolve.product_collections(info.context, self.row.id)
        return [Collection.of(r) for r in rows]

    @lean_field("Stock level for shoppers; products that do not manage stock are IN_STOCK.")
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

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Product | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.product(info.context, pk)
        return cls.of(row) if row else None


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
    field = sort_by.field if sort_by else None  # None: the default order (domain/search.py)
    descending = sort_by is not None and sort_by.direction is SortDirection.DESC
    counted, with_categories = _asks_count_and_categories(info)
    page = await resolve.products(info.context, query, field, descending, request, counted)
    if with_categories:
        await resolve.prefetch_categories(info.context, [r.id for r in page.items])
    return Connection.of(page, Product.of)


def _shown_price(info: StrawberryInfo, amount: int, tax_band_id: Any) -> DisplayPrice:
    """A price field's value, at once when the request's price tables are loaded (the rule
    for queries: a sync field costs no coroutine or task), else awaited."""
    shown = resolve.price_now(info.context, amount, tax_band_id)
    if shown is not None:
        return DisplayPrice.of(shown)
    return _price_later(info, amount, tax_band_id)  # type: ignore[return-value]


async def _price_later(info: StrawberryInfo, amount: int, tax_band_id: Any) -> DisplayPrice:
    return DisplayPrice.of(await resolve.display_price(info.context, amount, tax_band_id))


_ASKED_BY_NODE: dict[int, tuple[Any, tuple[bool, bool]]] = {}
"""`_asks_count_and_categories` by the listing's field node (kept alive with its answer)."""


def _asks_count_and_categories(info: StrawberryInfo) -> tuple[bool, bool]:
    """Whether the listing's selection asks `totalCount`, and `edges.node.categories`.
    Strawberry's `selected_fields` converts the whole selection each time; the answer only
    depends on the document (cached by the parser, so its nodes are the same objects from one
    request to the next), so it is worked out once per field node."""
    nodes = info._raw_info.field_nodes
    single = len(nodes) == 1  # several: the field asked twice and merged, not memoised
    known = _ASKED_BY_NODE.get(id(nodes[0])) if single else None
    if known is not None and known[0] is nodes[0]:
        return known[1]
    inside = [s for f in info.selected_fields for s in f.selections]
    asked = selects(inside, ("totalCount",)), selects(inside, ("edges", "node", "categories"))
    if single:
        if len(_ASKED_BY_NODE) >= 1000:
            _ASKED_BY_NODE.clear()
        _ASKED_BY_NODE[id(nodes[0])] = (nodes[0], asked)
    return asked


def selects(selections: Sequence[Any], path: tuple[str, ...]) -> bool:
    """Whether the field `path` (e.g. edges, node, categories) is selected under any of the
    given selections (fields and fragments) of the current field."""
    for selection in selections:
        inner = getattr(selection, "selections", None) or []
        if isinstance(selection, SelectedField):
            if selection.name != path[0]:
                continue
            if len(path) == 1 or selects(inner, path[1:]):
                return True
        elif selects(inner, path):
            return True
    return False


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

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Category | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.category(info.context, pk)
        return cls.of(row) if row else None


def _group_fields(kind: str) -> str:
    return f"A {kind}: a named group of products with its own page; storefronts see LIVE ones."


@strawberry.type
class _Group(Node):
    """The fields brands and collections share (not a schema type itself)."""

    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="URL name; unique.")
    description: str = strawberry.field(description="Description (may be empty).")
    status: ProductStatus = strawberry.field(description="LIVE or DRAFT (admins only).")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    row: strawberry.Private[BrandRow | CollectionRow]
    products_of: ClassVar[str] = ""
    """The product_connection argument that lists the group's products."""

    @classmethod
    def of(cls, row: BrandRow | CollectionRow) -> Self:
        return cls(
            row=row,
            id=global_id(cls.__name__, row.id),
            name=row.name,
            slug=row.slug,
            description=row.description,
            status=Status(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

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
        group = {self.products_of: self.row.id}
        return await product_connection(info, first, after, last, before, filter, sort_by, **group)


@strawberry.type(description=_group_fields("brand"))
class Brand(_Group):
    products_of: ClassVar[str] = "brand_id"

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Brand | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.brand(info.context, pk)
        return cls.of(row) if row else None


@strawberry.type(description=_group_fields("collection (e.g. Summer sale, Bestsellers)"))
class Collection(_Group):
    products_of: ClassVar[str] = "collection_id"

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Collection | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.collection(info.context, pk)
        return cls.of(row) if row else None


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

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "VariationOption | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.option(info.context, pk)
        return cls.of(row) if row else None


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

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Variation | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.variation(info.context, pk)
        return cls.of(row) if row else None


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

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "FieldDefinition | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.field_definition(info.context, pk)
        return cls.of(row) if row else None
