"""Column types and helpers shared by every table."""

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import DateTime, String, TypeDecorator, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")


def new_id() -> uuid.UUID:
    """Random (version 4) ids: never sequential, never guessable."""
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # (asyncpg's timestamptz are)
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """On SQLite (text), each stored string is made into a datetime once per process:
        parsing and the time zone are about 2 microseconds, and a listing page reads some 120
        timestamps, mostly the same from one request to the next. Datetimes are immutable."""
        process = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or process is None:
            return process
        return kept_by_text(_datetimes, process)


_datetimes: dict[str, datetime] = {}
MAX_KEPT_BY_TEXT = 20_000
"""Stored strings kept with their value, per kind (a few MB; started over when full)."""
Kept = TypeVar("Kept")


def kept_by_text(
    kept: dict[str, Kept], make: Callable[[str], Kept]
) -> Callable[[str | None], Kept | None]:
    """A result processor that makes each distinct stored string into its value once per
    process, sharing `kept` (the value must be immutable: every row that read the same string
    gets the same object). For SQLite's text ids and timestamps (see their types)."""

    def process(value: str | None) -> Kept | None:
        if value is None:
            return None
        found = kept.get(value)
        if found is None:
            if len(kept) >= MAX_KEPT_BY_TEXT:
                kept.clear()
            found = kept[value] = make(value)
        return found

    return process


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimals (tax rates, exchange rates) stored as text: SQLite has no exact numeric."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


async def rows_by_ids(
    session: AsyncSession, model: type[Row], ids: Sequence[uuid.UUID]
) -> list[Row | None]:
    """Rows of `model` in the order of `ids` (None where there is none), in one query."""
    id_column: Any = model.id  # type: ignore[attr-defined]
    rows = (await session.scalars(select(model).where(id_column.in_(ids)))).all()
    by_id = {row.id: row for row in rows}  # type: ignore[attr-defined]
    return [by_id.get(pk) for pk in ids]
