"""Customers, their sign-in tokens and their addresses."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class Customer(SQLModel, table=True):
    """A registered customer. `email` is stored normalised and lower-cased, so its unique
    constraint makes emails unique case-insensitively on every backend."""

    __tablename__ = "customer"
    __table_args__ = (Index("ix_customer_created", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class CustomerToken(SQLModel, table=True):
    """A customer's sign-in token (sent as X-Customer-Token). Only its SHA-256 is stored."""

    __tablename__ = "customer_token"

    token_hash: str = Field(max_length=64, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class CustomerAddress(SQLModel, table=True):
    """An address saved in a customer's address book (orders copy addresses, never link them)."""

    __tablename__ = "customer_address"
    __table_args__ = (Index("ix_customer_address_owner", "customer_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id", ondelete="CASCADE")
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    phone_number: str | None = Field(default=None, max_length=40)
    line1: str = Field(max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(max_length=100)
    county: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postcode: str = Field(max_length=20)
    country: str = Field(max_length=2)
    instructions: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
