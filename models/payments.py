"""Payments tables: gateway settings, payment transactions and idempotency keys.

The rules that must hold with many server processes live here as constraints:
- at most one PENDING transaction per order (a partial unique index), so two payments of one
  order can never both be in flight;
- `0 <= refunded_amount <= amount` on a transaction holding captured money (a CHECK), which
  the refund's conditional UPDATE relies on;
- one row per (scope, key) of idempotency keys (a unique constraint), so two concurrent
  requests with the same key cannot both claim it.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class Gateway(SQLModel, table=True):
    """A payment gateway's store settings. The code lives in `domain.gateways`; a row exists
    for every registered gateway (seeded at start-up)."""

    __tablename__ = "gateway"

    slug: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)
    enabled: bool = Field(default=True)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class PaymentTransaction(SQLModel, table=True):
    """One request to a gateway and its outcome. `status` is PENDING while the gateway has not
    answered (the order's stock is then allocated and the sweep resolves stale ones),
    then SUCCEEDED or FAILED. Card data is only ever the brand and the last four digits."""

    __tablename__ = "payment_transaction"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="ck_payment_transaction_amount"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount",
            name="ck_payment_transaction_refunded",
        ),
        Index(
            "uq_payment_transaction_pending_order",
            "order_id",
            unique=True,
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index("ix_payment_transaction_order_created", "order_id", "created_at", "id"),
        Index("ix_payment_transaction_status_created", "status", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="order.id", ondelete="CASCADE")
    gateway: str = Field(foreign_key="gateway.slug", max_length=40)
    method: str = Field(max_length=12)  # PURCHASE | AUTHORIZE | CAPTURE | REFUND | CANCEL
    status: str = Field(max_length=12)  # PENDING | SUCCEEDED | FAILED
    amount: int = Field(description="Minor units of `currency` (the order's currency).")
    currency: str = Field(max_length=3)
    reference: str | None = Field(default=None, max_length=200)
    card_brand: str | None = Field(default=None, max_length=20)
    card_last4: str | None = Field(default=None, max_length=4)
    error_message: str | None = Field(default=None, max_length=500)
    parent_id: uuid.UUID | None = Field(
        default=None,
        foreign_key="payment_transaction.id",
        index=True,
        description="The transaction a CAPTURE, REFUND or CANCEL acted on.",
    )
    refunded_amount: int = Field(
        default=0, description="Money refunded so far (PURCHASE and CAPTURE transactions)."
    )
    closed: bool = Field(
        default=False, description="An AUTHORIZE transaction that was captured or cancelled."
    )
    hold_until: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime, nullable=True),
        description="The reservation this payment took over (the order's reservedUntil then): "
        "a declined payment gives it back.",
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class IdempotencyKey(SQLModel, table=True):
    """A client's idempotency key, claimed before the gateway is asked, with a fingerprint
    (SHA-256) of the request's arguments and, once known, the request's result."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_idempotency_key_scope_key"),
        Index("ix_idempotency_key_state_created", "state", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    scope: str = Field(max_length=40, description="The operation, e.g. orderPay.")
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    state: str = Field(default="IN_PROGRESS", max_length=12)  # IN_PROGRESS | DONE
    order_id: uuid.UUID | None = Field(default=None)
    transaction_id: uuid.UUID | None = Field(default=None)
    error_code: str | None = Field(default=None, max_length=40)
    error_message: str | None = Field(default=None, max_length=500)
    error_field: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
