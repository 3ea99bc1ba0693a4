"""Products from a CSV file (`python server.py import-products FILE.csv`), on top of
productBulkCreate's batches: every row is checked as productCreate checks it, problems are
reported by line number, and a file with any bad row imports nothing (one transaction).

Columns (a header row names them, in any order; unknown columns are an error). Empty cells are
"not given". Lists are separated by `|`.

| column | value |
|---|---|
| sku, name, price | required; price in minor units of the store currency, without tax |
| slug, description, status | optional; status LIVE or DRAFT (default DRAFT) |
| salePrice, weight, stock | optional integers (stock needs manageStock true) |
| requiresShipping, manageStock | true or false |
| taxBand | a tax band's name |
| brand | a brand's slug |
| categories, collections | slugs, `|`-separated |
| images | image URLs, `|`-separated |
| customFields | a JSON object, e.g. {"origin": "PT"} |
"""

import csv
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.bulk import MAX_BULK_INPUTS, create_products
from domain.errors import DomainError, DomainErrors
from models.catalog import Brand, Category, Collection, TaxBand

INTEGERS = {"price": "price", "salePrice": "sale_price", "weight": "weight", "stock": "stock"}
FLAGS = {"requiresShipping": "requires_shipping", "manageStock": "manage_stock"}
TEXTS = {"sku": "sku", "name": "name", "slug": "slug", "description": "description"}
# column -> (model, lookup column, input key, is a list)
REFERENCES: dict[str, tuple[Any, str, str, bool]] = {
    "taxBand": (TaxBand, "name", "tax_band_id", False),
    "brand": (Brand, "slug", "brand_id", False),
    "categories": (Category, "slug", "category_ids", True),
    "collections": (Collection, "slug", "collection_ids", True),
}
COLUMNS = {*INTEGERS, *FLAGS, *TEXTS, *REFERENCES, "status", "images", "customFields"}
REQUIRED_COLUMNS = ("sku", "name", "price")


@dataclass
class Row:
    line: int
    data: dict[str, Any] = field(default_factory=dict)
    references: dict[str, list[str]] = field(default_factory=dict)
    reported: set[str] = field(default_factory=set)
    """Columns with a problem reported already (unreadable, repeated): checks skip them."""


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _cell(row: Row, column: str, value: str, problems: list[str]) -> None:
    """One non-empty cell into the row's input data (or a problem)."""
    before = len(problems)
    _read_cell(row, column, value, problems)
    if len(problems) > before:
        row.reported.add(column)


def _read_cell(row: Row, column: str, value: str, problems: list[str]) -> None:
    if column in TEXTS:
        row.data[TEXTS[column]] = value
    elif column in INTEGERS:
        try:
            row.data[INTEGERS[column]] = int(value)
        except ValueError:
            problems.append(f"line {row.line}: {column}: {value!r} is not a whole number")
    elif column in FLAGS:
        if value.lower() not in {"true", "false"}:
            problems.append(f"line {row.line}: {column}: {value!r} is not true or false")
        else:
            row.data[FLAGS[column]] = value.lower() == "true"
    elif column == "status":
        if value.upper() not in {"LIVE", "DRAFT"}:
            problems.append(f"line {row.line}: status: {value!r} is not LIVE or DRAFT")
        else:
            row.data["status"] = value.upper()
    elif column == "images":
        row.data["images"] = [{"url": url} for url in _split(value)]
    elif column == "customFields":
        try:
            row.data["custom_fields"] = json.loads(value)
        except ValueError:
            problems.append(f"line {row.line}: customFields: not valid JSON")
    else:
        row.references[column] = _split(value) if REFERENCES[column][3] else [value]


def read_rows(lines: TextIO, problems: list[str]) -> list[Row]:
    """The file's rows as product inputs (references still by name or slug)."""
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems.append(
            f"line 1: the header must name each column once (unknown: {unknown or 'none'}, "
            f"missing: {missing or 'none'}); columns are {', '.join(sorted(COLUMNS))}"
        )
        return []
    rows = []
    line = reader.line_num + 1
    for cells in reader:
        row = Row(line)
        if len(cells) != len(header):
            problems.append(f"line {line}: {len(cells)} cells for {len(header)} columns")
        for column, value in zip(header, cells, strict=False):
            if value.strip():
                _cell(row, column, value.strip(), problems)
        if cells:
            rows.append(row)
        line = reader.line_num + 1
    return rows


async def _resolve(session: AsyncSession, rows: list[Row], problems: list[str]) -> None:
    """Names and slugs to ids: one query per kind of reference for the whole file."""
    for column, (model, key, target, many) in REFERENCES.items():
        wanted = {v for row in rows for v in row.references.get(column, [])}
        if not wanted:
            continue
        lookup = getattr(model, key)
        found = dict(
            (await session.execute(select(lookup, model.id).where(lookup.in_(wanted))))
            .tuples()
            .all()
        )
        for row in rows:
            values = row.references.get(column)
            if values is None:
                continue
            for value in values:
                if value not in found:
                    problems.append(f"line {row.line}: {column}: no {model.__name__} {value!r}")
            ids: list[uuid.UUID] = [found[v] for v in values if v in found]
            row.data[target] = ids if many else (ids[0] if ids else None)


def _describe(rows: list[Row], errors: list[DomainError]) -> list[tuple[int, str]]:
    """Errors of a batch (paths ["inputs", i, ...]) as (line, "line N: field: message"),
    leaving out those about a cell already reported."""
    found = []
    for error in errors:
        path = error.field or []
        row = rows[int(path[1])] if len(path) > 1 else rows[0]
        if len(path) > 2 and path[2] in row.reported:
            continue
        where = ".".join(path[2:]) or "row"
        found.append((row.line, f"line {row.line}: {where}: {error.message} ({error.code.value})"))
    return found


def _numbered(problems: list[str]) -> list[tuple[int, str]]:
    return [(int(p.split(":", 1)[0].removeprefix("line ")), p) for p in problems]


def _repeated_across_batches(rows: list[Row], problems: list[str]) -> None:
    """A SKU or slug given on an earlier line of another batch (a batch checks its own rows,
    but a bad earlier batch is never inserted, so the later one cannot see it)."""
    for key in ("sku", "slug"):
        first: dict[str, int] = {}
        for index, row in enumerate(rows):
            value = str(row.data.get(key) or "").strip()
            if not value:
                continue
            earlier = first.setdefault(value, index)
            if earlier // MAX_BULK_INPUTS != index // MAX_BULK_INPUTS:
                line = rows[earlier].line
                problems.append(f"line {row.line}: {key}: {value!r} is also on line {line}")
                row.reported.add(key)


def _batches(rows: list[Row]) -> Iterator[list[Row]]:
    for start in range(0, len(rows), MAX_BULK_INPUTS):
        yield rows[start : start + MAX_BULK_INPUTS]


async def import_rows(
    session: AsyncSession,
    rows: list[Row],
    problems: list[str],
    progress: Callable[[int], None],
) -> int:
    """Create the rows in batches of MAX_BULK_INPUTS in the caller's transaction; every batch
    is checked even after a bad one, so one run reports every bad row. Returns how many were
    created (the caller rolls back when `problems` is not empty). `problems` (those of
    read_rows on entry) ends sorted by line."""
    await _resolve(session, rows, problems)
    _repeated_across_batches(rows, problems)
    created = 0
    found: list[tuple[int, str]] = []
    for batch in _batches(rows):
        try:
            created += len(await create_products(session, [r.data for r in batch]))
        except DomainError as error:
            found += _describe(batch, [error])
        except DomainErrors as many:
            found += _describe(batch, many.errors)
        progress(len(batch))
    problems[:] = [m for _, m in sorted(_numbered(problems) + found, key=lambda f: f[0])]
    return created
