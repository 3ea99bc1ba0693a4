"""Catalogue tables: tax bands and currencies (products and the rest build on these)."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, text
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
