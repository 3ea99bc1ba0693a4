"""Persisted queries (Apollo's automatic persisted queries): documents by their SHA-256."""

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, utcnow


class PersistedQuery(SQLModel, table=True):
    """A GraphQL document a client registered under its SHA-256 hash (hex)."""

    __tablename__ = "persisted_query"

    sha256: str = Field(primary_key=True, max_length=64)
    query: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
