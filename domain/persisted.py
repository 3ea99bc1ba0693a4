"""Persisted queries: GraphQL documents stored under their SHA-256 (API.md section 14)."""

import hashlib
from typing import Any

from sqlalchemy import delete, func, select
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


async def store_query(session: AsyncSession, sha256: str, query: str, keep: int) -> None:
    """Remember the document (a second registration of it, by any process, changes nothing),
    keeping at most `keep` documents: the oldest beyond that are removed (clients register
    anything at all, so the table would otherwise grow without end)."""
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(PersistedQuery).values(sha256=sha256, query=query, created_at=utcnow())
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["sha256"]))
    stored = await session.scalar(select(func.count()).select_from(PersistedQuery))
    if stored is not None and stored > keep:
        oldest = (
            select(PersistedQuery.sha256)
            .order_by(PersistedQuery.created_at, PersistedQuery.sha256)
            .limit(stored - keep)
        )
        await session.execute(delete(PersistedQuery).where(PersistedQuery.sha256.in_(oldest)))
