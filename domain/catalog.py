"""Catalogue rules: products and their listings, the category tree, brands, collections,
variations and child products (currencies and tax bands have their own modules)."""

import itertools
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    Uuid,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from domain import events
from domain.customfields import validate_custom_fields
from domain.errors import DomainError, DomainErrors, ErrorCode, raise_all
from domain.inventory import StockAction, change_stock
from domain.pagination import SortKey
from domain.pricing import CurrencySpec, PriceBreakdown, breakdown
from domain.text import SKU_RULE, clean_sku, escape_like, visible_identifier
from domain.validation import apply_changes, flush_unique, get_or_404, require_text
from models.base import utcnow
from models.catalog import (
    Brand,
    Category,
    Collection,
    Product,
    ProductCategory,
    ProductCollection,
    TaxBand,
    Variation,
    VariationOption,
)
from models.inventory import StockTransaction

Group = TypeVar("Group", Brand, Collection)

# --- products --------------------------------------------------------------------------

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
IMAGE_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*\Z", re.IGNORECASE)
MAX_IMAGES = 20
MAX_DESCRIPTION = 100_000


class Status(Enum):
    """Publication status of products, brands and collections."""

    LIVE = "LIVE"
    DRAFT = "DRAFT"


def slugify(text: str, max_len: int = 200) -> str:
    """`"Blue T-Shirt!"` -> `"blue-t-shirt"` (accents dropped), for slugs a client did not give."""
    plain = text if text.isascii() else _ascii(text)
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:max_len].strip("-")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


SLUG_NUMBERS_CHECKED = 20
"""Numbered slugs (`base-2`, `base-3`, ...) looked up by index beyond those needed, before
every numbered slug of a base is read."""


def numbered_slug(base: str, n: int) -> str:
    return f"{base[: 200 - len(str(n)) - 1]}-{n}"


def slug_candidates(base: str, needed: int) -> list[str]:
    """`base` and its numbered slugs: enough for `needed` new ones, SLUG_NUMBERS_CHECKED to
    spare."""
    return [base, *(numbered_slug(base, n) for n in range(2, needed + SLUG_NUMBERS_CHECKED + 2))]


async def taken_slugs(
    session: AsyncSession, model: Any, candidates: dict[str, list[str]]
) -> set[str]:
    """Which of each base's `candidates` exist, looked up by the slug index; for a base whose
    candidates are all taken, every numbered slug of it too (a LIKE, which the index cannot
    serve under a non-C collation: it read the whole table, 61 ms a productCreate at 1M
    products, so it runs only then)."""
    wanted = sorted({slug for slugs in candidates.values() for slug in slugs})
    taken: set[str] = set()
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        taken.update((await session.scalars(select(model.slug).where(model.slug.in_(chunk)))).all())
    full = sorted(base for base, slugs in candidates.items() if taken.issuperset(slugs))
    for start in range(0, len(full), 100):
        numbered = [
            model.slug.like(escape_like(base + "-") + "%", "\\")
            for base in full[start : start + 100]
        ]
        taken.update((await session.scalars(select(model.slug).where(or_(*numbered)))).all())
    return taken


def first_free_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is not in `taken` first."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = numbered_slug(base, n)
    return candidate


async def free_slug(session: AsyncSession, model: Any, base: str) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is free first: for slugs made from a name
    (a slug the client gives is never changed; it is DUPLICATE when taken)."""
    if not base:
        return base
    taken = await taken_slugs(session, model, {base: slug_candidates(base, 1)})
    return first_free_slug(base, taken)


async def derive_slug(
    errors: list[DomainError],
    session: AsyncSession,
    model: Any,
    data: Mapping[str, Any],
    clean: dict[str, Any],
) -> None:
    """On create without a slug: a free one made from the name."""
    if "slug" in data or not clean.get("name"):
        return
    base = slugify(clean["name"])
    if not base:
        message = "give a slug: none can be made from this name"
        errors.append(DomainError(ErrorCode.REQUIRED, message, ["input", "slug"]))
    clean["slug"] = await free_slug(session, model, base)


def effective_price(product: Product) -> int:
    """What a buyer pays per unit, without tax, in the store currency: the sale price if set."""
    return product.sale_price if product.sale_price is not None else product.price


def product_price(
    amount: int, tax_rate: Decimal | None, store: CurrencySpec, target: CurrencySpec
) -> PriceBreakdown:
    """A catalogue amount (store currency, without tax) as shown in `target`, with its tax."""
    return breakdown(amount, tax_rate, store, target)


def _invalid(errors: list[DomainError], message: str, field: list[str]) -> None:
    errors.append(DomainError(ErrorCode.INVALID, message, field))


def _clean_slug(errors: list[DomainError], value: str | None, field: list[str]) -> str:
    slug = (value or "").strip()
    if not slug:
        errors.append(DomainError(ErrorCode.REQUIRED, f"{field[-1]} is required", field))
    elif len(slug) > 200 or not SLUG.match(slug):
        _invalid(
            errors,
            f"{field[-1]} must be lowercase letters and digits in groups joined by single "
            "hyphens (e.g. blue-t-shirt), at most 200 characters",
            field,
        )
    return slug


def _clean_text(
    errors: list[DomainError], data: Mapping[str, Any], key: str, field: list[str], max_len: int
) -> str:
    """An optional free text: null means empty."""
    value = data.get(key) or ""
    if len(value) > max_len:
        _invalid(errors, f"{field[-1]} is longer than {max_len} characters", field)
    return value


def _clean_amount(
    errors: list[DomainError], value: int | None, field: list[str], nullable: bool
) -> int | None:
    """A non-negative integer (minor units, grams, units); null only where `nullable`."""
    if value is None:
        if not nullable:
            errors.append(DomainError(ErrorCode.REQUIRED, f"{field[-1]} cannot be null", field))
        return None
    if value < 0:
        _invalid(errors, f"{field[-1]} must be 0 or more", field)
    return value


def _clean_flag(errors: list[DomainError], value: bool | None, field: list[str]) -> bool:
    if value is None:
        _invalid(errors, f"{field[-1]} cannot be null", field)
        return False
    return value


def _clean_images(errors: list[DomainError], images: list[Any] | None) -> list[dict[str, Any]]:
    """Images are URLs (http or https) with optional alt text, kept in the given order."""
    images = images or []
    if len(images) > MAX_IMAGES:
        _invalid(errors, f"at most {MAX_IMAGES} images", ["input", "images"])
    clean = []
    for i, image in enumerate(images):
        url = (image.get("url") or "").strip()
        alt = image.get("alt") or ""
        if not IMAGE_URL.match(url) or len(url) > 2000:
            _invalid(
                errors,
                "url must be an http(s) URL of at most 2000 characters",
                ["input", "images", str(i), "url"],
            )
        if len(alt) > 500:
            _invalid(
                errors, "alt is longer than 500 characters", ["input", "images", str(i), "alt"]
            )
        clean.append({"url": url, "alt": alt})
    return clean


async def _check_exists(
    errors: list[DomainError],
    session: AsyncSession,
    model: Any,
    pks: list[uuid.UUID],
    field: list[str],
    indexed: bool = True,
) -> list[uuid.UUID]:
    """The ids without duplicates; a NOT_FOUND error for each that names no row (one query).
    With `indexed`, error paths end with the id's position in the list."""
    unique = list(dict.fromkeys(pks))
    if not unique:
        return unique
    found = set((await session.scalars(select(model.id).where(model.id.in_(unique)))).all())
    for i, pk in enumerate(pks):
        if pk not in found:
            name = model.__name__
            path = [*field, str(i)] if indexed else field
            errors.append(DomainError(ErrorCode.NOT_FOUND, f"no {name} with that id", path))
    return unique


async def _taken(
    session: AsyncSession, model: Any, column: Any, value: str, own_id: uuid.UUID | None
) -> bool:
    stmt = select(model.id).where(column == value)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    return await session.scalar(stmt.limit(1)) is not None


async def _check_unique(
    errors: list[DomainError],
    session: AsyncSession,
    model: Any,
    values: Mapping[str, str],
    own_id: uuid.UUID | None,
) -> None:
    """DUPLICATE for each of `values` (column name -> value) another row already has. The
    unique indexes are the real guard (see `flush_unique`); this names the field precisely."""
    for key, value in values.items():
        if value and await _taken(session, model, getattr(model, key), value, own_id):
            errors.append(
                DomainError(
                    ErrorCode.DUPLICATE, f"{key} {value!r} is already taken", ["input", key]
                )
            )


@dataclass
class ProductChanges:
    """A validated product input: column values, link sets and the stock to set."""

    columns: dict[str, Any]
    category_ids: list[uuid.UUID] | None = None
    collection_ids: list[uuid.UUID] | None = None
    stock: int | None = None


def _clean_product_columns(
    errors: list[DomainError], data: Mapping[str, Any], product: Product | None
) -> dict[str, Any]:
    creating = product is None
    clean: dict[str, Any] = {}
    if creating or "sku" in data:
        clean["sku"] = clean_sku(errors, data.get("sku"), ["input", "sku"])
    if creating or "name" in data:
        require_text(errors, data.get("name"), ["input", "name"], 300)
        clean["name"] = (data.get("name") or "").strip()
    if "slug" in data:
        clean["slug"] = _clean_slug(errors, data["slug"], ["input", "slug"])
    if "description" in data:
        clean["description"] = _clean_text(
            errors, data, "description", ["input", "description"], MAX_DESCRIPTION
        )
    if "status" in data:
        if data["status"] is None:
            _invalid(errors, "status cannot be null", ["input", "status"])
        else:
            clean["status"] = Status(data["status"]).value
    if creating or "price" in data:
        clean["price"] = _clean_amount(errors, data.get("price"), ["input", "price"], False)
    for key, name in (("sale_price", "salePrice"), ("weight", "weight")):
        if key in data:
            clean[key] = _clean_amount(errors, data[key], ["input", name], True)
    for key, name in (("requires_shipping", "requiresShipping"), ("manage_stock", "manageStock")):
        if key in data:
            clean[key] = _clean_flag(errors, data[key], ["input", name])
    if "images" in data:
        clean["images"] = _clean_images(errors, data["images"])
    return clean


async def _clean_product(
    session: AsyncSession, data: Mapping[str, Any], product: Product | None
) -> ProductChanges:
    """Every problem of a product input at once (codes and field paths), or the clean values."""
    errors: list[DomainError] = []
    changes = ProductChanges(_clean_product_columns(errors, data, product))
    columns = changes.columns
    if product is None:
        await derive_slug(errors, session, Product, data, columns)
    for key, model, name in (("tax_band_id", TaxBand, "taxBandId"), ("brand_id", Brand, "brandId")):
        if data.get(key) is not None:
            await _check_exists(errors, session, model, [data[key]], ["input", name], False)
        if key in data:
            columns[key] = data[key]
    if "category_ids" in data:
        changes.category_ids = await _check_exists(
            errors, session, Category, data["category_ids"] or [], ["input", "categoryIds"]
        )
    if "collection_ids" in data:
        changes.collection_ids = await _check_exists(
            errors, session, Collection, data["collection_ids"] or [], ["input", "collectionIds"]
        )
    if data.get("stock") is not None:
        changes.stock = _clean_amount(errors, data["stock"], ["input", "stock"], False)
        manage = columns.get("manage_stock", product.manage_stock if product else False)
        if not manage:
            _invalid(
                errors, "stock is only kept for products with manageStock: true", ["input", "stock"]
            )
    if product is None or "custom_fields" in data:
        existing = product.custom_fields if product else None
        try:
            columns["custom_fields"] = await validate_custom_fields(
                session, "PRODUCT", data.get("custom_fields"), existing
            )
        except DomainError as error:
            errors.append(error)
        except DomainErrors as many:
            errors.extend(many.errors)
    unique = {k: columns[k] for k in ("sku", "slug") if k in columns}
    await _check_unique(errors, session, Product, unique, product.id if product else None)
    raise_all(errors)
    return changes


async def _save_links(
    session: AsyncSession, product_id: uuid.UUID, changes: ProductChanges, new: bool = False
) -> None:
    """Replace the product's category and collection sets with the given ones (a `new`
    product has none to delete)."""
    for table, column, ids in (
        (ProductCategory, "category_id", changes.category_ids),
        (ProductCollection, "collection_id", changes.collection_ids),
    ):
        if ids is None:
            continue
        if not new:
            await session.execute(delete(table).where(table.product_id == product_id))
        if ids:
            await insert_links(
                session, table, column, [{"product_id": product_id, column: pk} for pk in ids]
            )


async def insert_links(
    session: AsyncSession, table: Any, column: str, pairs: list[dict[str, Any]]
) -> None:
    """INSERT link rows ({"product_id": ..., column: ...}); on PostgreSQL as one statement
    (unnest of two arrays), not one per row: the triggers on product_category recompute the
    products' category_ids once per statement (migration b2c3d4e5f6a8)."""
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(table), pairs)
        return
    arrays = [
        bindparam(key, [pair[key] for pair in pairs], type_=ARRAY(Uuid()))
        for key in ("product_id", column)
    ]
    rows = func.unnest(*arrays).table_valued("product_id", column).render_derived()
    await session.execute(
        insert(table).from_select(["product_id", column], select(rows.c.product_id, rows.c[column]))
    )


async def _set_stock(session: AsyncSession, product: Product, total: int) -> None:
    """Bring the stock total to `total` through the ledger (an INCREMENT or a DECREMENT), so
    every change of stock stays a StockTransaction. The product row is locked by the caller."""
    delta = total - product.stock_total
    if delta == 0:
        return
    action = StockAction.INCREMENT if delta > 0 else StockAction.DECREMENT
    try:
        await change_stock(session, product.id, action, abs(delta))
    except DomainError as error:
        raise DomainError(
            error.code,
            f"stock cannot go below the {product.stock_allocated} units allocated to orders",
            ["input", "stock"],
        ) from error
    await session.refresh(product)


async def create_product(session: AsyncSession, data: Mapping[str, Any]) -> Product:
    """A new product with its initial stock in its row, recorded in the ledger as one
    INCREMENT (nobody else can change a row not yet committed: no conditional UPDATE), and
    its events in one INSERT: product.created, then its stock's (events.new_product_events),
    as productBulkCreate writes them."""
    changes = await _clean_product(session, data, None)
    product = Product(**changes.columns, stock_total=changes.stock or 0)
    session.add(product)
    await flush_unique(session, "sku or slug", ["input", "sku"])
    await _save_links(session, product.id, changes, new=True)
    if changes.stock:
        increment = StockAction.INCREMENT.value
        session.add(
            StockTransaction(product_id=product.id, action=increment, quantity=changes.stock)
        )
    row = events.product_columns(product)
    await events.emit_new(session, events.PRODUCT, events.new_product_events(row))
    return product


async def _locked_product(session: AsyncSession, pk: uuid.UUID, field: list[str]) -> Product:
    """The product, its row locked for this transaction (PostgreSQL; SQLite writers are serial)."""
    stmt = select(Product).where(Product.id == pk).with_for_update()
    product = await session.scalar(stmt.execution_options(populate_existing=True))
    if product is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no Product with that id", field)
    return product


async def update_product(session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]) -> Product:
    product = await _locked_product(session, pk, ["id"])
    changes = await _clean_product(session, data, product)
    apply_changes(product, changes.columns)
    await flush_unique(session, "sku or slug", ["input", "sku"])
    await _save_links(session, product.id, changes)
    if changes.stock is not None:
        await _set_stock(session, product, changes.stock)
    await session.flush()  # updated_at as stored
    await events.emit_product(session, events.PRODUCT_UPDATED, product)
    return product


async def delete_product(session: AsyncSession, pk: uuid.UUID) -> Product:
    """Delete a product with its children, variations, links and stock ledger. Orders keep
    their own copies of every line, so they stay intact. Each child deleted with it gets its
    own product.deleted (as a rebuild that drops a child writes), then the product."""
    product = await get_or_404(session, Product, pk, ["id"])
    children = (await session.scalars(select(Product).where(Product.parent_id == pk))).all()
    await session.delete(product)
    await session.flush()
    gone = [(child.id, events.product_data(child)) for child in children]
    await events.emit_each(session, events.PRODUCT_DELETED, events.PRODUCT, gone)
    await events.emit_product(session, events.PRODUCT_DELETED, product)
    return product


# --- product listings ------------------------------------------------------------------


class ProductSortField(Enum):
    NAME = "NAME"
    PRICE = "PRICE"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    RELEVANCE = "RELEVANCE"  # best match first: only with a search (domain/search.py)


@dataclass(frozen=True)
class ProductQuery:
    """Filters of a product listing; None means "any"."""

    search: str | None = None
    category_slug: str | None = None
    brand_slug: str | None = None
    collection_slug: str | None = None
    status: Status | None = None
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool | None = None
    parent_id: uuid.UUID | None = None
    is_child: bool | None = None
    include_subcategories: bool = True
    category_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    collection_id: uuid.UUID | None = None
    walk_in_order: bool = False
    """SQLite: test category and collection membership product by product while walking the
    sort order, instead of reading the linked products first (set by `plan_membership`)."""


WALK_IN_ORDER_LINKS = 1000
"""SQLite plans a membership filter one way for every category: reading the linked products
first costs per link (a 10k-product category: ~35 ms at 100k products), walking the sort order
costs per product passed over (a 10-product category: ~55 ms). With at least this many links
the walk finds a page quickly; below it, reading the links is cheap."""


def _unindexed(column: Any) -> ColumnElement[Any]:
    """`+column`: SQLite will not look this column up through an index, so a join on it is
    driven from this side (the planner otherwise scans the whole link table)."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


@dataclass(frozen=True)
class _Membership:
    """A category or collection filter: the link table's owner and product columns, and the
    ids of the owners (categories, collections) whose products it keeps."""

    link: Any
    owner: Any
    product: Any
    owners: Select[Any]

    def links_first(self) -> Select[Any]:
        """The linked products' ids, read from the owners' links (SQLite: driven from the
        owners; it would otherwise scan the link table)."""
        owner_ids = self.owners.subquery()
        on = self.owner == _unindexed(owner_ids.c[0])
        return select(self.product).select_from(owner_ids).join(self.link, on)

    def condition(self, sqlite: bool, walk: bool) -> ColumnElement[bool]:
        """Products with a link to one of the owners: per product (`walk`), else from the
        links."""
        if walk:
            return exists().where(self.product == Product.id, self.owner.in_(self.owners))
        if not sqlite:
            return Product.id.in_(select(self.product).where(self.owner.in_(self.owners)))
        return Product.id.in_(self.links_first())


def _category_tree(root: ColumnElement[bool], include_subcategories: bool) -> Select[Any]:
    """Ids of the categories matching `root`, and of their descendants."""
    if not include_subcategories:
        return select(Category.id).where(root)
    tree = select(Category.id).where(root).cte("category_tree", recursive=True)
    child = aliased(Category)
    tree = tree.union(select(child.id).where(child.parent_id == tree.c.id))
    return select(tree.c.id)


def _collections(condition: Any, storefront: bool) -> Select[Any]:
    owners = select(Collection.id).where(condition)
    return owners.where(Collection.status == Status.LIVE.value) if storefront else owners


def _memberships(query: ProductQuery, storefront: bool) -> list[_Membership]:
    """The category and collection filters of `query` (storefronts: LIVE collections)."""
    found = []
    for condition, value in (
        (Category.slug, query.category_slug),
        (Category.id, query.category_id),
    ):
        if value is not None:
            tree = _category_tree(condition == value, query.include_subcategories)
            link = ProductCategory
            found.append(_Membership(link, link.category_id, link.product_id, tree))
    for condition, value in (
        (Collection.slug, query.collection_slug),
        (Collection.id, query.collection_id),
    ):
        if value is not None:
            owners = _collections(condition == value, storefront)
            link = ProductCollection
            found.append(_Membership(link, link.collection_id, link.product_id, owners))
    return found


async def plan_membership(session: AsyncSession, query: ProductQuery) -> ProductQuery:
    """SQLite: `query` to walk the sort order when each of its category and collection filters
    links at least WALK_IN_ORDER_LINKS products (one statement; each count stops there)."""
    memberships = _memberships(query, storefront=False)
    if not memberships:
        return query
    counts = [
        select(func.count())
        .select_from(m.links_first().limit(WALK_IN_ORDER_LINKS).subquery())
        .scalar_subquery()
        for m in memberships
    ]
    found = (await session.execute(select(*counts))).one()
    return replace(query, walk_in_order=min(found) >= WALK_IN_ORDER_LINKS)


def in_stock_condition(in_stock: bool) -> ColumnElement[bool]:
    available = Product.stock_total - Product.stock_allocated
    if in_stock:
        return or_(Product.manage_stock.is_(False), available > 0)
    return and_(Product.manage_stock.is_(True), available <= 0)


def product_conditions(
    query: ProductQuery, storefront: bool, sqlite: bool = False
) -> list[ColumnElement[bool]]:
    """WHERE conditions of a listing; a storefront sees LIVE products (and brands and
    collections) only, so asking it for DRAFT ones finds nothing. `query.search` is applied
    by domain/search.py (an index per database)."""
    conds: list[ColumnElement[bool]] = []
    if storefront:
        conds.append(Product.status == Status.LIVE.value)
    if query.status is not None:
        conds.append(Product.status == query.status.value)
    for membership in _memberships(query, storefront):
        # each given one must hold (a category's page filtered by collection)
        conds.append(membership.condition(sqlite, query.walk_in_order))
    for column, value in ((Brand.slug, query.brand_slug), (Brand.id, query.brand_id)):
        if value is not None:
            brands = select(Brand.id).where(column == value)
            if storefront:
                brands = brands.where(Brand.status == Status.LIVE.value)
            conds.append(Product.brand_id.in_(brands))
    if query.price_min is not None:
        conds.append(Product.price >= query.price_min)
    if query.price_max is not None:
        conds.append(Product.price <= query.price_max)
    if query.in_stock is not None:
        conds.append(in_stock_condition(query.in_stock))
    if query.parent_id is not None:
        conds.append(Product.parent_id == query.parent_id)
    if query.is_child is not None:
        conds.append(
            Product.parent_id.is_not(None) if query.is_child else Product.parent_id.is_(None)
        )
    return conds


SORT_COLUMNS: dict[ProductSortField, Any] = {
    ProductSortField.NAME: Product.sort_name,
    ProductSortField.PRICE: Product.price,
    ProductSortField.CREATED_AT: Product.created_at,
    ProductSortField.UPDATED_AT: Product.updated_at,
}


def product_sort_keys(field: ProductSortField) -> list[SortKey]:
    """Keyset sort keys: the sort column, then the id as the unique tiebreaker. NAME sorts
    case-insensitively; PRICE by the stored price (store currency, without tax)."""
    column = SORT_COLUMNS[field]
    return [
        SortKey(column, lambda row: getattr(row, column.key)),
        SortKey(Product.id, lambda row: row.id),
    ]


# --- categories ------------------------------------------------------------------------


async def _lock_category_tree(session: AsyncSession) -> dict[uuid.UUID, Category]:
    """Every category, locked: tree changes (moves, inserts, deletes) run one at a time, so two
    concurrent moves can never combine into a cycle. The tree is a small configuration set."""
    await session.execute(select(Category.id).with_for_update())
    rows = (await session.scalars(select(Category).execution_options(populate_existing=True))).all()
    return {row.id: row for row in rows}


def _siblings(tree: Mapping[uuid.UUID, Category], parent_id: uuid.UUID | None) -> list[Category]:
    rows = [c for c in tree.values() if c.parent_id == parent_id]
    return sorted(rows, key=lambda c: (c.position, c.name, c.id))


def _creates_cycle(tree: Mapping[uuid.UUID, Category], pk: uuid.UUID) -> bool:
    """True when following parents from `pk` comes back to it."""
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = pk
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = tree[current].parent_id if current in tree else None
    return False


def _place(
    tree: Mapping[uuid.UUID, Category],
    moves: list[tuple[Category, uuid.UUID | None, int | None]],
    old_parents: set[uuid.UUID | None],
) -> None:
    """Apply moves (row, new parent, wanted index among its new siblings; None = last) and
    renumber every touched sibling group 0, 1, 2, ... so positions stay dense."""
    moved = {row.id for row, _, _ in moves}
    for row, parent_id, _ in moves:
        row.parent_id = parent_id
    groups = old_parents | {parent_id for _, parent_id, _ in moves}
    for parent_id in groups:
        order = [c for c in _siblings(tree, parent_id) if c.id not in moved]
        arriving = [(p, i) for i, (r, pid, p) in enumerate(moves) if pid == parent_id]
        for wanted, i in sorted(arriving, key=lambda a: (a[0] is None, a[0] or 0, a[1])):
            index = len(order) if wanted is None else min(wanted, len(order))
            order.insert(index, moves[i][0])
        for position, row in enumerate(order):
            if row.position != position:
                row.position = position
                row.updated_at = utcnow()


def _clean_category(
    errors: list[DomainError], data: Mapping[str, Any], creating: bool
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if creating or "name" in data:
        require_text(errors, data.get("name"), ["input", "name"])
        clean["name"] = (data.get("name") or "").strip()
    if "slug" in data:
        clean["slug"] = _clean_slug(errors, data["slug"], ["input", "slug"])
    if "description" in data:
        clean["description"] = _clean_text(
            errors, data, "description", ["input", "description"], MAX_DESCRIPTION
        )
    if data.get("position") is not None and data["position"] < 0:
        _invalid(errors, "position must be 0 or more", ["input", "position"])
    return clean


async def create_category(session: AsyncSession, data: Mapping[str, Any]) -> Category:
    errors: list[DomainError] = []
    clean = _clean_category(errors, data, creating=True)
    tree = await _lock_category_tree(session)
    await derive_slug(errors, session, Category, data, clean)
    parent_id = data.get("parent_id")
    if parent_id is not None and parent_id not in tree:
        errors.append(
            DomainError(ErrorCode.NOT_FOUND, "no Category with that id", ["input", "parentId"])
        )
    await _check_unique(errors, session, Category, {"slug": clean.get("slug", "")}, None)
    raise_all(errors)
    category = Category(**clean, parent_id=parent_id)
    session.add(category)
    await flush_unique(session, "slug", ["input", "slug"])
    tree = {**tree, category.id: category}
    _place(tree, [(category, parent_id, data.get("position"))], set())
    await session.flush()
    return category


async def update_category(
    session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]
) -> Category:
    errors: list[DomainError] = []
    clean = _clean_category(errors, data, creating=False)
    tree = await _lock_category_tree(session)
    category = tree.get(pk)
    if category is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no Category with that id", ["id"])
    await _check_unique(errors, session, Category, {"slug": clean.get("slug", "")}, pk)
    parent_id = data["parent_id"] if "parent_id" in data else category.parent_id
    if parent_id is not None and parent_id not in tree:
        errors.append(
            DomainError(ErrorCode.NOT_FOUND, "no Category with that id", ["input", "parentId"])
        )
    raise_all(errors)
    apply_changes(category, clean)
    if "parent_id" in data or data.get("position") is not None:
        move = CategoryMove(pk, parent_id, data.get("position"))
        _apply_moves(tree, [move], field=["input", "parentId"])
    await flush_unique(session, "slug", ["input", "slug"])
    return category


@dataclass(frozen=True)
class CategoryMove:
    """Put category `id` under `parent_id` (None: a root; or its current parent with
    `keep_parent`) at index `position` among its siblings (None: last)."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    position: int | None
    keep_parent: bool = False


def _apply_moves(
    tree: Mapping[uuid.UUID, Category], moves: list[CategoryMove], field: list[str] | None = None
) -> None:
    """Move categories in memory; INVALID (and nothing changed) if the result has a cycle."""
    old_parents = {tree[m.id].parent_id for m in moves}
    _place(tree, [(tree[m.id], m.parent_id, m.position) for m in moves], old_parents)
    for i, move in enumerate(moves):
        if _creates_cycle(tree, move.id):  # the caller's transaction rolls the moves back
            path = field or ["input", str(i), "parentId"]
            raise DomainError(
                ErrorCode.INVALID,
                f"moving {tree[move.id].slug!r} there would make it its own ancestor",
                path,
            )


async def reorder_categories(session: AsyncSession, moves: list[CategoryMove]) -> list[Category]:
    """Move many categories at once (all or nothing); returns the moved categories."""
    tree = await _lock_category_tree(session)
    errors: list[DomainError] = []
    seen: set[uuid.UUID] = set()
    for i, move in enumerate(moves):
        if move.id not in tree:
            errors.append(
                DomainError(
                    ErrorCode.NOT_FOUND, "no Category with that id", ["input", str(i), "id"]
                )
            )
        elif move.id in seen:
            _invalid(errors, "a category may be moved once per call", ["input", str(i), "id"])
        seen.add(move.id)
        if move.parent_id is not None and move.parent_id not in tree:
            errors.append(
                DomainError(
                    ErrorCode.NOT_FOUND, "no Category with that id", ["input", str(i), "parentId"]
                )
            )
        if move.position is not None and move.position < 0:
            _invalid(errors, "position must be 0 or more", ["input", str(i), "position"])
    raise_all(errors)
    moves = [
        CategoryMove(m.id, tree[m.id].parent_id, m.position) if m.keep_parent else m for m in moves
    ]
    _apply_moves(tree, moves)
    await session.flush()
    return [tree[m.id] for m in moves]


async def delete_category(session: AsyncSession, pk: uuid.UUID) -> Category:
    """Delete a category without sub-categories (IN_USE otherwise: move or delete them first);
    its products stay, they just leave the category."""
    tree = await _lock_category_tree(session)
    category = tree.get(pk)
    if category is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no Category with that id", ["id"])
    if any(c.parent_id == pk for c in tree.values()):
        raise DomainError(
            ErrorCode.IN_USE, "the category has sub-categories; move or delete them first", ["id"]
        )
    await session.delete(category)
    await session.flush()
    remaining = {k: v for k, v in tree.items() if k != pk}
    _place(remaining, [], {category.parent_id})
    await session.flush()
    return category


# --- brands and collections ------------------------------------------------------------


def _clean_group(
    errors: list[DomainError], data: Mapping[str, Any], creating: bool
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if creating or "name" in data:
        require_text(errors, data.get("name"), ["input", "name"])
        clean["name"] = (data.get("name") or "").strip()
    if "slug" in data:
        clean["slug"] = _clean_slug(errors, data["slug"], ["input", "slug"])
    if "description" in data:
        clean["description"] = _clean_text(
            errors, data, "description", ["input", "description"], MAX_DESCRIPTION
        )
    if "status" in data:
        if data["status"] is None:
            _invalid(errors, "status cannot be null", ["input", "status"])
        else:
            clean["status"] = Status(data["status"]).value
    return clean


async def create_group(session: AsyncSession, model: type[Group], data: Mapping[str, Any]) -> Group:
    """Create a Brand or a Collection."""
    errors: list[DomainError] = []
    clean = _clean_group(errors, data, creating=True)
    await derive_slug(errors, session, model, data, clean)
    await _check_unique(errors, session, model, {"slug": clean.get("slug", "")}, None)
    raise_all(errors)
    row = model(**clean)
    session.add(row)
    await flush_unique(session, "slug", ["input", "slug"])
    return row


async def update_group(
    session: AsyncSession, model: type[Group], pk: uuid.UUID, data: Mapping[str, Any]
) -> Group:
    row = await get_or_404(session, model, pk, ["id"])
    errors: list[DomainError] = []
    clean = _clean_group(errors, data, creating=False)
    await _check_unique(errors, session, model, {"slug": clean.get("slug", "")}, pk)
    raise_all(errors)
    apply_changes(row, clean)
    await flush_unique(session, "slug", ["input", "slug"])
    return row


async def delete_group(session: AsyncSession, model: type[Group], pk: uuid.UUID) -> Group:
    """Delete a brand (its products keep existing without a brand) or a collection (its
    products leave it)."""
    row = await get_or_404(session, model, pk, ["id"])
    await session.delete(row)
    await session.flush()
    return row


# --- variations, options and child products ----------------------------------------------

MAX_CHILDREN = 500
MAX_INT = 2**31 - 1  # GraphQL Int and the database's integer columns
SKU_SUFFIX = re.compile(r"^\S{1,60}\Z")
SLUG_SUFFIX = re.compile(r"^-?[a-z0-9]+(?:-[a-z0-9]+)*\Z")


async def _next_position(
    session: AsyncSession, column: Any, owner: Any, owner_id: uuid.UUID
) -> int:
    last = await session.scalar(select(func.max(column)).where(owner == owner_id))
    return 0 if last is None else int(last) + 1


async def create_variation(
    session: AsyncSession, product_id: uuid.UUID, data: Mapping[str, Any]
) -> Variation:
    product = await _locked_product(session, product_id, ["productId"])
    if product.parent_id is not None:
        raise DomainError(
            ErrorCode.INVALID, "a child product cannot have variations of its own", ["productId"]
        )
    errors: list[DomainError] = []
    name = _clean_variation_name(errors, data)
    raise_all(errors)
    await _raise_if_name_taken(session, Variation, Variation.product_id, product_id, name, None)
    position = await _next_position(session, Variation.position, Variation.product_id, product_id)
    variation = Variation(product_id=product_id, name=name, position=position)
    session.add(variation)
    await flush_unique(session, f"variation name {name!r}", ["input", "name"])
    return variation


def _clean_variation_name(errors: list[DomainError], data: Mapping[str, Any]) -> str:
    require_text(errors, data.get("name"), ["input", "name"], 100)
    return (data.get("name") or "").strip()


async def _raise_if_name_taken(
    session: AsyncSession,
    model: Any,
    owner: Any,
    owner_id: uuid.UUID,
    name: str,
    own_id: uuid.UUID | None,
) -> None:
    stmt = select(model.id).where(owner == owner_id, model.name == name)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    if await session.scalar(stmt.limit(1)) is not None:
        raise DomainError(
            ErrorCode.DUPLICATE, f"name {name!r} is already taken here", ["input", "name"]
        )


async def update_variation(
    session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]
) -> Variation:
    variation = await get_or_404(session, Variation, pk, ["id"])
    if "name" in data:
        errors: list[DomainError] = []
        name = _clean_variation_name(errors, data)
        raise_all(errors)
        await _raise_if_name_taken(
            session, Variation, Variation.product_id, variation.product_id, name, pk
        )
        apply_changes(variation, {"name": name})
    await flush_unique(session, "variation name", ["input", "name"])
    return variation


async def delete_variation(session: AsyncSession, pk: uuid.UUID) -> Variation:
    """Delete a variation and its options; the next productChildrenBuild removes the children
    that no longer match a combination."""
    variation = await get_or_404(session, Variation, pk, ["id"])
    await session.delete(variation)
    await session.flush()
    return variation


SUFFIXES = (
    ("sku_suffix", "skuSuffix", SKU_SUFFIX, f"1 to 60 characters that {SKU_RULE}, e.g. -RED"),
    (
        "slug_suffix",
        "slugSuffix",
        SLUG_SUFFIX,
        "lowercase letters and digits joined by single hyphens, e.g. -red",
    ),
)


def _clean_option(
    errors: list[DomainError], data: Mapping[str, Any], creating: bool
) -> dict[str, Any]:
    """Option fields; suffixes default to the name (`Red` gives `-RED` and `-red`)."""
    clean: dict[str, Any] = {}
    if creating or "name" in data:
        clean["name"] = _clean_variation_name(errors, data)
    if "description" in data:
        clean["description"] = _clean_text(
            errors, data, "description", ["input", "description"], 10_000
        )
    if data.get("price_change") is not None:
        clean["price_change"] = data["price_change"]
    defaults = {
        "sku_suffix": "-" + slugify(clean.get("name", ""), 59).upper(),
        "slug_suffix": "-" + slugify(clean.get("name", ""), 99),
    }
    for key, name, pattern, rule in SUFFIXES:
        if data.get(key) is not None:
            value = data[key]
        elif key in data and not creating:
            _invalid(errors, f"{name} cannot be null", ["input", name])
            continue
        elif creating:
            value = defaults[key]
        else:
            continue
        if len(value) > 100 or not pattern.match(value) or not visible_identifier(value):
            _invalid(errors, f"{name} must be {rule}", ["input", name])
        clean[key] = value
    return clean


async def create_option(
    session: AsyncSession, variation_id: uuid.UUID, data: Mapping[str, Any]
) -> VariationOption:
    variation = await get_or_404(session, Variation, variation_id, ["variationId"])
    errors: list[DomainError] = []
    clean = _clean_option(errors, data, creating=True)
    raise_all(errors)
    await _raise_if_name_taken(
        session, VariationOption, VariationOption.variation_id, variation.id, clean["name"], None
    )
    position = await _next_position(
        session, VariationOption.position, VariationOption.variation_id, variation.id
    )
    option = VariationOption(variation_id=variation.id, position=position, **clean)
    session.add(option)
    await flush_unique(session, f"option name {clean['name']!r}", ["input", "name"])
    return option


async def update_option(
    session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]
) -> VariationOption:
    option = await get_or_404(session, VariationOption, pk, ["id"])
    errors: list[DomainError] = []
    clean = _clean_option(errors, data, creating=False)
    raise_all(errors)
    if "name" in clean:
        await _raise_if_name_taken(
            session,
            VariationOption,
            VariationOption.variation_id,
            option.variation_id,
            clean["name"],
            pk,
        )
    apply_changes(option, clean)
    await flush_unique(session, "option name", ["input", "name"])
    return option


async def delete_option(session: AsyncSession, pk: uuid.UUID) -> VariationOption:
    option = await get_or_404(session, VariationOption, pk, ["id"])
    await session.delete(option)
    await session.flush()
    return option


def combination_key(options: Sequence[VariationOption]) -> str:
    """The same key for the same options, whatever their order."""
    return ",".join(sorted(o.id.hex for o in options))


@dataclass(frozen=True)
class ChildSpec:
    """What a child product derives from its parent and its options."""

    key: str
    sku: str
    slug: str
    name: str
    price: int
    sale_price: int | None


def child_specs(parent: Product, axes: Sequence[Sequence[VariationOption]]) -> list[ChildSpec]:
    """One spec per combination of one option of each variation, suffixes in variation order."""
    specs = []
    for combo in itertools.product(*axes):
        change = sum(o.price_change for o in combo)
        specs.append(
            ChildSpec(
                key=combination_key(combo),
                sku=parent.sku + "".join(o.sku_suffix for o in combo),
                slug=parent.slug + "".join(o.slug_suffix for o in combo),
                name=f"{parent.name} ({', '.join(o.name for o in combo)})",
                price=parent.price + change,
                sale_price=None if parent.sale_price is None else parent.sale_price + change,
            )
        )
    return specs


async def _variation_axes(
    session: AsyncSession, product_id: uuid.UUID
) -> list[list[VariationOption]]:
    variations = (
        await session.scalars(
            select(Variation)
            .where(Variation.product_id == product_id)
            .order_by(Variation.position, Variation.created_at, Variation.id)
        )
    ).all()
    if not variations:
        raise DomainError(
            ErrorCode.INVALID, "the product has no variations to combine", ["productId"]
        )
    options = (
        await session.scalars(
            select(VariationOption)
            .where(VariationOption.variation_id.in_([v.id for v in variations]))
            .order_by(VariationOption.position, VariationOption.created_at, VariationOption.id)
        )
    ).all()
    axes = [[o for o in options if o.variation_id == v.id] for v in variations]
    for variation, axis in zip(variations, axes, strict=True):
        if not axis:
            raise DomainError(
                ErrorCode.INVALID, f"variation {variation.name!r} has no options yet", ["productId"]
            )
    return axes


def _check_specs(specs: list[ChildSpec]) -> None:
    errors: list[DomainError] = []
    if len(specs) > MAX_CHILDREN:
        _invalid(
            errors, f"{len(specs)} combinations; at most {MAX_CHILDREN} children", ["productId"]
        )
    for spec in specs:
        prices = [spec.price] if spec.sale_price is None else [spec.price, spec.sale_price]
        if min(prices) < 0:
            _invalid(errors, f"the options of {spec.sku!r} take its price below 0", ["productId"])
        elif max(prices) > MAX_INT:
            _invalid(errors, f"the options of {spec.sku!r} take its price too high", ["productId"])
        if len(spec.sku) > 120 or len(spec.slug) > 200:
            _invalid(errors, f"child sku or slug too long: {spec.sku!r}", ["productId"])
    for attr in ("sku", "slug"):
        values = [getattr(s, attr) for s in specs]
        for value in sorted({v for v in values if values.count(v) > 1}):
            _invalid(
                errors,
                f"two combinations give the same {attr} {value!r}; change the suffixes",
                ["productId"],
            )
    raise_all(errors[:20])


async def _check_child_clashes(
    session: AsyncSession, parent_id: uuid.UUID, specs: list[ChildSpec]
) -> None:
    """DUPLICATE when a child's sku or slug belongs to a product other than that child."""
    by_key = {s.key: s for s in specs}
    for attr in ("sku", "slug"):
        column = getattr(Product, attr)
        values = [getattr(s, attr) for s in specs]
        owners = (
            await session.execute(
                select(column, Product.parent_id, Product.combination_key).where(column.in_(values))
            )
        ).all()
        for value, owner_parent, key in owners:
            if (
                owner_parent != parent_id
                or key not in by_key
                or getattr(by_key[key], attr) != value
            ):
                raise DomainError(
                    ErrorCode.DUPLICATE,
                    f"{attr} {value!r} of a child is already taken by another product",
                    ["productId"],
                )


async def build_children(session: AsyncSession, product_id: uuid.UUID) -> Product:
    """Create the missing child of every option combination, refresh the existing ones (sku,
    slug, name, prices and the parent's descriptive fields; their own status, stock and custom
    fields stay) and delete the children whose combination no longer exists. The parent row is
    locked and (parent, combination) is unique, so concurrent builds never duplicate a child."""
    parent = await _locked_product(session, product_id, ["productId"])
    if parent.parent_id is not None:
        raise DomainError(ErrorCode.INVALID, "a child product has no children", ["productId"])
    specs = child_specs(parent, await _variation_axes(session, product_id))
    _check_specs(specs)
    existing = {
        c.combination_key: c
        for c in (
            await session.scalars(select(Product).where(Product.parent_id == product_id))
        ).all()
    }
    wanted = {s.key for s in specs}
    gone = [child for key, child in existing.items() if key not in wanted]
    for child in gone:
        await session.delete(child)
    await session.flush()
    await _check_child_clashes(session, product_id, specs)
    changed: list[tuple[str, Product]] = [(events.PRODUCT_DELETED, child) for child in gone]
    for spec in specs:
        child = existing.get(spec.key)
        if child is None:
            child = Product(
                parent_id=parent.id,
                combination_key=spec.key,
                status=parent.status,
                manage_stock=parent.manage_stock,
                custom_fields=dict(parent.custom_fields),
                **_inherited(parent, spec),
            )
            session.add(child)
            changed.append((events.PRODUCT_CREATED, child))
        else:
            apply_changes(child, _inherited(parent, spec))
            if session.is_modified(child):
                changed.append((events.PRODUCT_UPDATED, child))
    await flush_unique(session, "a child's sku or slug", ["productId"])
    for type_, child in changed:  # each child's row is locked (or new) by now
        await events.emit_product(session, type_, child)
    return parent


def _inherited(parent: Product, spec: ChildSpec) -> dict[str, Any]:
    return {
        "sku": spec.sku,
        "slug": spec.slug,
        "name": spec.name,
        "price": spec.price,
        "sale_price": spec.sale_price,
        "description": parent.description,
        "tax_band_id": parent.tax_band_id,
        "brand_id": parent.brand_id,
        "weight": parent.weight,
        "requires_shipping": parent.requires_shipping,
        "images": list(parent.images),
    }
