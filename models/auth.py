"""API clients and the access tokens they are issued."""

import uuid
from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class ApiClient(SQLModel, table=True):
    __tablename__ = "api_client"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    client_id: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class AccessToken(SQLModel, table=True):
    """A bearer token. Only its SHA-256 is stored, so a database dump holds no usable tokens."""

    __tablename__ = "access_token"

    token_hash: str = Field(max_length=64, primary_key=True)
    client_pk: uuid.UUID = Field(foreign_key="api_client.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=20)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
