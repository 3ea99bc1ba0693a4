"""Validation helpers every area's rules share: required text, decimals in range, a row by id
(NOT_FOUND otherwise), applying changes, unique constraints as DUPLICATE errors."""

import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, ErrorCode
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
