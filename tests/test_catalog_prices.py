"""Display prices: conversion by exchange rate, tax per tax band, half-up rounding to the minor
unit, formatting per currency, and the X-Currency header."""

from decimal import Decimal
from typing import Any

import pytest

from domain.catalog import effective_price, product_price
from domain.pricing import CurrencySpec
from models.catalog import Product
from tests.catalog_helpers import create_product, create_tax_band
from tests.conftest import Api

USD = CurrencySpec("USD", Decimal(1), "${price}", 2)
JPY = CurrencySpec("JPY", Decimal("150.5"), "¥{price}", 0)
EUR = CurrencySpec("EUR", Decimal("0.5"), "{price} €", 2, ",", ".")
KWD = CurrencySpec("KWD", Decimal("0.3075"), "KD {price}", 3)


@pytest.mark.parametrize(
    ("amount", "rate", "target", "without", "tax", "formatted"),
    [
        (1, "50", USD, 1, 1, "$0.02"),  # 0.5 rounds up, not to even
        (5, "10", USD, 5, 1, "$0.06"),
        (4, "12.5", USD, 4, 1, "$0.05"),  # 0.5 again: half-up, never banker's
        (999, "17.5", USD, 999, 175, "$11.74"),  # 174.825
        (1999, "0", USD, 1999, 0, "$19.99"),
        (1999, "10", JPY, 3008, 301, "¥3,309"),  # 19.99 * 150.5 = 3008.495 yen
        (100, "20", JPY, 151, 30, "¥181"),  # 150.5 -> 151; 30.2 -> 30
        (1005, "0", EUR, 503, 0, "5,03 €"),  # 502.5 cents -> 503
        (24691356, "0", EUR, 12345678, 0, "123.456,78 €"),
        (1999, "5", KWD, 6147, 307, "KD 6.454"),  # 6.146925 KD; 307.35 fils
    ],
)
def test_product_price_arithmetic(
    amount: int, rate: str, target: CurrencySpec, without: int, tax: int, formatted: str
) -> None:
    price = product_price(amount, Decimal(rate), USD, target)
    assert (price.without_tax.amount, price.tax.amount) == (without, tax)
    assert price.with_tax.amount == without + tax
    assert price.with_tax.formatted == formatted
    assert isinstance(price.with_tax.amount, int)


def test_no_tax_band_means_no_tax() -> None:
    price = product_price(1999, None, USD, USD)
    assert (price.tax.amount, price.with_tax.formatted) == (0, "$19.99")


def test_effective_price_is_the_sale_price_when_set() -> None:
    assert effective_price(Product(sku="a", slug="a", name="a", price=1000)) == 1000
    on_sale = Product(sku="b", slug="b", name="b", price=1000, sale_price=750)
    assert effective_price(on_sale) == 750
    free = Product(sku="c", slug="c", name="c", price=1000, sale_price=0)
    assert effective_price(free) == 0


CURRENCY_CREATE = """mutation($input: CurrencyInput!) {
  currencyCreate(input: $input) { currency { code } errors { code field } } }"""
PRICES = """query($sku: String!) { product(sku: $sku) {
  price { withTax { amount currency formatted } withoutTax { amount formatted } tax { amount } }
  salePrice { withTax { amount formatted } withoutTax { amount } tax { amount } }
} }"""


async def _currency(api: Api, **fields: Any) -> None:
    result = (await api.admin(CURRENCY_CREATE, {"input": fields}))["currencyCreate"]
    assert result["errors"] == []


async def test_prices_show_in_the_requested_currency(api: Api) -> None:
    band = await create_tax_band(api, "Reduced", "10")
    await create_product(api, "TEA", price=1999, salePrice=1000, taxBandId=band)
    await _currency(
        api, code="JPY", name="Yen", exchangeRate="150.5", format="¥{price}", decimalPlaces=0
    )
    await _currency(
        api,
        code="EUR",
        name="Euro",
        exchangeRate="0.5",
        format="{price} €",
        decimalPoint=",",
        thousandSeparator=".",
    )
    store = (await api.storefront(PRICES, {"sku": "TEA"}))["product"]
    assert store["price"]["withTax"] == {"amount": 2199, "currency": "USD", "formatted": "$21.99"}

    yen = (await api.storefront(PRICES, {"sku": "TEA"}, headers={"X-Currency": "jpy"}))["product"]
    assert yen["price"] == {
        "withTax": {"amount": 3309, "currency": "JPY", "formatted": "¥3,309"},
        "withoutTax": {"amount": 3008, "formatted": "¥3,008"},
        "tax": {"amount": 301},
    }
    assert yen["salePrice"] == {
        "withTax": {"amount": 1656, "formatted": "¥1,656"},  # 1505 + 150.5 -> 151
        "withoutTax": {"amount": 1505},
        "tax": {"amount": 151},
    }
    euro = await api.storefront(PRICES, {"sku": "TEA"}, headers={"X-Currency": "EUR"})
    assert euro["product"]["price"]["withTax"]["formatted"] == "11,00 €"  # 1000 (999.5) + 100


async def test_unknown_or_disabled_currency_is_refused(api: Api) -> None:
    await create_product(api, "TEA")
    await _currency(
        api, code="GBP", name="Pound", exchangeRate="0.8", format="£{price}", enabled=False
    )
    for code in ("XXX", "GBP"):
        body = await api.gql(PRICES, {"sku": "TEA"}, as_="storefront", headers={"X-Currency": code})
        assert body["errors"][0]["extensions"]["code"] == "INVALID"
        assert code in body["errors"][0]["message"]


async def test_a_currency_rate_change_shows_at_once(api: Api) -> None:
    await create_product(api, "TEA", price=1000)
    await _currency(api, code="EUR", name="Euro", exchangeRate="0.9", format="€{price}")
    currency = (await api.admin('{ currency(code: "EUR") { id } }'))["currency"]
    update = """mutation($id: ID!) { currencyUpdate(id: $id, input: {exchangeRate: "1.25"}) {
        errors { code } } }"""
    assert (await api.admin(update, {"id": currency["id"]}))["currencyUpdate"]["errors"] == []
    euro = await api.storefront(PRICES, {"sku": "TEA"}, headers={"X-Currency": "EUR"})
    assert euro["product"]["price"]["withTax"]["formatted"] == "€12.50"
