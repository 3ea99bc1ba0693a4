"""Shipping tables: the methods a cart can be shipped with."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Text
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class ShippingMethod(SQLModel, table=True):
    """A way to ship an order, with its price (store currency, without tax) and the bounds of
    cart subtotal (minor units, without tax) and weight (grams) it is offered for."""

    __tablename__ = "shipping_method"
    __table_args__ = (
        CheckConstraint("price >= 0", name="ck_shipping_method_price"),
        CheckConstraint(
            "(min_subtotal IS NULL OR min_subtotal >= 0)"
            " AND (max_subtotal IS NULL OR max_subtotal >= 0)"
            " AND (min_subtotal IS NULL OR max_subtotal IS NULL OR min_subtotal <= max_subtotal)",
            name="ck_shipping_method_subtotal",
        ),
        CheckConstraint(
            "(min_weight IS NULL OR min_weight >= 0)"
            " AND (max_weight IS NULL OR max_weight >= 0)"
            " AND (min_weight IS NULL OR max_weight IS NULL OR min_weight <= max_weight)",
            name="ck_shipping_method_weight",
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=200, unique=True, index=True)
    carrier: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    price: int = Field(description="Minor units of the store currency, without tax.")
    min_subtotal: int | None = Field(default=None)
    max_subtotal: int | None = Field(default=None)
    min_weight: int | None = Field(default=None, description="Grams.")
    max_weight: int | None = Field(default=None, description="Grams.")
    tax_band_id: uuid.UUID | None = Field(default=None, foreign_key="tax_band.id", index=True)
    enabled: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
