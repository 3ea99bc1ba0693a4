"""Tax bands: the rates products and shipping methods are taxed at (API.md section 4)."""

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, ErrorCode, raise_all
from domain.validation import apply_changes, get_or_404, parse_decimal, require_text
from models.catalog import (
    Product,
    TaxBand,
)
from models.shipping import ShippingMethod


def _validate_tax_band(data: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    errors: list[DomainError] = []
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        require_text(errors, data.get("name"), ["input", "name"])
        clean["name"] = (data.get("name") or "").strip()
    if not partial or "rate" in data:
        clean["rate"] = parse_decimal(
            errors, data.get("rate"), ["input", "rate"], Decimal(0), Decimal(100)
        )
    raise_all(errors)
    return clean


async def create_tax_band(session: AsyncSession, data: Mapping[str, Any]) -> TaxBand:
    band = TaxBand(**_validate_tax_band(data, partial=False))
    session.add(band)
    await session.flush()
    return band


async def update_tax_band(session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]) -> TaxBand:
    band = await get_or_404(session, TaxBand, pk, ["id"])
    apply_changes(band, _validate_tax_band(data, partial=True))
    await session.flush()
    return band


async def delete_tax_band(session: AsyncSession, pk: uuid.UUID) -> TaxBand:
    band = await get_or_404(session, TaxBand, pk, ["id"])
    if await tax_band_in_use(session, pk):
        raise DomainError(ErrorCode.IN_USE, "the tax band is used and cannot be deleted", ["id"])
    await session.delete(band)
    try:
        await session.flush()
    except IntegrityError as exc:  # a row started using it meanwhile: the foreign key says no
        raise DomainError(
            ErrorCode.IN_USE, "the tax band is used and cannot be deleted", ["id"]
        ) from exc
    return band


async def tax_band_in_use(session: AsyncSession, pk: uuid.UUID) -> bool:
    """True when any row still names the tax band (each area adds its table to TAX_BAND_USERS)."""
    for column in TAX_BAND_USERS:
        if await session.scalar(select(column).where(column == pk).limit(1)) is not None:
            return True
    return False


TAX_BAND_USERS: list[Any] = [Product.tax_band_id, ShippingMethod.tax_band_id]
