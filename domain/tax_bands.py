"""Tax bands: the rates products and shipping methods are taxed at (API.md section 4)."""

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, raise_all
from domain.validation import (
    apply_changes,
    delete_unreferenced,
    get_or_404,
    parse_decimal,
    require_text,
)
from models.catalog import (
    TaxBand,
)


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
    """Delete a tax band no product, shipping method or custom cart line uses (IN_USE)."""
    band = await get_or_404(session, TaxBand, pk, ["id"])
    await delete_unreferenced(session, band, "the tax band")
    return band


async def load_tax_rates(session: AsyncSession) -> dict[uuid.UUID, Decimal]:
    """Every tax band's rate by id (a store has a handful: kept whole per process)."""
    rows = await session.execute(select(TaxBand.id, TaxBand.rate))
    return {band_id: rate for band_id, rate in rows}
