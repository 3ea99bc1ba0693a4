"""Promotions and discount codes (API.md section 10).

`promotion.code_key` is the code lower-cased (NULL for an automatic promotion): its unique
index makes codes unique case-insensitively on every backend. `usage_count` is only ever
changed by conditional UPDATEs (`usage_count < usage_limit`), so a limit holds on any number
of server processes. `promotion_use` has one row per order using a promotion, with the buyer's
key (customer id, or the checkout email lower-cased), for per-customer limits; cancelling an
unpaid order deletes its rows and gives the counts back.
"""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class Promotion(SQLModel, table=True):
    __tablename__ = "promotion"
    __table_args__ = (
        CheckConstraint("usage_count >= 0", name="ck_promotion_usage_count"),
        Index("ix_promotion_created", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    code: str | None = Field(default=None, max_length=64, description="As the admin wrote it.")
    code_key: str | None = Field(
        default=None, max_length=64, unique=True, description="lower(code): unique."
    )
    enabled: bool = Field(default=True, index=True)
    starts_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    ends_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    kind: str = Field(max_length=20)
    value: int = Field(default=0, description="Percent, or store-currency minor units.")
    min_subtotal: int | None = Field(default=None)
    usage_limit: int | None = Field(default=None)
    usage_count: int = Field(default=0)
    per_customer_limit: int | None = Field(default=None)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class PromotionProduct(SQLModel, table=True):
    """A product a promotion is narrowed to (its variant children count too)."""

    __tablename__ = "promotion_product"

    promotion_id: uuid.UUID = Field(
        foreign_key="promotion.id", ondelete="CASCADE", primary_key=True
    )
    product_id: uuid.UUID = Field(
        foreign_key="product.id", ondelete="CASCADE", primary_key=True, index=True
    )


class PromotionCategory(SQLModel, table=True):
    """A category a promotion is narrowed to (its sub-categories count too)."""

    __tablename__ = "promotion_category"

    promotion_id: uuid.UUID = Field(
        foreign_key="promotion.id", ondelete="CASCADE", primary_key=True
    )
    category_id: uuid.UUID = Field(
        foreign_key="category.id", ondelete="CASCADE", primary_key=True, index=True
    )


class CartPromotionCode(SQLModel, table=True):
    """A code entered on a cart. It names the promotion, so the cart shows the promotion's
    code as it is now; deleting the promotion or the cart removes the row."""

    __tablename__ = "cart_promotion_code"

    cart_id: uuid.UUID = Field(foreign_key="cart.id", ondelete="CASCADE", primary_key=True)
    promotion_id: uuid.UUID = Field(
        foreign_key="promotion.id", ondelete="CASCADE", primary_key=True, index=True
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class PromotionUse(SQLModel, table=True):
    """One order's use of a promotion; `buyer` is the customer id, or the checkout email
    lower-cased for a guest."""

    __tablename__ = "promotion_use"
    __table_args__ = (
        UniqueConstraint("promotion_id", "order_id", name="uq_promotion_use_order"),
        Index("ix_promotion_use_buyer", "promotion_id", "buyer"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    promotion_id: uuid.UUID = Field(foreign_key="promotion.id", ondelete="CASCADE")
    order_id: uuid.UUID = Field(foreign_key="order.id", ondelete="CASCADE", index=True)
    buyer: str = Field(max_length=320)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class OrderDiscount(SQLModel, table=True):
    """An order's copy of a promotion it got: code, name and amount (order currency,
    without tax) as they were at checkout."""

    __tablename__ = "order_discount"
    __table_args__ = (Index("ix_order_discount_order_position", "order_id", "position"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="order.id", ondelete="CASCADE")
    position: int
    promotion_id: uuid.UUID | None = Field(
        default=None, foreign_key="promotion.id", ondelete="SET NULL", index=True
    )
    code: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    amount: int = Field(description="Without tax, in the order currency.")
    tax: int = Field(default=0, description="The tax the discount took off.")
