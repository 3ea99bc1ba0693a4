"""Promotions and discount codes (API.md section 10): admin CRUD, what a cart gets off, and
counting uses at checkout.

A cart's discounts are computed live, every time it is read, from the promotions that exist
now: the automatic ones (no code) and the ones whose code was entered on the cart. A promotion
applies when it is enabled, started, not ended, not used up, and the cart meets its minimum
subtotal and holds at least one eligible line. An entered code that does not apply (any more)
stays on the cart and the cart says why (`Discounts.refused`).

Money: each promotion's amount is computed in the display currency on the lines' amounts
without tax (what is left of them after earlier promotions: PERCENT_OFF first, then
AMOUNT_OFF, each oldest first), spread over its eligible lines in proportion to their amounts
with largest-remainder rounding (the parts add up exactly, no line goes below zero), and tax
is then taken on each discounted line, half-up per line.

Uses: checkout counts a use with `UPDATE promotion SET usage_count = usage_count + 1 WHERE
usage_count < usage_limit` in the order's transaction (the row stays locked until it ends),
then checks the buyer's own uses under that lock, so both limits hold on any number of
processes. An order cancelled before payment gives its uses back (`release_uses`).
"""

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Subquery,
    and_,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain import carts
from domain.errors import DomainError, ErrorCode, raise_all
from domain.pagination import Page, PageRequest, SortKey, paginate
from domain.pricing import (
    HUNDRED,
    CurrencySpec,
    Money,
    PriceBreakdown,
    convert,
    format_amount,
    round_half_up,
    tax_on,
)
from domain.text import like_pattern
from domain.validation import apply_changes, flush_unique, get_or_404, require_text
from models.base import utcnow
from models.catalog import Category, Product, ProductCategory
from models.promotions import (
    CartPromotionCode,
    OrderDiscount,
    Promotion,
    PromotionCategory,
    PromotionProduct,
    PromotionUse,
)


class PromotionKind(Enum):
    PERCENT_OFF = "PERCENT_OFF"
    AMOUNT_OFF = "AMOUNT_OFF"
    FREE_SHIPPING = "FREE_SHIPPING"


APPLY_ORDER = {
    PromotionKind.PERCENT_OFF: 0,
    PromotionKind.AMOUNT_OFF: 1,
    PromotionKind.FREE_SHIPPING: 2,
}
CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
MAX_AMOUNT = 1_000_000_000_000
"""Upper bound of amounts an admin may enter (minor units): far from integer overflow."""


def code_key(code: str) -> str:
    """How codes compare: case-insensitively, surrounding blanks ignored."""
    return code.strip().lower()


# --- money: spreading a discount over lines ---------------------------------------------


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split over `weights` in proportion, by largest remainder: the parts add up to
    `amount` exactly. With 0 <= amount <= sum(weights) (weights >= 0) every part lies between
    0 and its weight: a part only gets the extra unit when its exact share has a fraction."""
    base = sum(weights)
    if amount == 0 or base == 0:
        return [0] * len(weights)
    parts = [amount * w // base for w in weights]
    remainders = [amount * w % base for w in weights]
    left = amount - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


@dataclass(frozen=True, slots=True)
class Candidate:
    """A promotion with what judging a cart needs: the products it is narrowed to and its
    categories with all their sub-categories. `entered`: its code is on the cart."""

    row: Promotion
    product_ids: frozenset[uuid.UUID]
    category_ids: frozenset[uuid.UUID]
    entered: bool

    @property
    def narrowed(self) -> bool:
        return bool(self.product_ids or self.category_ids)

    @property
    def kind(self) -> PromotionKind:
        return PromotionKind(self.row.kind)


@dataclass(frozen=True, slots=True)
class LineFacts:
    """A catalogue line's product and its parent (a variant's), and their categories."""

    product_ids: frozenset[uuid.UUID]
    category_ids: frozenset[uuid.UUID]


def is_eligible(candidate: Candidate, facts: LineFacts | None) -> bool:
    """Every line, unless the promotion is narrowed: then lines of its products (or their
    variants) or of its categories (or their sub-categories); never a custom line then."""
    if not candidate.narrowed:
        return True
    if facts is None:
        return False
    return bool(
        facts.product_ids & candidate.product_ids or facts.category_ids & candidate.category_ids
    )


def label(row: Promotion) -> str:
    return f"code {row.code}" if row.code else f"promotion {row.name!r}"


def problem(
    row: Promotion, now: datetime, store_subtotal: int, eligible_lines: int, store: CurrencySpec
) -> DomainError | None:
    """Why the promotion does not apply to a cart now (None when it does)."""
    name = label(row)
    if not row.enabled:
        return DomainError(ErrorCode.PROMOTION_INVALID, f"{name} is disabled")
    if row.starts_at is not None and now < row.starts_at:
        message = f"{name} has not started yet (it starts {row.starts_at.isoformat()})"
        return DomainError(ErrorCode.PROMOTION_INVALID, message)
    if row.ends_at is not None and now >= row.ends_at:
        return DomainError(ErrorCode.PROMOTION_INVALID, f"{name} has expired")
    if row.usage_limit is not None and row.usage_count >= row.usage_limit:
        return DomainError(ErrorCode.PROMOTION_EXHAUSTED, f"{name} has been used up")
    if row.min_subtotal is not None and store_subtotal < row.min_subtotal:
        needed, has = format_amount(row.min_subtotal, store), format_amount(store_subtotal, store)
        message = f"{name} needs a subtotal of at least {needed} without tax (the cart has {has})"
        return DomainError(ErrorCode.PROMOTION_NOT_APPLICABLE, message)
    if eligible_lines == 0:
        return DomainError(
            ErrorCode.PROMOTION_NOT_APPLICABLE, f"{name} applies to no item in the cart"
        )
    return None


def buyer_exhausted(row: Promotion) -> DomainError:
    message = f"{label(row)} has been used as often as one buyer may ({row.per_customer_limit})"
    return DomainError(ErrorCode.PROMOTION_EXHAUSTED, message)


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """One promotion's share: `amount` in the display currency (without tax, and the tax it
    takes off), and its part of each line."""

    row: Promotion
    amount: PriceBreakdown
    parts: tuple[int, ...]
    tax_parts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Refused:
    """An entered code that does not apply now, and why."""

    row: Promotion
    error: DomainError


@dataclass(frozen=True, slots=True)
class Discounts:
    """What promotions take off a cart. total = subtotal - discount, with and without tax;
    per line, `line_discounts` (without tax) and `line_tax_cuts` (tax the line no longer
    carries)."""

    applied: list[AppliedDiscount]
    refused: list[Refused]
    line_discounts: list[int]
    line_tax_cuts: list[int]
    discount: PriceBreakdown
    total: PriceBreakdown

    @property
    def free_shipping(self) -> bool:
        return any(PromotionKind(a.row.kind) is PromotionKind.FREE_SHIPPING for a in self.applied)


def _amount(row: Promotion, base: int, store: CurrencySpec, target: CurrencySpec) -> int:
    """The promotion's amount off `base` (its eligible lines, display currency): never more."""
    kind = PromotionKind(row.kind)
    if kind is PromotionKind.PERCENT_OFF:
        return round_half_up(Decimal(base) * row.value / HUNDRED)
    if kind is PromotionKind.AMOUNT_OFF:
        return min(convert(row.value, store, target), base)
    return 0


def compute(
    candidates: Sequence[Candidate],
    priced: carts.PricedLines,
    facts: Sequence[LineFacts | None],
    store: CurrencySpec,
    now: datetime,
    buyer_exhausted_ids: Collection[uuid.UUID] = (),
) -> Discounts:
    """Apply every promotion that fits, in turn, to what earlier ones left of the lines."""
    target = priced.subtotal.without_tax.currency
    remaining = [p.total.without_tax.amount for p in priced.lines]
    rates = [p.line.tax_rate for p in priced.lines]
    taxes = [p.total.tax.amount for p in priced.lines]
    applied: list[AppliedDiscount] = []
    refused: list[Refused] = []
    ordered = sorted(candidates, key=lambda c: (APPLY_ORDER[c.kind], c.row.created_at, c.row.id))
    for candidate in ordered:
        flags = [is_eligible(candidate, f) for f in facts]
        row = candidate.row
        error = problem(row, now, priced.store_subtotal, sum(flags), store)
        if error is None and row.id in buyer_exhausted_ids:
            error = buyer_exhausted(row)
        if error is not None:
            if candidate.entered:
                refused.append(Refused(row, error))
            continue
        base = [amount if flag else 0 for amount, flag in zip(remaining, flags, strict=True)]
        parts = spread(_amount(row, sum(base), store, target), base)
        remaining = [r - p for r, p in zip(remaining, parts, strict=True)]
        after = [tax_on(r, rate) for r, rate in zip(remaining, rates, strict=True)]
        tax_parts = [t - a for t, a in zip(taxes, after, strict=True)]
        taxes = after
        amount = PriceBreakdown(Money(sum(parts), target), Money(sum(tax_parts), target))
        applied.append(AppliedDiscount(row, amount, tuple(parts), tuple(tax_parts)))
    line_discounts = [
        p.total.without_tax.amount - r for p, r in zip(priced.lines, remaining, strict=True)
    ]
    cuts = [p.total.tax.amount - t for p, t in zip(priced.lines, taxes, strict=True)]
    return Discounts(
        applied=applied,
        refused=refused,
        line_discounts=line_discounts,
        line_tax_cuts=cuts,
        discount=PriceBreakdown(Money(sum(line_discounts), target), Money(sum(cuts), target)),
        total=PriceBreakdown(Money(sum(remaining), target), Money(sum(taxes), target)),
    )


# --- reading what a cart may get ------------------------------------------------------


async def entered_ids(session: AsyncSession, cart_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The promotions whose codes were entered on the cart, in the order they were entered."""
    if cart_id is None:
        return []
    stmt = (
        select(CartPromotionCode.promotion_id)
        .where(CartPromotionCode.cart_id == cart_id)
        .order_by(CartPromotionCode.created_at, CartPromotionCode.promotion_id)
    )
    return list((await session.scalars(stmt)).all())


def _automatic() -> ColumnElement[bool]:
    """Promotions that apply by themselves: enabled, without a code."""
    return Promotion.code_key.is_(None) & Promotion.enabled  # type: ignore[union-attr,operator,return-value]


def _wanted_on_cart(cart_id: uuid.UUID | None) -> CTE:
    """The automatic promotions and those whose codes are on the cart (with when they were
    entered; NULL for the others)."""
    if cart_id is None:
        stmt = select(Promotion.id.label("id"), null().label("entered_at")).where(_automatic())  # type: ignore[attr-defined]
        return stmt.cte("wanted")
    on_cart = and_(
        CartPromotionCode.promotion_id == Promotion.id, CartPromotionCode.cart_id == cart_id
    )
    return (
        select(Promotion.id.label("id"), CartPromotionCode.created_at.label("entered_at"))  # type: ignore[attr-defined,union-attr]
        .outerjoin(CartPromotionCode, on_cart)
        .where(or_(_automatic(), CartPromotionCode.cart_id.is_not(None)))  # type: ignore[union-attr,attr-defined]
        .cte("wanted")
    )


def _wanted_by_ids(entered: Sequence[uuid.UUID], automatic: bool = True) -> CTE:
    """The automatic promotions (unless `automatic` is False) and the given ones."""
    given = Promotion.id.in_(entered)  # type: ignore[attr-defined]
    condition = (or_(_automatic(), given) if entered else _automatic()) if automatic else given
    return (
        select(Promotion.id.label("id"), null().label("entered_at")).where(condition).cte("wanted")
    )  # type: ignore[attr-defined]


def _links(wanted: CTE) -> Subquery:
    """Per wanted promotion: its products ('p') and its categories with every sub-category
    ('c', recursively down the tree)."""
    tree = (
        select(PromotionCategory.promotion_id, PromotionCategory.category_id)
        .join(wanted, wanted.c.id == PromotionCategory.promotion_id)
        .cte("promotion_tree", recursive=True)
    )
    child = aliased(Category)
    tree = tree.union(
        select(tree.c.promotion_id, child.id).where(child.parent_id == tree.c.category_id)
    )
    products = select(
        PromotionProduct.promotion_id.label("promotion_id"),  # type: ignore[attr-defined]
        literal_column("'p'").label("kind"),
        PromotionProduct.product_id.label("linked_id"),  # type: ignore[attr-defined]
    ).join(wanted, wanted.c.id == PromotionProduct.promotion_id)
    categories = select(tree.c.promotion_id, literal_column("'c'"), tree.c.category_id)
    return union_all(products, categories).subquery("links")


@dataclass(slots=True)
class _Loaded:
    """The wanted promotions, when their codes were entered, and their narrowing."""

    rows: dict[uuid.UUID, Promotion]
    entered_at: dict[uuid.UUID, datetime]
    links: dict[tuple[uuid.UUID, str], set[uuid.UUID]]

    def candidates(self, entered: Collection[uuid.UUID]) -> list[Candidate]:
        return [
            Candidate(
                row=row,
                product_ids=frozenset(self.links.get((pk, "p"), ())),
                category_ids=frozenset(self.links.get((pk, "c"), ())),
                entered=pk in entered and row.code is not None,
            )
            for pk, row in self.rows.items()
        ]

    def entered_order(self) -> list[uuid.UUID]:
        return sorted(self.entered_at, key=lambda pk: (self.entered_at[pk], pk))


async def _load(session: AsyncSession, wanted: CTE) -> _Loaded:
    """The wanted promotions with their narrowing, in ONE statement whatever their number:
    a row per (promotion, product or category) link, or one row for a promotion without."""
    links = _links(wanted)
    stmt = (
        select(Promotion, wanted.c.entered_at, links.c.kind, links.c.linked_id)
        .join(wanted, wanted.c.id == Promotion.id)
        .outerjoin(links, links.c.promotion_id == Promotion.id)
    )
    loaded = _Loaded({}, {}, {})
    for row, entered_at, kind, linked in (await session.execute(stmt)).all():
        loaded.rows[row.id] = row
        if entered_at is not None:
            loaded.entered_at[row.id] = entered_at
        if linked is not None:
            loaded.links.setdefault((row.id, kind), set()).add(linked)
    return loaded


async def load_candidates(
    session: AsyncSession,
    entered: Sequence[uuid.UUID],
    automatic: Sequence[Candidate] | None = None,
) -> list[Candidate]:
    """The enabled automatic promotions and the entered ones (in any state: the cart says
    why an entered code does not apply), with their products and expanded categories.
    `automatic`: the automatic ones as the process keeps them (`automatic_candidates`); only
    the entered ones are then read (nothing at all when none are)."""
    if automatic is None:
        return (await _load(session, _wanted_by_ids(entered))).candidates(set(entered))
    if not entered:
        return list(automatic)
    loaded = await _load(session, _wanted_by_ids(entered, automatic=False))
    return [*automatic, *loaded.candidates(set(entered))]


async def automatic_candidates(session: AsyncSession) -> list[Candidate]:
    """The enabled promotions without a code, which apply to every cart they fit: what a
    process keeps between requests, under the `promotion` version stamp (and the `catalog`
    one when any is narrowed to categories: their sub-categories are expanded)."""
    found = await load_candidates(session, [])
    for candidate in found:  # they outlive the session: detached, a rollback cannot expire them
        session.expunge(candidate.row)
    return found


async def cart_candidates(
    session: AsyncSession, cart_id: uuid.UUID | None
) -> tuple[list[Candidate], list[uuid.UUID]]:
    """A cart's candidate promotions and its entered codes (in the order entered), in one
    statement."""
    loaded = await _load(session, _wanted_on_cart(cart_id))
    return loaded.candidates(loaded.entered_at), loaded.entered_order()


async def line_facts(session: AsyncSession, lines: Sequence[carts.Line]) -> list[LineFacts | None]:
    """Each line's product, its parent and their categories (None for custom lines), in one
    statement."""
    ids = {line.product_id for line in lines if line.product_id is not None}
    if not ids:
        return [None] * len(lines)
    own_or_parent = or_(
        ProductCategory.product_id == Product.id, ProductCategory.product_id == Product.parent_id
    )
    rows = await session.execute(
        select(Product.id, Product.parent_id, ProductCategory.category_id)
        .outerjoin(ProductCategory, own_or_parent)
        .where(Product.id.in_(ids))  # type: ignore[attr-defined]
    )
    family: dict[uuid.UUID, set[uuid.UUID]] = {}
    categories: dict[uuid.UUID, set[uuid.UUID]] = {}
    for product_id, parent_id, category_id in rows.all():
        family.setdefault(product_id, {product_id}).update({parent_id} - {None})
        categories.setdefault(product_id, set()).update({category_id} - {None})
    return [
        None
        if line.product_id is None
        else LineFacts(
            frozenset(family.get(line.product_id, {line.product_id})),
            frozenset(categories.get(line.product_id, ())),
        )
        for line in lines
    ]


async def buyer_exhausted_ids(
    session: AsyncSession, candidates: Sequence[Candidate], buyer: str | None
) -> set[uuid.UUID]:
    """The promotions `buyer` has used as often as one buyer may."""
    limited = {c.row.id: c.row.per_customer_limit for c in candidates if c.row.per_customer_limit}
    if buyer is None or not limited:
        return set()
    rows = await session.execute(
        select(PromotionUse.promotion_id, func.count())
        .where(PromotionUse.buyer == buyer, PromotionUse.promotion_id.in_(limited))  # type: ignore[attr-defined]
        .group_by(PromotionUse.promotion_id)
    )
    return {pid for pid, used in rows.all() if used >= limited[pid]}


@dataclass(frozen=True, slots=True)
class CartPromotions:
    """The codes on a cart (as the promotions spell them now) and what the cart gets off."""

    codes: list[str]
    discounts: Discounts


async def discounts_for(
    session: AsyncSession,
    lines: Sequence[carts.Line],
    priced: carts.PricedLines,
    entered: Sequence[uuid.UUID],
    buyer: str | None,
    store: CurrencySpec,
    automatic: Sequence[Candidate] | None = None,
) -> CartPromotions:
    """The discounts of lines priced in a display currency, for a buyer (None: unknown).
    `automatic`: the automatic promotions when the caller has them (see `load_candidates`)."""
    candidates = await load_candidates(session, entered, automatic)
    return await _discounts(session, candidates, entered, lines, priced, buyer, store)


async def cart_promotions(
    session: AsyncSession,
    cart: carts.CartRow | None,
    lines: Sequence[carts.Line],
    priced: carts.PricedLines,
    buyer: str | None,
    store: CurrencySpec,
    automatic: Sequence[Candidate] | None = None,
) -> CartPromotions:
    """A cart's codes and discounts: one statement for its codes and every candidate
    promotion, one more for its lines' categories when a promotion is narrowed, one more for
    the buyer's uses when a promotion limits them. With `automatic` (the process's kept
    automatic promotions), a cart without codes reads no promotion at all."""
    if automatic is not None and (cart is None or not cart.has_codes):
        candidates, entered = list(automatic), []
    else:
        candidates, entered = await cart_candidates(session, cart.id if cart else None)
    return await _discounts(session, candidates, entered, lines, priced, buyer, store)


async def _discounts(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    entered: Sequence[uuid.UUID],
    lines: Sequence[carts.Line],
    priced: carts.PricedLines,
    buyer: str | None,
    store: CurrencySpec,
) -> CartPromotions:
    narrowed = any(c.narrowed for c in candidates)
    facts = await line_facts(session, lines) if narrowed else [None] * len(lines)
    exhausted = await buyer_exhausted_ids(session, candidates, buyer)
    discounts = compute(candidates, priced, facts, store, utcnow(), exhausted)
    by_id = {c.row.id: c.row for c in candidates}
    codes = [by_id[pid].code for pid in entered if pid in by_id and by_id[pid].code]
    return CartPromotions([c for c in codes if c], discounts)


# --- entering and removing codes ------------------------------------------------------


async def promotion_by_code(session: AsyncSession, code: str) -> Promotion | None:
    return await session.scalar(select(Promotion).where(Promotion.code_key == code_key(code)))


def _unknown(code: str, field: list[str]) -> DomainError:
    return DomainError(
        ErrorCode.PROMOTION_INVALID, f"there is no promotion code {code.strip()!r}", field
    )


async def apply_code(
    session: AsyncSession,
    reference: str,
    code: str,
    ttl: Any,
    store: CurrencySpec,
    target: CurrencySpec,
    buyer: str | None,
) -> None:
    """Enter a code on a cart once it fits the cart now (entering it again changes nothing)."""
    field = ["code"]
    promotion = await promotion_by_code(session, code) if code.strip() else None
    if promotion is None:
        raise _unknown(code, field)
    cart_id = (await carts.open_cart(session, reference, ttl)).id
    lines, _ = await carts.cart_lines(session, cart_id)
    priced = carts.price_lines(lines, store, target)
    found = await discounts_for(session, lines, priced, [promotion.id], buyer, store)
    for refused in found.discounts.refused:
        if refused.row.id == promotion.id:
            raise DomainError(refused.error.code, refused.error.message, field)
    await session.execute(
        carts.insert_for(session, CartPromotionCode)
        .values(cart_id=cart_id, promotion_id=promotion.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["cart_id", "promotion_id"])
    )


async def remove_code(session: AsyncSession, reference: str, code: str, ttl: Any) -> None:
    """Take a code off a cart; NOT_FOUND when the cart does not have it."""
    field = ["code"]
    cart_id = (await carts.existing_cart(session, reference, ttl)).id
    promotion = await promotion_by_code(session, code) if code.strip() else None
    result = None
    if promotion is not None:
        result = await session.execute(
            delete(CartPromotionCode).where(
                CartPromotionCode.cart_id == cart_id,
                CartPromotionCode.promotion_id == promotion.id,
            )
        )
    if result is None or result.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(ErrorCode.NOT_FOUND, f"the cart has no code {code.strip()!r}", field)


async def ids_of_codes(
    session: AsyncSession, codes: Sequence[str], path: list[str]
) -> list[uuid.UUID]:
    """orderCreate's codes as promotion ids (PROMOTION_INVALID for unknown ones)."""
    errors: list[DomainError] = []
    ids: list[uuid.UUID] = []
    for index, code in enumerate(codes):
        promotion = await promotion_by_code(session, code) if code.strip() else None
        if promotion is None:
            errors.append(_unknown(code, [*path, str(index)]))
        elif promotion.id not in ids:
            ids.append(promotion.id)
    raise_all(errors)
    return ids


# --- counting uses (checkout, orderCreate) and giving them back -------------------------


def refusals(discounts: Discounts, field: list[str]) -> list[DomainError]:
    """An order may not be placed while an entered code does not apply: the buyer expects it."""
    return [DomainError(r.error.code, r.error.message, field) for r in discounts.refused]


async def record_uses(
    session: AsyncSession, order_id: uuid.UUID, discounts: Discounts, buyer: str
) -> None:
    """Count a use of every applied promotion for the order, in its transaction:
    PROMOTION_EXHAUSTED (and the caller's transaction rolls back) when one is used up,
    for everyone or for this buyer. Promotions are locked in id order (no deadlocks)."""
    for applied in sorted(discounts.applied, key=lambda a: a.row.id):
        row = applied.row
        limit = Promotion.usage_limit
        counted = await session.execute(
            update(Promotion)
            .where(Promotion.id == row.id, or_(limit.is_(None), Promotion.usage_count < limit))  # type: ignore[union-attr,operator]
            .values(usage_count=Promotion.usage_count + 1)
            .execution_options(synchronize_session=False)
        )
        if counted.rowcount != 1:  # type: ignore[attr-defined]
            raise DomainError(
                ErrorCode.PROMOTION_EXHAUSTED, f"{label(row)} has been used up", ["reference"]
            )
        if row.per_customer_limit is not None:
            used = await session.scalar(
                select(func.count()).where(
                    PromotionUse.promotion_id == row.id, PromotionUse.buyer == buyer
                )
            )
            if (used or 0) >= row.per_customer_limit:
                error = buyer_exhausted(row)
                raise DomainError(error.code, error.message, ["reference"])
        session.add(PromotionUse(promotion_id=row.id, order_id=order_id, buyer=buyer))
    session.add_all(
        OrderDiscount(
            order_id=order_id,
            position=position,
            promotion_id=a.row.id,
            code=a.row.code,
            name=a.row.name,
            kind=a.row.kind,
            amount=a.amount.without_tax.amount,
            tax=a.amount.tax.amount,
        )
        for position, a in enumerate(discounts.applied)
    )
    await session.flush()


async def release_uses(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Give back the uses an order counted. Deleting its use rows makes this happen once,
    however often it is called."""
    released = await session.scalars(
        delete(PromotionUse)
        .where(PromotionUse.order_id == order_id)
        .returning(PromotionUse.promotion_id)
    )
    for promotion_id in sorted(released.all()):
        await session.execute(
            update(Promotion)
            .where(Promotion.id == promotion_id, Promotion.usage_count > 0)
            .values(usage_count=Promotion.usage_count - 1)
            .execution_options(synchronize_session=False)
        )


async def discounts_of_orders(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> list[list[OrderDiscount]]:
    stmt = (
        select(OrderDiscount)
        .where(OrderDiscount.order_id.in_(order_ids))  # type: ignore[attr-defined]
        .order_by(OrderDiscount.order_id, OrderDiscount.position)
    )
    grouped: dict[uuid.UUID, list[OrderDiscount]] = {pk: [] for pk in order_ids}
    for row in (await session.scalars(stmt)).all():
        grouped[row.order_id].append(row)
    return [grouped[pk] for pk in order_ids]


# --- admin: create, update, delete, list ----------------------------------------------

CAMEL = {
    "starts_at": "startsAt",
    "ends_at": "endsAt",
    "min_subtotal": "minSubtotal",
    "usage_limit": "usageLimit",
    "per_customer_limit": "perCustomerLimit",
    "product_ids": "productIds",
    "category_ids": "categoryIds",
}


def _field(name: str) -> list[str]:
    return ["input", CAMEL.get(name, name)]


def _aware(moment: datetime | None) -> datetime | None:
    """An instant without a UTC offset is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _clean_texts(
    errors: list[DomainError], data: Mapping[str, Any], partial: bool
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        require_text(errors, data.get("name"), ["input", "name"])
        clean["name"] = (data.get("name") or "").strip()
    if "description" in data:
        text = (data["description"] or "").strip()
        if len(text) > 5000:
            errors.append(
                DomainError(
                    ErrorCode.INVALID,
                    "description is longer than 5000 characters",
                    _field("description"),
                )
            )
        clean["description"] = text or None
    if "code" in data:
        code = (data["code"] or "").strip()
        if code and not CODE.match(code):
            message = "code must be 1 to 64 of A-Z, a-z, 0-9, _ and - (or null: automatic)"
            errors.append(DomainError(ErrorCode.INVALID, message, _field("code")))
        clean["code"], clean["code_key"] = (code, code_key(code)) if code else (None, None)
    return clean


def _clean_numbers(errors: list[DomainError], data: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, low in (("min_subtotal", 0), ("usage_limit", 1), ("per_customer_limit", 1)):
        if name in data:
            value = data[name]
            if value is not None and not low <= value <= MAX_AMOUNT:
                message = f"{CAMEL[name]} must be at least {low} (or null: no limit)"
                errors.append(DomainError(ErrorCode.INVALID, message, _field(name)))
            clean[name] = value
    for name in ("starts_at", "ends_at"):
        if name in data:
            clean[name] = _aware(data[name])
    for name in ("enabled", "kind", "value"):
        if name in data:
            if data[name] is None:
                errors.append(
                    DomainError(ErrorCode.INVALID, f"{name} may not be null", _field(name))
                )
            clean[name] = data[name].value if isinstance(data[name], Enum) else data[name]
    return clean


def _check_whole(
    errors: list[DomainError], merged: Mapping[str, Any], given: Mapping[str, Any]
) -> None:
    """Rules across fields, on the promotion as it would be: kind and value, the time window."""
    kind, value = merged.get("kind"), merged.get("value")
    if kind is None:
        errors.append(DomainError(ErrorCode.REQUIRED, "kind is required", _field("kind")))
    elif kind == PromotionKind.PERCENT_OFF.value and (value is None or not 1 <= value <= 100):
        errors.append(
            DomainError(
                ErrorCode.INVALID, "a PERCENT_OFF value is a percent, 1 to 100", _field("value")
            )
        )
    elif kind == PromotionKind.AMOUNT_OFF.value and (value is None or not 1 <= value <= MAX_AMOUNT):
        message = "an AMOUNT_OFF value is minor units of the store currency, at least 1"
        errors.append(DomainError(ErrorCode.INVALID, message, _field("value")))
    elif kind == PromotionKind.FREE_SHIPPING.value and value not in (None, 0):
        errors.append(
            DomainError(
                ErrorCode.INVALID, "FREE_SHIPPING takes no value (give 0 or none)", _field("value")
            )
        )
    starts, ends = merged.get("starts_at"), merged.get("ends_at")
    if starts is not None and ends is not None and ends <= starts:
        name = "ends_at" if "ends_at" in given else "starts_at"
        errors.append(DomainError(ErrorCode.INVALID, "endsAt must be after startsAt", _field(name)))


async def _check_links(
    session: AsyncSession, data: Mapping[str, Any]
) -> dict[str, list[uuid.UUID]]:
    """productIds and categoryIds given: each must name an existing row (NOT_FOUND)."""
    errors: list[DomainError] = []
    links: dict[str, list[uuid.UUID]] = {}
    for name, model in (("product_ids", Product), ("category_ids", Category)):
        if name not in data:
            continue
        ids = list(dict.fromkeys(data[name] or []))
        found = (
            set((await session.scalars(select(model.id).where(model.id.in_(ids)))).all())
            if ids
            else set()
        )  # type: ignore[attr-defined]
        for index, pk in enumerate(data[name] or []):
            if pk not in found:
                kind = "product" if model is Product else "category"
                errors.append(
                    DomainError(
                        ErrorCode.NOT_FOUND, f"no {kind} with that id", [*_field(name), str(index)]
                    )
                )
        links[name] = ids
    raise_all(errors)
    return links


async def _save_links(
    session: AsyncSession, promotion_id: uuid.UUID, links: Mapping[str, list[uuid.UUID]]
) -> None:
    for name, model, column in (
        ("product_ids", PromotionProduct, "product_id"),
        ("category_ids", PromotionCategory, "category_id"),
    ):
        if name in links:
            await session.execute(delete(model).where(model.promotion_id == promotion_id))  # type: ignore[attr-defined]
            session.add_all(model(promotion_id=promotion_id, **{column: pk}) for pk in links[name])


def _validate(data: Mapping[str, Any], current: Promotion | None) -> dict[str, Any]:
    errors: list[DomainError] = []
    clean = {**_clean_texts(errors, data, current is not None), **_clean_numbers(errors, data)}
    existing = (
        {k: getattr(current, k) for k in ("kind", "value", "starts_at", "ends_at")}
        if current
        else {}
    )
    merged = {**existing, **clean}
    if merged.get("kind") == PromotionKind.FREE_SHIPPING.value and "value" not in clean:
        merged["value"] = clean["value"] = 0  # a value of an earlier kind does not carry over
    _check_whole(errors, merged, data)
    raise_all(errors)
    return clean


async def create_promotion(session: AsyncSession, data: Mapping[str, Any]) -> Promotion:
    """A new promotion; `data` is snake_case with ids decoded."""
    clean = _validate(data, None)
    links = await _check_links(session, data)
    promotion = Promotion(**clean)
    session.add(promotion)
    await flush_unique(session, f"code {promotion.code!r}", _field("code"))
    await _save_links(session, promotion.id, links)
    await session.flush()
    return promotion


async def update_promotion(
    session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]
) -> Promotion:
    """Change the fields given; null clears an optional one (code, dates, limits)."""
    promotion = await session.get(Promotion, pk, with_for_update=True)
    if promotion is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no promotion with that id", ["id"])
    clean = _validate(data, promotion)
    links = await _check_links(session, data)
    apply_changes(promotion, clean)
    await flush_unique(session, f"code {promotion.code!r}", _field("code"))
    await _save_links(session, promotion.id, links)
    await session.flush()
    return promotion


async def delete_promotion(session: AsyncSession, pk: uuid.UUID) -> Promotion:
    """Delete a promotion: carts lose its code; orders keep their copy of the discount."""
    promotion = await get_or_404(session, Promotion, pk, ["id"])
    await session.delete(promotion)
    await session.flush()
    return promotion


@dataclass(frozen=True, slots=True)
class PromotionFilter:
    """`search` matches name, code or description; `enabled` the flag."""

    search: str | None = None
    enabled: bool | None = None


async def promotion_page(
    session: AsyncSession, where: PromotionFilter, request: PageRequest
) -> Page[Promotion]:
    """Promotions, newest first."""
    stmt = select(Promotion)
    if where.enabled is not None:
        stmt = stmt.where(Promotion.enabled == where.enabled)
    if where.search and where.search.strip():
        pattern = like_pattern(where.search.strip())
        stmt = stmt.where(
            or_(
                Promotion.name.ilike(pattern, escape="\\"),  # type: ignore[attr-defined]
                Promotion.code.ilike(pattern, escape="\\"),  # type: ignore[union-attr]
                Promotion.description.ilike(pattern, escape="\\"),  # type: ignore[union-attr]
            )
        )
    keys = [
        SortKey(Promotion.created_at, lambda row: row.created_at),  # type: ignore[arg-type]
        SortKey(Promotion.id, lambda row: row.id),  # type: ignore[arg-type]
    ]
    return await paginate(session, stmt, keys, True, request)


async def links_of(
    session: AsyncSession,
    promotion_ids: Sequence[uuid.UUID],
    model: type[PromotionProduct] | type[PromotionCategory],
) -> list[list[uuid.UUID]]:
    """Each promotion's product (or category) ids, as entered."""
    column = model.product_id if model is PromotionProduct else model.category_id  # type: ignore[union-attr]
    rows = await session.execute(
        select(model.promotion_id, column).where(model.promotion_id.in_(promotion_ids))  # type: ignore[attr-defined]
    )
    grouped: dict[uuid.UUID, list[uuid.UUID]] = {pk: [] for pk in promotion_ids}
    for promotion_id, linked in rows.all():
        grouped[promotion_id].append(linked)
    return [grouped[pk] for pk in promotion_ids]
