"""Persisted queries: GraphQL documents stored under their SHA-256 (API.md section 14)."""

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.persisted import PersistedQuery


def document_hash(query: str) -> str:
    """The SHA-256 of a document's UTF-8 text in lower-case hex (Apollo's sha256Hash)."""
    return hashlib.sha256(query.encode()).hexdigest()


async def stored_query(session: AsyncSession, sha256: str) -> str | None:
    return await session.scalar(select(PersistedQuery.query).where(PersistedQuery.sha256 == sha256))


async def store_query(session: AsyncSession, sha256: str, query: str) -> None:
    """Remember the document (a second registration of it, by any process, changes nothing)."""
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(PersistedQuery).values(sha256=sha256, query=query, created_at=utcnow())
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["sha256"]))
