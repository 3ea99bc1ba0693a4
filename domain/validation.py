"""Validation helpers every area's rules share: required text, decimals in range, a row by id
(NOT_FOUND otherwise), applying changes, unique constraints as DUPLICATE errors, and deleting
a row that others may still reference (IN_USE)."""

import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, ErrorCode
from models import metadata
from models.base import utcnow


def require_text(
    errors: list[DomainError], value: str | None, field: list[str], max_len: int = 200
) -> None:
    if value is None or not value.strip():
        errors.append(DomainError(ErrorCode.REQUIRED, f"{field[-1]} is required", field))
    elif len(value) > max_len:
        errors.append(
            DomainError(
                ErrorCode.INVALID, f"{field[-1]} is longer than {max_len} characters", field
            )
        )


def parse_decimal(
    errors: list[DomainError],
    value: Any,
    field: list[str],
    low: Decimal,
    high: Decimal,
    places: int = 6,
) -> Decimal | None:
    """A decimal within [low, high] with at most `places` decimal places (a checked range:
    e.g. an exchange rate of 1e30 would take every converted price past any integer)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = None
    if (
        number is None
        or not number.is_finite()
        or not low <= number <= high
        or -number.normalize().as_tuple().exponent > places  # type: ignore[operator]
    ):
        rule = f"a number between {low} and {high} with at most {places} decimal places"
        errors.append(DomainError(ErrorCode.INVALID, f"{field[-1]} must be {rule}", field))
        return None
    return number


async def get_or_404(session: AsyncSession, model: type, pk: uuid.UUID, field: list[str]) -> Any:
    row = await session.get(model, pk)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no {model.__name__} with that id", field)
    return row


def apply_changes(row: Any, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()


async def flush_unique(session: AsyncSession, what: str, field: list[str]) -> None:
    """Flush, turning a unique-constraint violation into a DUPLICATE error."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise DomainError(ErrorCode.DUPLICATE, f"{what} is already taken", field) from exc


RESTRICTING = {"RESTRICT", "NO ACTION"}


async def is_referenced(session: AsyncSession, row: Any) -> bool:
    """Whether another row names `row` through a foreign key that forbids deleting it (ON
    DELETE RESTRICT or NO ACTION). The references are the foreign keys declared in models/:
    no list to keep up to date, and the database enforces the same rule."""
    table = row.__table__
    for other in metadata.tables.values():
        for fk in other.foreign_keys:
            if (
                fk.column.table is not table
                or (fk.ondelete or "NO ACTION").upper() not in RESTRICTING
            ):
                continue
            value = getattr(row, fk.column.key)
            if (
                await session.scalar(select(fk.parent).where(fk.parent == value).limit(1))
                is not None
            ):
                return True
    return False


async def delete_unreferenced(session: AsyncSession, row: Any, what: str) -> None:
    """Delete `row`, or IN_USE while other rows reference it. The check gives the clear error;
    the foreign key catches a reference made meanwhile by a concurrent transaction."""
    in_use = DomainError(ErrorCode.IN_USE, f"{what} is used and cannot be deleted", ["id"])
    if await is_referenced(session, row):
        raise in_use
    await session.delete(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise in_use from exc
