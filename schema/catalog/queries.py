"""Catalogue root query fields."""

import strawberry

from domain.customfields import CustomFieldEntity as DomainCustomFieldEntity
from domain.errors import DomainError, ErrorCode
from models.catalog import Brand as BrandRow
from models.catalog import Collection as CollectionRow
from resolvers import catalog as resolve
from resolvers.ids import decode_id, maybe_decode_id
from schema.base import (
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    LastArg,
    StrawberryInfo,
    described,
    page_request,
)
from schema.catalog.enums import CustomFieldEntity
from schema.catalog.inputs import FilterArg, IdArg, SkuArg, SlugArg, SortArg
from schema.catalog.types import (
    Brand,
    Category,
    Collection,
    Currency,
    FieldDefinition,
    Product,
    TaxBand,
    product_connection,
)


def one_key(**keys: object) -> str:
    """The one lookup key given (e.g. id, slug or sku); INVALID unless exactly one is."""
    given = [name for name, value in keys.items() if value is not None]
    if len(given) != 1:
        raise DomainError(
            ErrorCode.INVALID, f"give exactly one of {', '.join(keys)}", list(given or keys)
        )
    return given[0]


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
        self, info: StrawberryInfo, id: IdArg = None, slug: SlugArg = None, sku: SkuArg = None
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
