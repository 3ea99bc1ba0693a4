"""Catalogue tables: tax bands, currencies, products (and the rest of the catalogue)."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Text, text
from sqlmodel import Column, Field, SQLModel

from models.base import DecimalText, UTCDateTime, new_id, utcnow


class TaxBand(SQLModel, table=True):
    __tablename__ = "tax_band"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    rate: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Currency(SQLModel, table=True):
    """A currency prices can show in. The default one is the store currency (rate 1)."""

    __tablename__ = "currency"
    __table_args__ = (
        Index(
            "uq_currency_single_default",
            "is_default",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=3, unique=True, index=True)
    name: str = Field(max_length=100)
    exchange_rate: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    format: str = Field(max_length=40)
    decimal_places: int = Field(default=2)
    decimal_point: str = Field(default=".", max_length=4)
    thousand_separator: str = Field(default=",", max_length=4)
    enabled: bool = Field(default=True)
    is_default: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Product(SQLModel, table=True):
    """A sellable product. Stock figures live on the row so that allocation is one conditional
    UPDATE, and the CHECK constraint makes `0 <= allocated <= total` a database rule."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint(
            "stock_allocated >= 0 AND stock_allocated <= stock_total", name="ck_product_stock"
        ),
        Index("ix_product_status_name", "status", "name", "id"),
        Index("ix_product_status_price", "status", "price", "id"),
        Index("ix_product_status_created", "status", "created_at", "id"),
        Index("ix_product_status_updated", "status", "updated_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    sku: str = Field(max_length=120, unique=True, index=True)
    slug: str = Field(max_length=200, unique=True, index=True)
    name: str = Field(max_length=300)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="DRAFT", max_length=10)
    price: int = Field(description="Minor units of the store currency, without tax.")
    sale_price: int | None = Field(default=None)
    tax_band_id: uuid.UUID | None = Field(default=None, foreign_key="tax_band.id", index=True)
    weight: int | None = Field(default=None, description="Grams.")
    requires_shipping: bool = Field(default=True)
    manage_stock: bool = Field(default=False)
    stock_total: int = Field(default=0)
    stock_allocated: int = Field(default=0)
    images: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def stock_available(self) -> int:
        return self.stock_total - self.stock_allocated
