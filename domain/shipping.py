"""Shipping methods: their rules (price, bounds, tax band) and which ones a cart may use.

A method is eligible for a cart when the cart's subtotal without tax (minor units of the store
currency) and its weight (grams) lie within the bounds the method sets, inclusive; an unset
bound does not limit. Only enabled methods are ever eligible.
"""

import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, ErrorCode, raise_all
from domain.validation import apply_changes, flush_unique, get_or_404, require_text
from models.catalog import TaxBand
from models.shipping import ShippingMethod

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*\Z")
BOUNDS = (("min_subtotal", "max_subtotal"), ("min_weight", "max_weight"))
CAMEL = {
    "min_subtotal": "minSubtotal",
    "max_subtotal": "maxSubtotal",
    "min_weight": "minWeight",
    "max_weight": "maxWeight",
    "tax_band_id": "taxBandId",
}
ORDER = (ShippingMethod.price, ShippingMethod.name, ShippingMethod.id)
"""Cheapest first; name and id make the order stable."""


# --- eligibility -----------------------------------------------------------------------


def is_eligible(method: ShippingMethod, subtotal: int, weight: int) -> bool:
    """True when the method is enabled and `subtotal` (store minor units, without tax) and
    `weight` (grams) lie within the bounds it sets, inclusive."""
    return (
        method.enabled
        and (method.min_subtotal is None or subtotal >= method.min_subtotal)
        and (method.max_subtotal is None or subtotal <= method.max_subtotal)
        and (method.min_weight is None or weight >= method.min_weight)
        and (method.max_weight is None or weight <= method.max_weight)
    )


def _within(value: int, low: Any, high: Any) -> ColumnElement[bool]:
    return and_(or_(low.is_(None), low <= value), or_(high.is_(None), high >= value))


async def eligible_methods(
    session: AsyncSession, subtotal: int, weight: int
) -> list[ShippingMethod]:
    """The enabled methods eligible for a cart, cheapest first (the same rule as
    `is_eligible`, evaluated in SQL)."""
    m = ShippingMethod
    stmt = (
        select(m)
        .where(
            m.enabled,  # type: ignore[arg-type]
            _within(subtotal, m.min_subtotal, m.max_subtotal),
            _within(weight, m.min_weight, m.max_weight),
        )
        .order_by(*ORDER)
    )
    return list((await session.scalars(stmt)).all())


# --- reads -----------------------------------------------------------------------------


async def list_methods(session: AsyncSession, include_disabled: bool) -> list[ShippingMethod]:
    stmt = select(ShippingMethod).order_by(*ORDER)
    if not include_disabled:
        stmt = stmt.where(ShippingMethod.enabled)  # type: ignore[arg-type]
    return list((await session.scalars(stmt)).all())


# --- writes ----------------------------------------------------------------------------


def _check_slug(errors: list[DomainError], value: Any) -> str:
    field = ["input", "slug"]
    slug = (value or "").strip()
    require_text(errors, slug, field, 200)
    if slug and len(slug) <= 200 and not SLUG.match(slug):
        errors.append(
            DomainError(
                ErrorCode.INVALID,
                "slug may hold lower-case letters, digits, - and _ (e.g. next-day)",
                field,
            )
        )
    return slug


def _check_amount(errors: list[DomainError], data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    field = ["input", CAMEL.get(name, name)]
    if value is not None and value < 0:
        errors.append(DomainError(ErrorCode.INVALID, f"{field[-1]} must not be negative", field))
    return value


def _check_texts(
    errors: list[DomainError], data: Mapping[str, Any], partial: bool
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        require_text(errors, data.get("name"), ["input", "name"])
        clean["name"] = (data.get("name") or "").strip()
    if not partial or "slug" in data:
        clean["slug"] = _check_slug(errors, data.get("slug"))
    for name, limit in (("carrier", 200), ("description", 5000)):
        if name in data:
            text = (data[name] or "").strip()
            if len(text) > limit:
                message = f"{name} is longer than {limit} characters"
                errors.append(DomainError(ErrorCode.INVALID, message, ["input", name]))
            clean[name] = text or None
    return clean


def _check_numbers(
    errors: list[DomainError], data: Mapping[str, Any], partial: bool
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if not partial or "price" in data:
        if data.get("price") is None:
            errors.append(DomainError(ErrorCode.REQUIRED, "price is required", ["input", "price"]))
        clean["price"] = _check_amount(errors, data, "price")
    for low, high in BOUNDS:
        for name in (low, high):
            if name in data:
                clean[name] = _check_amount(errors, data, name)
    if "enabled" in data:
        if data["enabled"] is None:
            errors.append(
                DomainError(
                    ErrorCode.INVALID, "enabled must be true or false", ["input", "enabled"]
                )
            )
        clean["enabled"] = data["enabled"]
    return clean


def _check_bounds(
    errors: list[DomainError], merged: Mapping[str, Any], given: Mapping[str, Any]
) -> None:
    """Each minimum at most its maximum, reported on the field the client sent."""
    for low, high in BOUNDS:
        lo, hi = merged.get(low), merged.get(high)
        if lo is not None and hi is not None and 0 <= hi < lo:
            name = high if high in given or low not in given else low
            field = ["input", CAMEL[name]]
            message = f"{CAMEL[low]} ({lo}) must not exceed {CAMEL[high]} ({hi})"
            errors.append(DomainError(ErrorCode.INVALID, message, field))


async def _check_tax_band(session: AsyncSession, data: Mapping[str, Any]) -> dict[str, Any]:
    if "tax_band_id" not in data:
        return {}
    pk = data["tax_band_id"]
    if pk is not None and await session.get(TaxBand, pk) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no tax band with that id", ["input", "taxBandId"])
    return {"tax_band_id": pk}


def _validate(data: Mapping[str, Any], current: ShippingMethod | None) -> dict[str, Any]:
    """The fields given, checked; `current` is the method being changed (None on create)."""
    partial = current is not None
    errors: list[DomainError] = []
    clean = {**_check_texts(errors, data, partial), **_check_numbers(errors, data, partial)}
    existing = {name: getattr(current, name) for pair in BOUNDS for name in pair} if current else {}
    _check_bounds(errors, {**existing, **clean}, data)
    raise_all(errors)
    return clean


async def create_method(session: AsyncSession, data: Mapping[str, Any]) -> ShippingMethod:
    """A new method; `data` is snake_case, `tax_band_id` already a uuid."""
    clean = _validate(data, None)
    clean.update(await _check_tax_band(session, data))
    method = ShippingMethod(**clean)
    session.add(method)
    await flush_unique(session, f"slug {clean['slug']!r}", ["input", "slug"])
    return method


async def update_method(
    session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]
) -> ShippingMethod:
    """Change the fields given; a field sent as null clears it (bounds, tax band, carrier)."""
    # the row lock (PostgreSQL) makes concurrent updates check bounds against each other's result
    method = await session.get(ShippingMethod, pk, with_for_update=True)
    if method is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no shipping method with that id", ["id"])
    clean = _validate(data, method)
    clean.update(await _check_tax_band(session, data))
    apply_changes(method, clean)
    await flush_unique(session, f"slug {method.slug!r}", ["input", "slug"])
    return method


async def delete_method(session: AsyncSession, pk: uuid.UUID) -> ShippingMethod:
    """Delete a method; IN_USE when a record still references it (disable it instead)."""
    method = await get_or_404(session, ShippingMethod, pk, ["id"])
    await session.delete(method)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise DomainError(
            ErrorCode.IN_USE, "the shipping method is in use; disable it instead", ["id"]
        ) from exc
    return method
