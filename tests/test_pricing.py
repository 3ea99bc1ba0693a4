"""Money arithmetic: half-up rounding per line, conversion, zero-decimal currencies, formats."""

from decimal import Decimal

import pytest

from domain.pricing import CurrencySpec, breakdown, convert, format_amount, tax_on

USD = CurrencySpec("USD", Decimal(1), "${price}", 2)
EUR = CurrencySpec("EUR", Decimal("0.9"), "€{price}", 2, ",", ".")
JPY = CurrencySpec("JPY", Decimal("151.37"), "¥{price}", 0)
KWD = CurrencySpec("KWD", Decimal("0.307"), "KD {price}", 3)


@pytest.mark.parametrize(
    ("amount", "rate", "tax"),
    [
        (1999, Decimal(20), 400),  # 399.8 -> 400
        (1000, Decimal("17.5"), 175),
        (1, Decimal(50), 1),  # 0.5 rounds half up
        (3, Decimal(50), 2),  # 1.5 -> 2 (not banker's 2... and 2.5 below)
        (5, Decimal(50), 3),  # 2.5 -> 3, banker's rounding would give 2
        (0, Decimal(20), 0),
        (999, Decimal(0), 0),
        (-5, Decimal(50), -3),  # a discount's tax mirrors a charge's
        (333, Decimal("8.875"), 30),  # 29.55375 -> 30
    ],
)
def test_tax_is_rounded_half_up_per_line(amount: int, rate: Decimal, tax: int) -> None:
    assert tax_on(amount, rate) == tax


def test_conversion_through_exchange_rates() -> None:
    assert convert(1999, USD, USD) == 1999
    assert convert(1000, USD, EUR) == 900
    assert convert(1999, USD, JPY) == 3026  # 19.99 * 151.37 = 3025.8863 -> 3026
    assert convert(3026, JPY, USD) == 1999  # 3026 / 151.37 = 19.9907 -> 19.99
    assert convert(1, USD, KWD) == 3  # 0.01 * 0.307 = 0.00307 KWD -> 3 fils
    assert convert(5, USD, EUR) == 5  # 4.5 -> 5, half up


def test_breakdown_converts_first_then_taxes_the_converted_line() -> None:
    price = breakdown(1999, Decimal(20), USD, JPY)
    assert price.without_tax.amount == 3026
    assert price.tax.amount == 605  # 605.2
    assert price.with_tax.amount == 3631
    assert price.with_tax.currency.code == "JPY"
    untaxed = breakdown(1999, None, USD, USD)
    assert (untaxed.tax.amount, untaxed.with_tax.amount) == (0, 1999)


@pytest.mark.parametrize(
    ("amount", "spec", "text"),
    [
        (1999, USD, "$19.99"),
        (5, USD, "$0.05"),
        (0, USD, "$0.00"),
        (123456789, USD, "$1,234,567.89"),
        (-1999, USD, "-$19.99"),
        (123456789, EUR, "€1.234.567,89"),
        (1234567, JPY, "¥1,234,567"),
        (7, JPY, "¥7"),
        (1234, KWD, "KD 1.234"),
        (100000, CurrencySpec("SEK", format="{price} kr", thousand_separator=" "), "1 000.00 kr"),
    ],
)
def test_formats(amount: int, spec: CurrencySpec, text: str) -> None:
    assert format_amount(amount, spec) == text
