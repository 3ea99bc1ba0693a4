"""Carts: named by a client-chosen reference, made on first write, expired when untouched.

Cart lines live in `cart_item`, one per catalogue product (a unique constraint, so adding a
product again raises the quantity with one atomic upsert), plus any number of custom lines
(admin-made, no product) that carry their own sku, name, price and tax band.
"""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class Cart(SQLModel, table=True):
    __tablename__ = "cart"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    reference: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )


class CartItem(SQLModel, table=True):
    """A cart line. Catalogue lines name a product (prices are read live from it); custom lines
    have no product and hold their own sku, name, price (store currency, without tax) and band."""

    __tablename__ = "cart_item"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_item_cart_product"),
        CheckConstraint("quantity >= 1", name="ck_cart_item_quantity"),
        Index("ix_cart_item_cart_created", "cart_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    cart_id: uuid.UUID = Field(foreign_key="cart.id", ondelete="CASCADE")
    product_id: uuid.UUID | None = Field(
        default=None, foreign_key="product.id", ondelete="CASCADE", index=True
    )
    quantity: int
    sku: str | None = Field(default=None, max_length=120)
    name: str | None = Field(default=None, max_length=300)
    price: int | None = Field(default=None, description="Custom lines: store-currency minor units.")
    tax_band_id: uuid.UUID | None = Field(default=None, foreign_key="tax_band.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
