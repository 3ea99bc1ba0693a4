"""Helpers of the service-tier tests (tests/test_service_*.py): domain functions called
directly in a real transaction, on SQLite and PostgreSQL, without GraphQL."""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, DomainErrors
from models.engine import Database

Errors = set[tuple[str, tuple[str, ...]]]


async def refused(db: Database, work: Callable[[AsyncSession], Awaitable[Any]]) -> Errors:
    """The (code, field path) of every error `work` fails with; it must fail, and its write
    transaction rolls back as a mutation's does."""
    try:
        async with db.transaction() as session:
            await work(session)
    except DomainError as error:
        return {(error.code.value, tuple(error.field or ()))}
    except DomainErrors as many:
        return {(e.code.value, tuple(e.field or ())) for e in many.errors}
    raise AssertionError("expected the domain to refuse")


async def done(db: Database, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """What `work` returns, committed."""
    async with db.transaction() as session:
        return await work(session)


async def count(db: Database, model: type) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
