"""Promotion types: the admin's Promotion, and what carts and orders show of promotions."""

import asyncio
import uuid
from datetime import datetime

import strawberry

from domain import promotions as domain
from domain.errors import DomainError
from domain.pricing import CurrencySpec, Money, PriceBreakdown
from models.promotions import OrderDiscount as OrderDiscountRow
from models.promotions import Promotion as PromotionRow
from resolvers import catalog as resolve_catalog
from resolvers import promotions as resolve
from schema.base import (
    Connection,
    DisplayPrice,
    ErrorCode,
    Node,
    StrawberryInfo,
    admin_node,
    describe_values,
    global_id,
)
from schema.base import Money as MoneyType
from schema.catalog.types import Category, Product

PromotionKind = strawberry.enum(
    domain.PromotionKind, name="PromotionKind", description="What a promotion takes off."
)
describe_values(
    PromotionKind,
    {
        "PERCENT_OFF": "`value` percent (1 to 100) off the eligible lines.",
        "AMOUNT_OFF": "`value` minor units of the store currency off the eligible lines (never "
        "more than they cost).",
        "FREE_SHIPPING": "The order's shipping costs nothing (shown at checkout).",
    },
)


@strawberry.type(
    description="A promotion (admin only). With a `code` it applies once the code is entered "
    "on a cart; without one it applies by itself to every cart it fits."
)
class Promotion(Node):
    name: str = strawberry.field(description="Name shown to buyers in the cart's discounts.")
    description: str | None = strawberry.field(description="Notes for the back office.")
    code: str | None = strawberry.field(
        description="The code buyers enter (unique, compared case-insensitively); null for an "
        "automatic promotion."
    )
    enabled: bool = strawberry.field(description="Disabled promotions apply to nothing.")
    starts_at: datetime | None = strawberry.field(description="Applies from this instant on.")
    ends_at: datetime | None = strawberry.field(description="Applies until this instant.")
    kind: PromotionKind = strawberry.field(description="PERCENT_OFF, AMOUNT_OFF or FREE_SHIPPING.")
    value: int = strawberry.field(
        description="PERCENT_OFF: the percent; AMOUNT_OFF: store-currency minor units; "
        "FREE_SHIPPING: 0."
    )
    min_subtotal: int | None = strawberry.field(
        description="Smallest cart subtotal without tax (store-currency minor units)."
    )
    usage_limit: int | None = strawberry.field(
        description="How many orders may use it in all; null for no limit."
    )
    usage_count: int = strawberry.field(
        description="How many orders use it (an order cancelled before payment gives its use back)."
    )
    per_customer_limit: int | None = strawberry.field(
        description="How many orders one buyer (a customer, or a guest's checkout email) may "
        "place with it; null for no limit."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[PromotionRow]

    @strawberry.field(
        description="Products it is narrowed to (their variants too); empty with no categories "
        "means every line."
    )
    async def products(self, info: StrawberryInfo) -> list[Product]:
        ids = await resolve.product_ids(info.context, self.row.id)
        rows = await asyncio.gather(*(resolve_catalog.product(info.context, pk) for pk in ids))
        return [Product.of(r) for r in rows if r is not None]

    @strawberry.field(description="Categories it is narrowed to (their sub-categories too).")
    async def categories(self, info: StrawberryInfo) -> list[Category]:
        ids = await resolve.category_ids(info.context, self.row.id)
        rows = await asyncio.gather(*(resolve_catalog.category(info.context, pk) for pk in ids))
        return [Category.of(r) for r in rows if r is not None]

    @classmethod
    def of(cls, row: PromotionRow) -> "Promotion":
        return cls(
            id=global_id("Promotion", row.id),
            name=row.name,
            description=row.description,
            code=row.code,
            enabled=row.enabled,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            kind=domain.PromotionKind(row.kind),
            value=row.value,
            min_subtotal=row.min_subtotal,
            usage_limit=row.usage_limit,
            usage_count=row.usage_count,
            per_customer_limit=row.per_customer_limit,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Promotion | None":
        """What `node(id:)` answers for this type's ids: admins only."""
        return await admin_node(info, lambda context: resolve.promotion(context, pk), cls.of)


@strawberry.type(description="A page of promotions.")
class PromotionConnection(Connection[Promotion]):
    pass


@strawberry.type(description="What a cart or an order shows of a promotion.")
class DiscountPromotion:
    name: str = strawberry.field(description="The promotion's name.")
    code: str | None = strawberry.field(description="Its code; null for an automatic one.")


@strawberry.type(
    description="A promotion on a cart: one that applies (with what it takes off), or an "
    "entered code that does not apply now (`applies` false, `amount` zero, `reason` says why)."
)
class CartDiscount:
    promotion: DiscountPromotion = strawberry.field(description="Which promotion.")
    amount: DisplayPrice = strawberry.field(
        description="What it takes off the cart in the request currency: without tax, and the "
        "tax that goes with it. Zero for FREE_SHIPPING (shipping is free at checkout)."
    )
    applies: bool = strawberry.field(
        description="False for an entered code that does not fit the cart now (checkout then "
        "fails with `reasonCode` until it fits or is removed)."
    )
    reason_code: ErrorCode | None = strawberry.field(
        description="Why it does not apply: PROMOTION_INVALID, PROMOTION_NOT_APPLICABLE or "
        "PROMOTION_EXHAUSTED; null when it applies."
    )
    reason: str | None = strawberry.field(
        description="Why it does not apply, in words (e.g. the minimum subtotal it needs)."
    )

    @classmethod
    def applied(cls, applied: domain.AppliedDiscount) -> "CartDiscount":
        return cls(
            promotion=DiscountPromotion(name=applied.row.name, code=applied.row.code),
            amount=DisplayPrice.of(applied.amount),
            applies=True,
            reason_code=None,
            reason=None,
        )

    @classmethod
    def refused(cls, refused: domain.Refused, zero: PriceBreakdown) -> "CartDiscount":
        error: DomainError = refused.error
        return cls(
            promotion=DiscountPromotion(name=refused.row.name, code=refused.row.code),
            amount=DisplayPrice.of(zero),
            applies=False,
            reason_code=error.code,
            reason=error.message,
        )


def cart_discounts(found: domain.CartPromotions) -> list[CartDiscount]:
    """Applied promotions first (in the order they were applied), then refused codes."""
    discounts = found.discounts
    currency = discounts.total.without_tax.currency
    zero = PriceBreakdown(Money(0, currency), Money(0, currency))
    return [CartDiscount.applied(a) for a in discounts.applied] + [
        CartDiscount.refused(r, zero) for r in discounts.refused
    ]


@strawberry.type(description="A promotion an order got: a copy made at checkout.")
class OrderDiscount:
    code: str | None = strawberry.field(description="The code entered; null if automatic.")
    name: str = strawberry.field(description="The promotion's name at checkout.")
    kind: PromotionKind = strawberry.field(description="What kind of promotion it was.")
    amount: MoneyType = strawberry.field(
        description="What it took off, without tax, in the order currency (0 for FREE_SHIPPING: "
        "the order's shipping is 0)."
    )

    @classmethod
    def of(cls, row: OrderDiscountRow, spec: CurrencySpec) -> "OrderDiscount":
        return cls(
            code=row.code,
            name=row.name,
            kind=domain.PromotionKind(row.kind),
            amount=MoneyType.of(Money(row.amount, spec)),
        )
