"""Integer money: rounding, tax, currency conversion and formatting.

Every amount is an integer count of the currency's minor unit (cents for USD, yen for JPY).
Decimals appear only as rates (tax percent, exchange rate) and every result is rounded
half-up to the minor unit exactly once per line.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CurrencySpec:
    """What pricing needs of a currency. `exchange_rate` is units per one store-currency unit."""

    code: str
    exchange_rate: Decimal = Decimal(1)
    format: str = "{price}"
    decimal_places: int = 2
    decimal_point: str = "."
    thousand_separator: str = ","


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: CurrencySpec

    def __add__(self, other: "Money") -> "Money":
        if other.currency.code != self.currency.code:
            raise ValueError("cannot add amounts in different currencies")
        return Money(self.amount + other.amount, self.currency)

    @property
    def formatted(self) -> str:
        return format_amount(self.amount, self.currency)


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    """A price without tax, its tax and the sum, all in one currency."""

    without_tax: Money
    tax: Money

    @property
    def with_tax(self) -> Money:
        return self.without_tax + self.tax


KNOWN_CURRENCIES: dict[str, tuple[str, str, int]] = {
    # code: (name, format, decimal places)
    "USD": ("US Dollar", "${price}", 2),
    "EUR": ("Euro", "€{price}", 2),
    "GBP": ("Pound Sterling", "£{price}", 2),
    "JPY": ("Japanese Yen", "¥{price}", 0),
    "CAD": ("Canadian Dollar", "CA${price}", 2),
    "AUD": ("Australian Dollar", "A${price}", 2),
    "CHF": ("Swiss Franc", "CHF {price}", 2),
    "SEK": ("Swedish Krona", "{price} kr", 2),
    "KWD": ("Kuwaiti Dinar", "KD {price}", 3),
}


def default_spec(code: str) -> tuple[str, str, int]:
    """Name, format and decimal places for a currency code we know, or a neutral default."""
    return KNOWN_CURRENCIES.get(code.upper(), (code.upper(), "{price} " + code.upper(), 2))


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_on(amount: int, rate_percent: Decimal) -> int:
    """Tax on one line: `rate_percent` percent of `amount`, rounded half-up to the minor unit.

    Half-up means away from zero at exactly .5, so a negative amount's tax mirrors a positive one.
    """
    return round_half_up(Decimal(amount) * rate_percent / HUNDRED)


def convert(amount: int, source: CurrencySpec, target: CurrencySpec) -> int:
    """Convert minor units between currencies through their rates against the store currency."""
    if source.code == target.code:
        return amount
    major = Decimal(amount).scaleb(-source.decimal_places)
    converted = major * target.exchange_rate / source.exchange_rate
    return round_half_up(converted.scaleb(target.decimal_places))


def breakdown(
    amount: int, tax_rate: Decimal | None, source: CurrencySpec, target: CurrencySpec
) -> PriceBreakdown:
    """A store-currency amount without tax, shown in `target` with its tax."""
    without = convert(amount, source, target)
    tax = tax_on(without, tax_rate) if tax_rate else 0
    return PriceBreakdown(Money(without, target), Money(tax, target))


def format_amount(amount: int, spec: CurrencySpec) -> str:
    """`1999` USD is `$19.99`; `-1999` is `-$19.99`; `1234567` JPY is `¥1,234,567`."""
    sign = "-" if amount < 0 else ""
    digits = str(abs(amount)).rjust(spec.decimal_places + 1, "0")
    places = spec.decimal_places
    whole, fraction = (digits[:-places], digits[-places:]) if places else (digits, "")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    number = spec.thousand_separator.join(groups)
    if places:
        number += spec.decimal_point + fraction
    return sign + spec.format.replace("{price}", number)
