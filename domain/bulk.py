"""Bulk product creation (API.md section 15): up to 500 product inputs, all or none.

Each input gets the checks of `productCreate` (the same column rules, references, uniqueness,
stock and custom fields, with the same codes and messages); only the lookups are batched: one
query per kind of lookup for the whole batch instead of several per product, then the inserts
run as multi-row statements (Core, not ORM objects: see `_product_rows`). An error's field path starts with the input's index:
`["inputs", "3", "sku"]`.
"""

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.catalog import (
    ProductChanges,
    _clean_product_columns,
    first_free_slug,
    insert_links,
    slug_candidates,
    slugify,
    taken_slugs,
)
from domain.customfields import check_custom_fields, definitions_of
from domain.errors import DomainError, DomainErrors, ErrorCode, raise_all
from domain.inventory import StockAction
from models.base import new_id, utcnow
from models.catalog import (
    Brand,
    Category,
    Collection,
    Product,
    ProductCategory,
    ProductCollection,
    TaxBand,
    product_table_with_category_ids,
)
from models.inventory import StockTransaction

MAX_BULK_INPUTS = 500
REFERENCES: tuple[tuple[str, Any, str, bool], ...] = (
    # input key, model, GraphQL name, is a list
    ("tax_band_id", TaxBand, "taxBandId", False),
    ("brand_id", Brand, "brandId", False),
    ("category_ids", Category, "categoryIds", True),
    ("collection_ids", Collection, "collectionIds", True),
)


@dataclass
class Lookups:
    """What the batch's checks need from the database, fetched once for every input."""

    existing: dict[Any, set[uuid.UUID]] = field(default_factory=dict)
    taken: dict[str, set[str]] = field(default_factory=dict)
    definitions: Mapping[str, Any] = field(default_factory=dict)
    slug_bases: dict[str, str] = field(default_factory=dict)  # name -> slugify(name)


def _ids(inputs: Sequence[Mapping[str, Any]], key: str, many: bool) -> set[uuid.UUID]:
    if many:
        return {pk for data in inputs for pk in data.get(key) or []}
    return {data[key] for data in inputs if data.get(key) is not None}


async def _slugs_taken(session: AsyncSession, needed: Counter[str]) -> set[str]:
    """Existing slugs equal to one of the bases, and for bases that are taken, the numbered
    ones the batch may need (`needed`: how many slugs each base makes): see taken_slugs."""
    wanted = sorted(b for b in needed if b)
    if not wanted:
        return set()
    taken = set((await session.scalars(select(Product.slug).where(Product.slug.in_(wanted)))).all())
    clashing = {b: slug_candidates(b, needed[b])[1:] for b in sorted(taken)}
    return taken | await taken_slugs(session, Product, clashing)


async def _lookups(
    session: AsyncSession, inputs: Sequence[Mapping[str, Any]], columns: list[dict[str, Any]]
) -> Lookups:
    found = Lookups()
    for key, model, _name, many in REFERENCES:
        wanted = _ids(inputs, key, many)
        if wanted:
            rows = await session.scalars(select(model.id).where(model.id.in_(wanted)))
            found.existing[model] = set(rows.all())
    for key in ("sku", "slug"):
        values = {c[key] for c in columns if c.get(key)}
        if values:
            column = getattr(Product, key)
            found.taken[key] = set(
                (await session.scalars(select(column).where(column.in_(values)))).all()
            )
    found.slug_bases = {
        c["name"]: slugify(c["name"])
        for d, c in zip(inputs, columns, strict=True)
        if "slug" not in d and c.get("name")
    }
    needed = Counter(
        found.slug_bases[c["name"]]
        for d, c in zip(inputs, columns, strict=True)
        if "slug" not in d and c.get("name")
    )
    found.taken["slug"] = found.taken.get("slug", set()) | await _slugs_taken(session, needed)
    found.definitions = await definitions_of(session, "PRODUCT")
    return found


def _check_references(
    errors: list[DomainError], data: Mapping[str, Any], found: Lookups, changes: ProductChanges
) -> None:
    """NOT_FOUND for each id that names no row (as productCreate reports them)."""
    for key, model, name, many in REFERENCES:
        if many:
            pks = data.get(key)
            if key in data:
                unique = list(dict.fromkeys(pks or []))
                setattr(changes, key, unique)
            for i, pk in enumerate(pks or []):
                if pk not in found.existing.get(model, set()):
                    message = f"no {model.__name__} with that id"
                    errors.append(
                        DomainError(ErrorCode.NOT_FOUND, message, ["input", name, str(i)])
                    )
            continue
        if data.get(key) is not None and data[key] not in found.existing.get(model, set()):
            message = f"no {model.__name__} with that id"
            errors.append(DomainError(ErrorCode.NOT_FOUND, message, ["input", name]))
        if key in data:
            changes.columns[key] = data[key]


def _check_stock(
    errors: list[DomainError], data: Mapping[str, Any], changes: ProductChanges
) -> None:
    if data.get("stock") is None:
        return
    stock = data["stock"]
    if stock < 0:
        errors.append(DomainError(ErrorCode.INVALID, "stock must be 0 or more", ["input", "stock"]))
    if not changes.columns.get("manage_stock", False):
        message = "stock is only kept for products with manageStock: true"
        errors.append(DomainError(ErrorCode.INVALID, message, ["input", "stock"]))
    changes.stock = stock


def _check_unique(
    errors: list[DomainError], data: Mapping[str, Any], found: Lookups, columns: dict[str, Any]
) -> None:
    """DUPLICATE for a SKU or slug that exists or an earlier input of the batch uses; a slug
    made from the name takes the next free number instead."""
    if "slug" not in data and columns.get("name"):
        base = found.slug_bases[columns["name"]]
        if not base:
            message = "give a slug: none can be made from this name"
            errors.append(DomainError(ErrorCode.REQUIRED, message, ["input", "slug"]))
        columns["slug"] = first_free_slug(base, found.taken["slug"]) if base else base
    for key in ("sku", "slug"):
        value = columns.get(key)
        if not value:
            continue
        taken = found.taken.setdefault(key, set())
        if value in taken:
            message = f"{key} {value!r} is already taken"
            errors.append(DomainError(ErrorCode.DUPLICATE, message, ["input", key]))
        taken.add(value)


def _clean(data: Mapping[str, Any], found: Lookups, columns: dict[str, Any]) -> ProductChanges:
    """One input's checks, as catalog._clean_product makes them (every problem at once)."""
    errors: list[DomainError] = []
    changes = ProductChanges(columns)
    _check_references(errors, data, found, changes)
    _check_stock(errors, data, changes)
    try:
        columns["custom_fields"] = check_custom_fields(found.definitions, data.get("custom_fields"))
    except DomainError as error:
        errors.append(error)
    except DomainErrors as many:
        errors.extend(many.errors)
    _check_unique(errors, data, found, columns)
    raise_all(errors)
    return changes


def _indexed(index: int, error: DomainError) -> DomainError:
    """The error with its path under `["inputs", "<index>"]` instead of `["input"]`."""
    path = (error.field or ["input"])[1:]
    return DomainError(error.code, error.message, ["inputs", str(index), *path])


async def _clean_all(
    session: AsyncSession, inputs: Sequence[Mapping[str, Any]]
) -> list[ProductChanges]:
    errors: list[DomainError] = []
    per_input: list[list[DomainError]] = [[] for _ in inputs]
    columns = [
        _clean_product_columns(own_errors, data, None)
        for own_errors, data in zip(per_input, inputs, strict=True)
    ]
    found = await _lookups(session, inputs, columns)
    cleaned: list[ProductChanges] = []
    for index, (data, own) in enumerate(zip(inputs, columns, strict=True)):
        try:
            cleaned.append(_clean(data, found, own))
        except DomainError as error:
            per_input[index].append(error)
        except DomainErrors as many:
            per_input[index].extend(many.errors)
        errors += [_indexed(index, e) for e in per_input[index]]
    raise_all(errors)
    return cleaned


def _static_defaults(model: Any) -> dict[str, Any]:
    """The model's plain column defaults (fields with a default factory are set per row)."""
    return {
        name: info.default
        for name, info in model.model_fields.items()
        if info.default_factory is None and not info.is_required()
    }


def _product_rows(cleaned: list[ProductChanges]) -> list[dict[str, Any]]:
    """Complete product rows for a Core INSERT: building ORM objects costs about 1 ms each
    (SQLModel inspects every default factory's signature per instance)."""
    defaults = _static_defaults(Product)
    now = utcnow()
    rows = []
    for changes in cleaned:
        row = {**defaults, "images": [], "custom_fields": {}, **changes.columns}
        row.update(id=new_id(), created_at=now, updated_at=now, stock_total=changes.stock or 0)
        row["sort_name"] = (row["name"] or "").casefold()  # as models.catalog._keep_sort_name
        rows.append(row)
    return rows


async def _insert(session: AsyncSession, cleaned: list[ProductChanges]) -> list[Product]:
    """Multi-row INSERTs: products, their links, their initial stock in the ledger (one
    INCREMENT each, as productCreate records it); then the new rows, in input order. The
    INSERTs are of the tables (Core), not the ORM classes: the ORM's bulk path would sort
    and check every row's attributes again (about 30 us a product)."""
    rows = _product_rows(cleaned)
    table: Any = Product.__table__
    inserted = rows
    statement = insert(table)
    if session.get_bind().dialect.name == "postgresql":  # with their category ids set
        table = product_table_with_category_ids()
        inserted = [
            {**row, "category_ids": sorted(set(changes.category_ids or []))}
            for row, changes in zip(rows, cleaned, strict=True)
        ]
        # RETURNING: SQLAlchemy then sends the rows as one multi-row INSERT (insertmanyvalues),
        # not one asyncpg execution per row, so statement triggers fire once per batch
        # (search_word, migration b8c9d0e1f2a3: per row about 70 ms per 500 products at 1M)
        statement = insert(table).returning(table.c.id)
    try:
        await session.execute(statement, inserted)
    except IntegrityError as exc:  # a racing writer took a SKU or slug since the lookups
        raise DomainError(ErrorCode.DUPLICATE, "sku or slug is already taken", ["inputs"]) from exc
    links = (
        (ProductCategory, "category_id", "category_ids"),
        (ProductCollection, "collection_id", "collection_ids"),
    )
    for table, column, key in links:
        pairs = [
            {"product_id": row["id"], column: pk}
            for row, changes in zip(rows, cleaned, strict=True)
            for pk in getattr(changes, key) or []
        ]
        if pairs:
            await insert_links(session, table.__table__, column, pairs)
    ledger = [
        {
            "id": new_id(),
            "product_id": row["id"],
            "action": StockAction.INCREMENT.value,
            "quantity": row["stock_total"],
            "order_id": None,
            "created_at": row["created_at"],
        }
        for row in rows
        if row["stock_total"]
    ]
    if ledger:
        await session.execute(insert(StockTransaction.__table__), ledger)
    ids = [row["id"] for row in rows]
    found = {p.id: p for p in await session.scalars(select(Product).where(Product.id.in_(ids)))}
    products = [found[pk] for pk in ids]
    # each product's events as productCreate writes them
    written = [event for row in rows for event in events.new_product_events(row)]
    await events.emit_new(session, events.PRODUCT, written)
    return products


async def create_products(
    session: AsyncSession, inputs: Sequence[Mapping[str, Any]]
) -> list[Product]:
    """Create every product of `inputs`, or none: every problem of every input is raised at
    once, each under its input's index."""
    if len(inputs) > MAX_BULK_INPUTS:
        message = f"at most {MAX_BULK_INPUTS} products at once (got {len(inputs)})"
        raise DomainError(ErrorCode.INVALID, message, ["inputs"])
    if not inputs:
        return []
    return await _insert(session, await _clean_all(session, inputs))
