"""The transactional outbox: one row per domain event (API.md section 12), written in the same
transaction as the change it reports (`domain.events.emit`), so a rolled-back change leaves no
event and a committed one is never lost.

`sequence` counts the events of one object (an order, a product) from 1. The writer holds that
object's row lock (or, on SQLite, the database write lock) when it emits, and the INSERT takes
`max(sequence) + 1` of the object; the unique constraint turns any writer that did not into a
loud failure rather than a repeated number.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("object_id", "sequence", name="uq_event_object_sequence"),
        # Events not yet fanned out to webhook deliveries: partial, as small as the work waiting.
        Index(
            "ix_event_undispatched",
            "created_at",
            sqlite_where=text("dispatched_at IS NULL"),
            postgresql_where=text("dispatched_at IS NULL"),
        ),
        Index("ix_event_created", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    type: str = Field(max_length=40, description='"order.paid", "stock.low", ...')
    object_kind: str = Field(max_length=20, description="Order or Product (global id type).")
    object_id: uuid.UUID
    sequence: int = Field(description="Position among the object's events, from 1.")
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    dispatched_at: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime, nullable=True),
        description="When its webhook deliveries were made (NULL: not yet).",
    )
