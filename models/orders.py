"""Orders: a snapshot of what was bought at what price, plus the three-dimensional state
(status, payment, shipping) that only `domain.orders.transition` changes.

Every amount on an order is an integer in the minor units of the order's `currency` (the
currency the buyer saw at checkout), so later catalogue or exchange-rate changes never alter it.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from models.base import DecimalText, UTCDateTime, new_id, utcnow


class OrderCounter(SQLModel, table=True):
    """One row holding the last order number. Checkout bumps it with
    `UPDATE ... SET value = value + 1 RETURNING value` inside its own transaction: the row lock
    (PostgreSQL) or the write lock (SQLite) hands out every number exactly once, without gaps."""

    __tablename__ = "order_counter"

    id: int = Field(default=1, primary_key=True)
    value: int


class Order(SQLModel, table=True):
    __tablename__ = "order"
    __table_args__ = (
        CheckConstraint(
            "total = subtotal - discount + shipping_price + tax", name="ck_order_total"
        ),
        Index("ix_order_created", "created_at", "id"),
        Index("ix_order_updated", "updated_at", "id"),
        Index("ix_order_total", "total", "id"),
        Index("ix_order_customer_created", "customer_id", "created_at", "id"),
        # The reservation sweeps (domain/reservations.py): holds that are due, unpaid orders
        # that are old enough; both partial, so they stay as small as the work waiting.
        Index(
            "ix_order_reserved_until",
            "reserved_until",
            sqlite_where=text("reserved_until IS NOT NULL"),
            postgresql_where=text("reserved_until IS NOT NULL"),
        ),
        Index(
            "ix_order_unpaid_created",
            "created_at",
            sqlite_where=text("payment = 'UNPAID' AND status = 'INCOMPLETE'"),
            postgresql_where=text("payment = 'UNPAID' AND status = 'INCOMPLETE'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: int = Field(unique=True, index=True)
    status: str = Field(default="INCOMPLETE", max_length=20, index=True)
    payment: str = Field(default="UNPAID", max_length=20, index=True)
    shipping: str = Field(default="UNFULFILLED", max_length=20, index=True)
    payment_gateway: str | None = Field(
        default=None, max_length=64, description="Gateway of the current authorization/payment."
    )
    customer_id: uuid.UUID | None = Field(
        default=None, foreign_key="customer.id", ondelete="SET NULL"
    )
    customer_email: str = Field(max_length=320, index=True)
    customer_name: str = Field(max_length=200)
    billing_address: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    shipping_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    shipping_method_id: uuid.UUID | None = Field(default=None)
    shipping_method_name: str | None = Field(default=None, max_length=200)
    shipping_method_carrier: str | None = Field(default=None, max_length=200)
    shipping_price: int = Field(default=0, description="Without tax.")
    shipping_tax_rate: Decimal = Field(
        default=Decimal(0), sa_column=Column(DecimalText, nullable=False)
    )
    shipping_tax: int = Field(default=0)
    subtotal: int = Field(description="Sum of the lines without tax.")
    discount: int = Field(default=0, description="Promotions, without tax (order_discount).")
    tax: int = Field(description="Tax of every line and of shipping.")
    total: int = Field(description="subtotal - discount + shipping_price + tax.")
    currency: str = Field(
        max_length=3, index=True, foreign_key="currency.code", ondelete="RESTRICT"
    )
    """The order currency; a currency orders are in cannot be deleted (the foreign key)."""
    exchange_rate: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    reserved_until: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime, nullable=True),
        description="While set, the order holds its managed lines' units (API.md section 11).",
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class OrderItem(SQLModel, table=True):
    """One bought line, copied at checkout. `product_id` only links back to the catalogue (it
    becomes NULL if the product is deleted); every figure shown comes from the copy."""

    __tablename__ = "order_item"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="ck_order_item_quantity"),
        Index("ix_order_item_order_position", "order_id", "position"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="order.id", ondelete="CASCADE")
    position: int
    product_id: uuid.UUID | None = Field(
        default=None, foreign_key="product.id", ondelete="SET NULL", index=True
    )
    sku: str = Field(max_length=120)
    name: str = Field(max_length=300)
    quantity: int
    tax_rate: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    unit_price: int = Field(description="One unit without tax.")
    unit_tax: int
    line_price: int = Field(description="The whole line without tax.")
    line_tax: int
    discount: int = Field(default=0, description="The line's part of the order's discount.")
    discount_tax: int = Field(
        default=0, description="line_tax minus the tax of the discounted line."
    )


class OrderEvent(SQLModel, table=True):
    """The order's history: one row per transition (created, paid, fulfilled, ...)."""

    __tablename__ = "order_event"
    __table_args__ = (UniqueConstraint("order_id", "seq", name="uq_order_event_order_seq"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="order.id", ondelete="CASCADE")
    seq: int = Field(description="Position in the order's history (0 for creation).")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    type: str = Field(max_length=40)
    message: str = Field(max_length=1000)
