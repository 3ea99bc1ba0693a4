"""Customers: sign-in tokens (registration, addresses and the rest build on these)."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import token_digest
from models.base import utcnow
from models.customers import CustomerToken


async def verify_customer_token(session: AsyncSession, token: str) -> uuid.UUID | None:
    """The customer id of a live customer token, or None for an unknown or expired one."""
    row = await session.get(CustomerToken, token_digest(token))
    if row is None or row.expires_at <= utcnow():
        return None
    return row.customer_id
