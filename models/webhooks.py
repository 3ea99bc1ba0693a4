"""Webhook endpoints and their deliveries (API.md section 12).

A delivery is one event for one endpoint. It is made from the outbox (models/events.py) by the
delivery worker's fan-out, then claimed, sent and retried by domain/delivery.py. `object_id`
and `sequence` are copied from the event so that "a later event of the same object waits while
an earlier one is pending" is one indexed NOT EXISTS.
"""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_created", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description='Event types it receives ("order.paid", ...).',
    )
    enabled: bool = Field(default=True)
    description: str = Field(default="", max_length=1000)
    secret: str = Field(max_length=100, description="whsec_ + base64 of the signing key.")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_delivery_event"),
        # The worker's claim: due PENDING deliveries (partial: as small as the backlog).
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
        # Ordering: an earlier PENDING delivery of the same object to the same endpoint.
        Index(
            "ix_webhook_delivery_object",
            "webhook_id",
            "object_id",
            "sequence",
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index("ix_webhook_delivery_listing", "webhook_id", "created_at", "id"),
        Index("ix_webhook_delivery_status_created", "status", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhook.id", ondelete="CASCADE")
    event_id: uuid.UUID = Field(foreign_key="event.id", ondelete="CASCADE", index=True)
    object_id: uuid.UUID
    sequence: int
    status: str = Field(default="PENDING", max_length=10)  # PENDING | SUCCEEDED | FAILED
    attempts: int = Field(default=0)
    last_response_status: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime, nullable=True),
        description="When it is due (while claimed: when the claim lapses); NULL once done.",
    )
    claim: uuid.UUID | None = Field(
        default=None, description="The token of the worker sending it now (NULL: nobody)."
    )
    retrying_since: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(UTCDateTime, nullable=False),
        description="Start of its retry window: creation, or the last manual retry.",
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
