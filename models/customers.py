"""Customers, their sign-in tokens and their addresses."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

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
