"""Catalogue resolvers: arguments in, domain call, rows out; and the catalogue DataLoaders."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from domain import catalog, customfields, search
from domain import currencies as currency_rules
from domain import tax_bands as tax_band_rules
from domain.inventory import StockStatus
from domain.inventory import stock_status as inventory_stock_status
from domain.pagination import Page, PageRequest, PaginationError, SortKey, decode_cursor, paginate
from domain.pricing import PriceBreakdown
from models.catalog import (
    Brand,
    Category,
    Collection,
    Currency,
    FieldDefinition,
    Product,
    ProductCategory,
    ProductCollection,
    TaxBand,
    Variation,
    VariationOption,
)
from resolvers.context import BatchFn, Context
from resolvers.ids import pk_or_no_row


async def tax_band(ctx: Context, pk: uuid.UUID) -> TaxBand | None:
    return await ctx.load_by_ids(TaxBand).load(pk)


async def tax_bands(ctx: Context) -> Sequence[TaxBand]:
    async with ctx.read() as session:
        return (await session.scalars(select(TaxBand).order_by(TaxBand.name, TaxBand.id))).all()


async def create_tax_band(ctx: Context, data: dict[str, Any]) -> TaxBand:
    return await ctx.written(tax_band_rules.create_tax_band, data)


async def update_tax_band(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> TaxBand:
    return await ctx.written(tax_band_rules.update_tax_band, pk, data)


async def delete_tax_band(ctx: Context, pk: uuid.UUID) -> TaxBand:
    return await ctx.written(tax_band_rules.delete_tax_band, pk)


async def currencies(ctx: Context) -> Sequence[Currency]:
    """Every currency for admins; the enabled ones for everyone else."""
    stmt = select(Currency).order_by(Currency.is_default.desc(), Currency.code)
    if not ctx.is_admin:
        stmt = stmt.where(Currency.enabled)
    async with ctx.read() as session:
        return (await session.scalars(stmt)).all()


async def currency(ctx: Context, pk: uuid.UUID | None, code: str | None) -> Currency | None:
    stmt = select(Currency)
    stmt = (
        stmt.where(Currency.id == pk) if pk else stmt.where(Currency.code == (code or "").upper())
    )
    if not ctx.is_admin:
        stmt = stmt.where(Currency.enabled)
    async with ctx.read() as session:
        return await session.scalar(stmt)


async def create_currency(ctx: Context, data: dict[str, Any]) -> Currency:
    return await ctx.written(currency_rules.create_currency, data)


async def update_currency(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> Currency:
    return await ctx.written(currency_rules.update_currency, pk, data)


async def delete_currency(ctx: Context, pk: uuid.UUID) -> Currency:
    return await ctx.written(currency_rules.delete_currency, pk)


# --- products --------------------------------------------------------------------------


def visible(ctx: Context, row: Product | Brand | Collection | None) -> bool:
    """Whether the caller may see the row: admins see everything, others LIVE rows only."""
    return row is not None and (ctx.is_admin or row.status == catalog.Status.LIVE.value)


async def product_row(ctx: Context, pk: uuid.UUID) -> Product | None:
    """Any product by id, whatever its status (for cart and order lines that show theirs)."""
    return await ctx.load_by_ids(Product).load(pk)


async def product(ctx: Context, pk: uuid.UUID | None) -> Product | None:
    """A product the caller may see (storefronts: LIVE only)."""
    row = await product_row(ctx, pk) if pk else None
    return row if visible(ctx, row) else None


async def product_by(
    ctx: Context, pk: uuid.UUID | None, slug: str | None, sku: str | None
) -> Product | None:
    if pk is not None:
        return await product(ctx, pk)
    column, value = (Product.slug, slug) if slug is not None else (Product.sku, sku)
    async with ctx.read() as session:
        row = await session.scalar(select(Product).where(column == value))
    return row if visible(ctx, row) else None


CURSOR_TYPES: dict[catalog.ProductSortField, type] = {
    catalog.ProductSortField.NAME: str,
    catalog.ProductSortField.PRICE: int,
    catalog.ProductSortField.CREATED_AT: datetime,
    catalog.ProductSortField.UPDATED_AT: datetime,
    catalog.ProductSortField.RELEVANCE: float,
}


def _check_cursors(request: PageRequest, field: catalog.ProductSortField) -> None:
    """A cursor must come from a listing in the same sort order (else INVALID, not a crash)."""
    for cursor in (request.after, request.before):
        if cursor is None:
            continue
        value, pk = decode_cursor(cursor, 2)
        wanted = CURSOR_TYPES[field]
        if (
            not isinstance(value, wanted)
            or isinstance(value, bool)
            or not isinstance(pk, uuid.UUID)
        ):
            raise PaginationError("the cursor belongs to another sort order; start again")


async def products(
    ctx: Context,
    query: catalog.ProductQuery,
    sort: catalog.ProductSortField | None,
    descending: bool,
    request: PageRequest,
    with_total: bool = True,
) -> Page[Product]:
    """A page of products; `with_total`: the caller will ask for the count."""
    with_total = with_total and not (request.after or request.before)  # (counted apart)
    async with ctx.read() as session:
        if ctx.db.is_sqlite:
            query = await catalog.plan_membership(session, query)
        storefront, sqlite = not ctx.is_admin, ctx.db.is_sqlite
        listing = search.product_listing(query, sort, storefront, sqlite, with_total)
        _check_cursors(request, listing.sort)
        return await search.page_of_products(session, listing, descending, request)


async def load_children(ctx: Context, parent_ids: Sequence[uuid.UUID]) -> list[list[Product]]:
    stmt = select(Product).where(Product.parent_id.in_(parent_ids))
    if not ctx.is_admin:
        stmt = stmt.where(Product.status == catalog.Status.LIVE.value)
    async with ctx.read() as session:
        rows = (await session.scalars(stmt.order_by(Product.created_at, Product.sku))).all()
    return _group(parent_ids, rows, lambda r: r.parent_id)


async def children(ctx: Context, parent_id: uuid.UUID) -> list[Product]:
    return await ctx.loader(load_children).load(parent_id)


def _group(
    keys: Sequence[Any], rows: Sequence[Any], key_of: Any, value_of: Any = None
) -> list[list[Any]]:
    """Rows grouped per key, in the keys' order (a DataLoader's answer)."""
    groups: dict[Any, list[Any]] = {k: [] for k in keys}
    for row in rows:
        groups[key_of(row)].append(value_of(row) if value_of else row)
    return [groups[k] for k in keys]


async def create_product(ctx: Context, data: dict[str, Any]) -> Product:
    return await ctx.written(catalog.create_product, _decode_product_ids(data))


async def update_product(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> Product:
    return await ctx.written(catalog.update_product, pk, _decode_product_ids(data))


async def delete_product(ctx: Context, pk: uuid.UUID) -> Product:
    return await ctx.written(catalog.delete_product, pk)


def _decode_product_ids(data: dict[str, Any]) -> dict[str, Any]:
    """Global ids of a product input as primary keys."""
    data = dict(data)
    for key, kind in (("tax_band_id", "TaxBand"), ("brand_id", "Brand")):
        if data.get(key) is not None:
            data[key] = pk_or_no_row(data[key], kind)
    for key, kind in (("category_ids", "Category"), ("collection_ids", "Collection")):
        if data.get(key) is not None:
            data[key] = [pk_or_no_row(g, kind) for g in data[key]]
    return data


# --- categories, brands, collections of products ---------------------------------------


_PRODUCT_CATEGORIES = (
    select(ProductCategory.product_id, Category)
    .join(Category, Category.id == ProductCategory.category_id)
    .where(ProductCategory.product_id.in_(bindparam("product_ids", expanding=True)))
    .order_by(Category.position, Category.name, Category.id)
)
"""Built once: a page's categories are read on every listing (the ids bound per call)."""


async def load_product_categories(
    ctx: Context, product_ids: Sequence[uuid.UUID]
) -> list[list[Category]]:
    async with ctx.read() as session:
        result = await session.execute(_PRODUCT_CATEGORIES, {"product_ids": list(product_ids)})
        rows = result.all()
    return _group(product_ids, rows, lambda r: r[0], lambda r: r[1])


async def product_categories(ctx: Context, product_id: uuid.UUID) -> list[Category]:
    return await ctx.loader(load_product_categories).load(product_id)


async def load_product_collections(
    ctx: Context, product_ids: Sequence[uuid.UUID]
) -> list[list[Collection]]:
    stmt = (
        select(ProductCollection.product_id, Collection)
        .join(Collection, Collection.id == ProductCollection.collection_id)
        .where(ProductCollection.product_id.in_(product_ids))
        .order_by(Collection.name, Collection.id)
    )
    if not ctx.is_admin:
        stmt = stmt.where(Collection.status == catalog.Status.LIVE.value)
    async with ctx.read() as session:
        rows = (await session.execute(stmt)).all()
    return _group(product_ids, rows, lambda r: r[0], lambda r: r[1])


async def product_collections(ctx: Context, product_id: uuid.UUID) -> list[Collection]:
    return await ctx.loader(load_product_collections).load(product_id)


async def brand(ctx: Context, pk: uuid.UUID | None) -> Brand | None:
    row = await ctx.load_by_ids(Brand).load(pk) if pk else None
    return row if visible(ctx, row) else None


async def collection(ctx: Context, pk: uuid.UUID | None) -> Collection | None:
    row = await ctx.load_by_ids(Collection).load(pk) if pk else None
    return row if visible(ctx, row) else None


async def group_by_slug(ctx: Context, model: type[Brand] | type[Collection], slug: str) -> Any:
    async with ctx.read() as session:
        row = await session.scalar(select(model).where(model.slug == slug))
    return row if visible(ctx, row) else None


async def groups(
    ctx: Context, model: type[Brand] | type[Collection], request: PageRequest
) -> Page[Any]:
    """Brands or collections by name (storefronts: LIVE ones)."""
    stmt = select(model)
    if not ctx.is_admin:
        stmt = stmt.where(model.status == catalog.Status.LIVE.value)
    keys = [SortKey(model.name, lambda r: r.name), SortKey(model.id, lambda r: r.id)]
    for cursor in (request.after, request.before):
        if cursor is not None and not isinstance(decode_cursor(cursor, 2)[0], str):
            raise PaginationError("the cursor belongs to another list; start again")
    async with ctx.read() as session:
        return await paginate(session, stmt, keys, False, request)


async def create_group(ctx: Context, model: Any, data: dict[str, Any]) -> Any:
    return await ctx.written(catalog.create_group, model, data)


async def update_group(ctx: Context, model: Any, pk: uuid.UUID, data: dict[str, Any]) -> Any:
    return await ctx.written(catalog.update_group, model, pk, data)


async def delete_group(ctx: Context, model: Any, pk: uuid.UUID) -> Any:
    return await ctx.written(catalog.delete_group, model, pk)


# --- the category tree -----------------------------------------------------------------


async def category(ctx: Context, pk: uuid.UUID | None) -> Category | None:
    return await ctx.load_by_ids(Category).load(pk) if pk else None


async def category_by_slug(ctx: Context, slug: str) -> Category | None:
    async with ctx.read() as session:
        return await session.scalar(select(Category).where(Category.slug == slug))


async def load_subcategories(ctx: Context, parent_ids: Sequence[uuid.UUID]) -> list[list[Category]]:
    stmt = (
        select(Category)
        .where(Category.parent_id.in_(parent_ids))
        .order_by(Category.position, Category.name, Category.id)
    )
    async with ctx.read() as session:
        rows = (await session.scalars(stmt)).all()
    return _group(parent_ids, rows, lambda r: r.parent_id)


async def subcategories(ctx: Context, parent_id: uuid.UUID) -> list[Category]:
    return await ctx.loader(load_subcategories).load(parent_id)


async def categories(ctx: Context, parent_id: uuid.UUID | None) -> Sequence[Category]:
    """The root categories, or the children of `parent_id`, in position order."""
    if parent_id is not None:
        return await subcategories(ctx, parent_id)
    stmt = select(Category).where(Category.parent_id.is_(None))
    async with ctx.read() as session:
        return (
            await session.scalars(stmt.order_by(Category.position, Category.name, Category.id))
        ).all()


async def create_category(ctx: Context, data: dict[str, Any]) -> Category:
    data = _decode_parent(data)
    async with ctx.write() as session:
        return await catalog.create_category(session, data)


async def update_category(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> Category:
    data = _decode_parent(data)
    async with ctx.write() as session:
        return await catalog.update_category(session, pk, data)


def _decode_parent(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("parent_id") is not None:
        data = {**data, "parent_id": pk_or_no_row(data["parent_id"], "Category")}
    return data


async def reorder_categories(ctx: Context, moves: list[dict[str, Any]]) -> list[Category]:
    """Moves as sent: `parentId` null makes a root, left out keeps the parent; `position` left
    out puts the category last among its siblings."""
    decoded = [
        catalog.CategoryMove(
            id=pk_or_no_row(move["id"], "Category"),
            parent_id=_decode_parent(move).get("parent_id"),
            position=move.get("position"),
            keep_parent="parent_id" not in move,
        )
        for move in moves
    ]
    async with ctx.write() as session:
        return await catalog.reorder_categories(session, decoded)


async def delete_category(ctx: Context, pk: uuid.UUID) -> Category:
    return await ctx.written(catalog.delete_category, pk)


# --- variations ------------------------------------------------------------------------


async def load_variations(ctx: Context, product_ids: Sequence[uuid.UUID]) -> list[list[Variation]]:
    stmt = (
        select(Variation)
        .where(Variation.product_id.in_(product_ids))
        .order_by(Variation.position, Variation.created_at, Variation.id)
    )
    async with ctx.read() as session:
        rows = (await session.scalars(stmt)).all()
    return _group(product_ids, rows, lambda r: r.product_id)


async def variations(ctx: Context, product_id: uuid.UUID) -> list[Variation]:
    return await ctx.loader(load_variations).load(product_id)


async def load_options(
    ctx: Context, variation_ids: Sequence[uuid.UUID]
) -> list[list[VariationOption]]:
    stmt = (
        select(VariationOption)
        .where(VariationOption.variation_id.in_(variation_ids))
        .order_by(VariationOption.position, VariationOption.created_at, VariationOption.id)
    )
    async with ctx.read() as session:
        rows = (await session.scalars(stmt)).all()
    return _group(variation_ids, rows, lambda r: r.variation_id)


async def options(ctx: Context, variation_id: uuid.UUID) -> list[VariationOption]:
    return await ctx.loader(load_options).load(variation_id)


async def child_options(ctx: Context, row: Product) -> list[VariationOption]:
    """The options a child product was built from, in variation order."""
    if not row.combination_key:
        return []
    ids = [uuid.UUID(hex=h) for h in row.combination_key.split(",")]
    found = [o for o in await ctx.load_by_ids(VariationOption).load_many(ids) if o is not None]
    order = (
        {v.id: v.position for v in await variations(ctx, row.parent_id)} if row.parent_id else {}
    )
    return sorted(found, key=lambda o: order.get(o.variation_id, 0))


async def variation(ctx: Context, pk: uuid.UUID) -> Variation | None:
    """A variation, if the caller may see its product."""
    row = await ctx.load_by_ids(Variation).load(pk)
    return row if row is not None and await product(ctx, row.product_id) else None


async def option(ctx: Context, pk: uuid.UUID) -> VariationOption | None:
    row = await ctx.load_by_ids(VariationOption).load(pk)
    return row if row is not None and await variation(ctx, row.variation_id) else None


async def create_variation(ctx: Context, product_id: uuid.UUID, data: dict[str, Any]) -> Variation:
    return await ctx.written(catalog.create_variation, product_id, data)


async def update_variation(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> Variation:
    return await ctx.written(catalog.update_variation, pk, data)


async def delete_variation(ctx: Context, pk: uuid.UUID) -> Variation:
    return await ctx.written(catalog.delete_variation, pk)


async def create_option(
    ctx: Context, variation_id: uuid.UUID, data: dict[str, Any]
) -> VariationOption:
    return await ctx.written(catalog.create_option, variation_id, data)


async def update_option(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> VariationOption:
    return await ctx.written(catalog.update_option, pk, data)


async def delete_option(ctx: Context, pk: uuid.UUID) -> VariationOption:
    return await ctx.written(catalog.delete_option, pk)


async def build_children(ctx: Context, product_id: uuid.UUID) -> Product:
    return await ctx.written(catalog.build_children, product_id)


# --- custom fields ---------------------------------------------------------------------


async def load_field_definitions(
    ctx: Context, entities: Sequence[str]
) -> list[list[FieldDefinition]]:
    stmt = select(FieldDefinition).where(FieldDefinition.entity.in_(entities))
    async with ctx.read() as session:
        rows = (await session.scalars(stmt.order_by(FieldDefinition.slug))).all()
    return _group(entities, rows, lambda r: r.entity)


async def field_definitions(ctx: Context, entity: str) -> list[FieldDefinition]:
    return await ctx.loader(load_field_definitions).load(entity)


async def custom_fields(ctx: Context, entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """Stored custom-field values that still have a definition (one query per request)."""
    defined = {d.slug for d in await field_definitions(ctx, entity)}
    return {k: v for k, v in values.items() if k in defined}


async def field_definition(ctx: Context, pk: uuid.UUID) -> FieldDefinition | None:
    async with ctx.read() as session:
        return await session.get(FieldDefinition, pk)


async def create_field_definition(ctx: Context, data: dict[str, Any]) -> FieldDefinition:
    return await ctx.written(customfields.create_definition, data)


async def update_field_definition(
    ctx: Context, pk: uuid.UUID, data: dict[str, Any]
) -> FieldDefinition:
    return await ctx.written(customfields.update_definition, pk, data)


async def delete_field_definition(ctx: Context, pk: uuid.UUID) -> FieldDefinition:
    return await ctx.written(customfields.delete_definition, pk)


# --- prices and stock as shown ---------------------------------------------------------


async def display_price(ctx: Context, amount: int, tax_band_id: uuid.UUID | None) -> PriceBreakdown:
    """A store-currency amount without tax, shown in the request's currency with its tax band's
    tax (the currency table and tax rates are kept per process, see Context.prepare_prices)."""
    await ctx.prepare_prices()
    shown = price_now(ctx, amount, tax_band_id)
    if shown is None:  # a tax band made after this request read the rates
        band = await tax_band(ctx, tax_band_id) if tax_band_id else None
        currencies = await ctx.currencies()
        rate = band.rate if band else None
        return catalog.product_price(amount, rate, currencies.store, ctx.display_spec(currencies))
    return shown


def price_now(ctx: Context, amount: int, tax_band_id: uuid.UUID | None) -> PriceBreakdown | None:
    """The shown price without awaiting anything, when the request's price tables are loaded
    (None otherwise: then use `display_price`)."""
    tables = ctx.price_tables()
    if tables is None:
        return None
    currencies, rates = tables
    rate = None
    if tax_band_id is not None:
        rate = rates.get(tax_band_id)
        if rate is None:
            return None
    return catalog.product_price(amount, rate, currencies.store, ctx.display_spec(currencies))


def loaded(ctx: Context, batch_fn: BatchFn, key: Any) -> Any | None:
    """What the request's DataLoader already holds for `key` (None when not loaded yet)."""
    future = ctx.loader(batch_fn).cache_map.get(key)
    if future is None or not future.done() or future.exception() is not None:
        return None
    return future.result()


async def prefetch_categories(ctx: Context, product_ids: Sequence[uuid.UUID]) -> None:
    """Load a page's categories in one statement, for `loaded` to find (no async fields)."""
    missing = [
        pk for pk in product_ids if ctx.loader(load_product_categories).cache_map.get(pk) is None
    ]
    if missing:
        await ctx.loader(load_product_categories).load_many(missing)


def stock_status(ctx: Context, row: Product) -> StockStatus:
    return inventory_stock_status(row, ctx.settings.low_stock_threshold)
