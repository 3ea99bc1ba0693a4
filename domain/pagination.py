"""Keyset (cursor) pagination in SQL: pages never skip or repeat rows while they are walked.

A cursor names the sort-key values of a row, with the primary key as the last tiebreaker, and a
page is "the next `first` rows after those values" in the sort order: one indexed range scan,
whatever the depth of the page.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

T = TypeVar("T")
PageRows = Callable[[Subquery, bool], Select[Any]]
"""Reads a page's rows from its bounded, ordered, limited statement (as a subquery), in the
same order (the bool: descending); see `paginate`."""
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class PaginationError(ValueError):
    """Bad pagination arguments (a page too large, a malformed cursor)."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        for name in ("first", "last"):
            size = getattr(self, name)
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise PaginationError(f"{name} must be between 0 and {MAX_PAGE_SIZE}")
        if self.first is not None and self.last is not None:
            raise PaginationError("give first or last, not both")

    @property
    def backwards(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        if self.last is not None:
            return self.last
        return self.first if self.first is not None else DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort column and how to read its value from a result row."""

    column: ColumnElement[Any]
    value: Callable[[Any], Any]


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    filtered: "Select[Any] | Callable[[], Select[Any]]"
    """Every row matching the filters, unordered and unbounded (for the count); or a
    function making that statement, called only when the count is asked."""
    total: int | None = None
    """The count, when the page's own statement gave it (count_statement is then not run)."""
    params: dict[str, Any] | None = None
    """The values of `filtered`'s named parameters, if it has any."""

    @property
    def count_statement(self) -> Select[Any]:
        """SELECT count(*) of every matching row: built and run only when totalCount is asked."""
        filtered = self.filtered
        return count_statement(filtered if isinstance(filtered, Select) else filtered())


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"uuid": value.hex}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "uuid" in value:
        return uuid.UUID(hex=value["uuid"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list) or len(values) != width:
            raise ValueError
        return [_decode_value(v) for v in values]
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise PaginationError(f"malformed cursor {cursor!r}") from exc


def _bound(keys: Sequence[SortKey], cursor: str, greater: bool) -> ColumnElement[bool]:
    values = decode_cursor(cursor, len(keys))
    row = tuple_(*(k.column for k in keys))
    bound = tuple_(*(literal(v, type_=k.column.type) for k, v in zip(keys, values, strict=True)))
    return row > bound if greater else row < bound


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    keys: Sequence[SortKey],
    descending: bool,
    request: PageRequest,
    scalars: bool = True,
    page_rows: PageRows | None = None,
    params: dict[str, Any] | None = None,
) -> Page[Any]:
    """One page of `stmt`, ordered by `keys` (the last must be unique, e.g. the primary key).
    With `page_rows`, `stmt` selects narrow rows (the keys) that `page_rows` turns into the
    page's rows in the same statement: wide rows are then read for the page only, not for
    every row sorted (`keys` then read the values from `page_rows`' rows). `params`: values
    of `stmt`'s named parameters."""
    unbounded = stmt
    if request.after:
        stmt = stmt.where(_bound(keys, request.after, greater=not descending))
    if request.before:
        stmt = stmt.where(_bound(keys, request.before, greater=descending))
    reverse = descending != request.backwards
    order = [k.column.desc() if reverse else k.column.asc() for k in keys]
    size = request.size
    limited = stmt.order_by(*order).limit(size + 1)
    if page_rows is not None:
        limited = page_rows(limited.subquery("page"), reverse)
    result = await session.execute(limited, params)
    rows = list(result.scalars() if scalars else result)
    has_more = len(rows) > size
    rows = rows[:size]
    if request.backwards:
        rows.reverse()
    cursors = [encode_cursor([k.value(r) for k in keys]) for r in rows]
    return Page(
        items=rows,
        cursors=cursors,
        has_next_page=has_more if not request.backwards else bool(request.before),
        has_previous_page=has_more if request.backwards else bool(request.after),
        filtered=unbounded,
    )


def count_statement(stmt: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(stmt.order_by(None).subquery())
