"""Currencies: the store currency, the ones prices can show in and their formats (API.md
section 4)."""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, ErrorCode, raise_all
from domain.pricing import CurrencySpec, default_spec
from domain.validation import (
    apply_changes,
    delete_unreferenced,
    flush_unique,
    get_or_404,
    is_referenced,
    parse_decimal,
    require_text,
)
from models.catalog import (
    Currency,
)

CURRENCY_CODE = re.compile(r"^[A-Z]{3}\Z")
MAX_EXCHANGE_RATE = Decimal(1_000_000)
"""Units of a currency per store-currency unit, at most (the weakest currencies trade at
tens of thousands to the dollar)."""


@dataclass(frozen=True, slots=True)
class CurrencyTable:
    """The store currency, every enabled currency and every currency (disabled ones too:
    an order keeps its currency), by code."""

    store: CurrencySpec
    enabled: Mapping[str, CurrencySpec]
    every: Mapping[str, CurrencySpec]


def currency_spec(row: Currency) -> CurrencySpec:
    return CurrencySpec(
        code=row.code,
        exchange_rate=row.exchange_rate,
        format=row.format,
        decimal_places=row.decimal_places,
        decimal_point=row.decimal_point,
        thousand_separator=row.thousand_separator,
    )


async def load_currency_table(session: AsyncSession) -> CurrencyTable:
    rows = (await session.scalars(select(Currency))).all()
    store = next((r for r in rows if r.is_default), None)
    if store is None:
        raise RuntimeError("the store has no default currency; start the server to create one")
    every = {r.code: currency_spec(r) for r in rows}
    enabled = {r.code: every[r.code] for r in rows if r.enabled or r.is_default}
    return CurrencyTable(store=currency_spec(store), enabled=enabled, every=every)


async def ensure_store_currency(session: AsyncSession, code: str) -> None:
    """A new database gets its default currency from STOCKROOM_CURRENCY."""
    if await session.scalar(select(Currency.id).limit(1)) is not None:
        return
    code = code.upper()
    name, fmt, places = default_spec(code)
    session.add(
        Currency(
            code=code,
            name=name,
            exchange_rate=Decimal(1),
            format=fmt,
            decimal_places=places,
            is_default=True,
        )
    )


def _validate_currency(data: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    errors: list[DomainError] = []
    clean: dict[str, Any] = {}

    def given(name: str) -> bool:
        return not partial or name in data

    if given("code"):
        code = (data.get("code") or "").strip().upper()
        if not CURRENCY_CODE.match(code):
            errors.append(
                DomainError(
                    ErrorCode.INVALID, "code must be 3 letters (ISO 4217)", ["input", "code"]
                )
            )
        clean["code"] = code
    if given("name"):
        require_text(errors, data.get("name"), ["input", "name"], 100)
        clean["name"] = (data.get("name") or "").strip()
    if given("exchange_rate"):
        rate = parse_decimal(
            errors,
            data.get("exchange_rate"),
            ["input", "exchangeRate"],
            Decimal(0),
            MAX_EXCHANGE_RATE,
        )
        if rate is not None and rate == 0:
            errors.append(
                DomainError(
                    ErrorCode.INVALID, "exchangeRate must be above 0", ["input", "exchangeRate"]
                )
            )
        clean["exchange_rate"] = rate
    if given("format"):
        fmt = data.get("format") or ""
        if "{price}" not in fmt or len(fmt) > 40:
            errors.append(
                DomainError(ErrorCode.INVALID, "format must contain {price}", ["input", "format"])
            )
        clean["format"] = fmt
    if "decimal_places" in data and data["decimal_places"] is not None:
        places = data["decimal_places"]
        if not 0 <= places <= 4:
            errors.append(
                DomainError(
                    ErrorCode.INVALID, "decimalPlaces must be 0 to 4", ["input", "decimalPlaces"]
                )
            )
        clean["decimal_places"] = places
    for key in ("decimal_point", "thousand_separator", "enabled"):
        if key in data and data[key] is not None:
            clean[key] = data[key]
    raise_all(errors)
    return clean


async def create_currency(session: AsyncSession, data: Mapping[str, Any]) -> Currency:
    clean = _validate_currency(data, partial=False)
    currency = Currency(**clean)
    session.add(currency)
    await flush_unique(session, f"currency {clean['code']}", ["input", "code"])
    if data.get("default"):
        await _make_default(session, currency)
    return currency


async def update_currency(
    session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]
) -> Currency:
    currency = await get_or_404(session, Currency, pk, ["id"])
    clean = _validate_currency(data, partial=True)
    if currency.is_default and clean.get("enabled") is False:
        raise DomainError(
            ErrorCode.INVALID, "the store currency cannot be disabled", ["input", "enabled"]
        )
    if data.get("default") is False and currency.is_default:
        raise DomainError(
            ErrorCode.INVALID,
            "make another currency the default instead of unsetting this one",
            ["input", "default"],
        )
    if clean.get("code", currency.code) != currency.code and await is_referenced(session, currency):
        raise DomainError(
            ErrorCode.IN_USE,
            "orders are in this currency: its code cannot change",
            ["input", "code"],
        )
    apply_changes(currency, clean)
    await flush_unique(session, f"currency {currency.code}", ["input", "code"])
    if data.get("default") and not currency.is_default:
        await _make_default(session, currency)
    if currency.is_default and currency.exchange_rate != 1:
        raise DomainError(
            ErrorCode.INVALID, "the store currency's exchangeRate is 1", ["input", "exchangeRate"]
        )
    return currency


async def _make_default(session: AsyncSession, currency: Currency) -> None:
    """Switch the store currency. Rates are relative to it, so the new default's rate becomes 1."""
    if currency.exchange_rate != 1:
        raise DomainError(
            ErrorCode.INVALID,
            "the store currency's exchangeRate must be 1; set the others relative to it",
            ["input", "exchangeRate"],
        )
    if not currency.enabled:
        raise DomainError(ErrorCode.INVALID, "a disabled currency cannot be the default", ["input"])
    for other in (await session.scalars(select(Currency).where(Currency.is_default))).all():
        other.is_default = False
    await session.flush()
    currency.is_default = True
    await session.flush()


async def delete_currency(session: AsyncSession, pk: uuid.UUID) -> Currency:
    """Delete a currency: never the store currency, nor one orders are in (IN_USE)."""
    currency = await get_or_404(session, Currency, pk, ["id"])
    if currency.is_default:
        raise DomainError(ErrorCode.IN_USE, "the store currency cannot be deleted", ["id"])
    await delete_unreferenced(session, currency, "the currency")
    return currency
