"""Property tests (hypothesis) of promotion money: the spread of a discount over lines always
adds up exactly and never takes a line below zero, and a cart's figures always reconcile
(total = subtotal - discount, per line and in all; tax half-up on each discounted line)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.carts import Line, price_lines
from domain.pricing import CurrencySpec, convert, tax_on
from domain.promotions import Candidate, PromotionKind, compute, spread
from models.promotions import Promotion

USD = CurrencySpec("USD")
CURRENCIES = [
    USD,
    CurrencySpec("EUR", Decimal("0.9137")),
    CurrencySpec("JPY", Decimal("151.3"), decimal_places=0),
]
NOW = datetime(2030, 1, 1, tzinfo=UTC)
RATES = [Decimal(0), Decimal(5), Decimal("17.5"), Decimal(20)]


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=30), st.data())
def test_spread_adds_up_and_stays_within_each_line(weights: list[int], data: st.DataObject) -> None:
    amount = data.draw(st.integers(0, sum(weights)))
    parts = spread(amount, weights)
    assert sum(parts) == amount
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))
    # proportional: each part is its exact share rounded down or up
    total = sum(weights)
    if total:
        assert all(
            abs(part * total - amount * w) < total for part, w in zip(parts, weights, strict=True)
        )


def test_spread_gives_the_extra_units_to_the_largest_remainders() -> None:
    assert spread(1000, [1998, 333]) == [857, 143]
    assert spread(2, [1, 1, 1]) == [1, 1, 0]
    assert spread(0, [5, 5]) == [0, 0] and spread(3, [0, 0]) == [0, 0]


lines_strategy = st.lists(
    st.tuples(st.integers(0, 10**7), st.integers(1, 1000), st.sampled_from(RATES)),
    min_size=1,
    max_size=12,
)
promotion_strategy = st.lists(
    st.one_of(
        st.tuples(st.just(PromotionKind.PERCENT_OFF), st.integers(1, 100)),
        st.tuples(st.just(PromotionKind.AMOUNT_OFF), st.integers(1, 10**9)),
        st.tuples(st.just(PromotionKind.FREE_SHIPPING), st.just(0)),
    ),
    max_size=4,
)


def _line(price: int, quantity: int, rate: Decimal) -> Line:
    return Line(uuid.uuid4(), None, "S", "N", quantity, price, rate, 0, False)


def _candidate(kind: PromotionKind, value: int, index: int) -> Candidate:
    row = Promotion(name=f"P{index}", kind=kind.value, value=value, created_at=NOW, id=uuid.uuid4())
    return Candidate(row, frozenset(), frozenset(), entered=False)


@given(lines_strategy, promotion_strategy, st.sampled_from(CURRENCIES))
def test_cart_figures_always_reconcile(
    specs: list[tuple[int, int, Decimal]],
    promotions: list[tuple[PromotionKind, int]],
    currency: CurrencySpec,
) -> None:
    lines = [_line(*spec) for spec in specs]
    priced = price_lines(lines, USD, currency)
    candidates = [_candidate(kind, value, i) for i, (kind, value) in enumerate(promotions)]
    result = compute(candidates, priced, [None] * len(lines), USD, NOW)

    subtotal, discount, total = priced.subtotal, result.discount, result.total
    assert total.without_tax.amount == subtotal.without_tax.amount - discount.without_tax.amount
    assert total.tax.amount == subtotal.tax.amount - discount.tax.amount
    assert total.with_tax.amount == subtotal.with_tax.amount - discount.with_tax.amount
    assert sum(a.amount.without_tax.amount for a in result.applied) == discount.without_tax.amount
    assert sum(a.amount.tax.amount for a in result.applied) == discount.tax.amount
    for applied in result.applied:
        assert sum(applied.parts) == applied.amount.without_tax.amount
        assert sum(applied.tax_parts) == applied.amount.tax.amount
    for index, line in enumerate(priced.lines):
        left = line.total.without_tax.amount - result.line_discounts[index]
        assert 0 <= left  # no line below zero
        left_tax = line.total.tax.amount - result.line_tax_cuts[index]
        assert left_tax == tax_on(left, line.line.tax_rate)  # half-up on the discounted line
    assert total.without_tax.amount >= 0
    # an amount off is at most its value (converted), a percentage at most its share
    for applied in result.applied:
        kind = PromotionKind(applied.row.kind)
        if kind is PromotionKind.AMOUNT_OFF:
            assert applied.amount.without_tax.amount <= convert(applied.row.value, USD, currency)
        if kind is PromotionKind.FREE_SHIPPING:
            assert applied.amount.without_tax.amount == 0
