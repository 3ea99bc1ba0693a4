"""API clients, OAuth token grants and bearer-token verification (API.md section 2)."""

import asyncio
import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.auth import AccessToken, ApiClient
from models.base import utcnow
from models.engine import Database
from models.settings import Settings

R = TypeVar("R")
_hasher = PasswordHasher()
HASHING_NICENESS = 10


def _lower_priority() -> None:
    """Hashing yields the CPU to serving: the lane's thread (and the threads argon2 starts
    from it, which inherit it) run at a lower priority, where the OS allows it."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hash_lane = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="argon2", initializer=_lower_priority
)
"""argon2 runs here, one hash at a time per process: never on the event loop (a hash takes
0.1-0.4 s of CPU), and a flood of guesses queues on this lane instead of taking the cores
from the requests being served."""


async def off_the_loop(work: Callable[..., R], *args: Any) -> R:
    """`work(*args)` (a hash or a hash check) on the hashing lane; the caller should hold no
    transaction meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_hash_lane, work, *args)


def configure_password_hashing(settings: Settings) -> None:
    """Sets the argon2id cost of the hashes this process makes from now on
    (`STOCKROOM_PASSWORD_HASH_*`); verifying reads the cost from each hash."""
    global _hasher
    _hasher = PasswordHasher(
        time_cost=settings.password_hash_time_cost,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )


class Role(Enum):
    ADMIN = "admin"
    STOREFRONT = "storefront"


GRANT_ROLES = {"client_credentials": Role.ADMIN, "implicit": Role.STOREFRONT}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the API client and the role its token grants."""

    client_pk: object
    role: Role
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    identifier: str
    expires_at: datetime
    expires_in: int


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error response."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def secret_matches(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_client(
    session: AsyncSession, name: str, client_id: str | None = None, secret: str | None = None
) -> tuple[ApiClient, str]:
    """A new admin-capable API client; returns it with its plain secret (shown only once)."""
    secret = secret or secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=client_id or secrets.token_hex(16), name=name, secret_hash=hash_secret(secret)
    )
    session.add(client)
    await session.flush()
    return client, secret


async def ensure_configured_client(session: AsyncSession, client_id: str, secret: str) -> None:
    """Make the client of STOCKROOM_CLIENT_ID/SECRET exist with exactly that secret."""
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None:
        await create_client(session, "configured", client_id=client_id, secret=secret)
    elif not secret_matches(client.secret_hash, secret):
        client.secret_hash = hash_secret(secret)


async def has_any_client(session: AsyncSession) -> bool:
    return (await session.scalar(select(ApiClient.id).limit(1))) is not None


async def grant_token(
    db: Database,
    grant_type: str | None,
    client_id: str | None,
    client_secret: str | None,
    ttl_seconds: int,
) -> TokenGrant:
    """Issue a token for the `client_credentials` (admin) or `implicit` (storefront) grant.
    The secret is checked off the event loop with no transaction open (on SQLite a write
    transaction holds the database's write lock); only the token's insert writes."""
    if not grant_type:
        raise OAuthError(400, "invalid_request", "grant_type is required")
    role = GRANT_ROLES.get(grant_type)
    if role is None:
        raise OAuthError(
            400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
        )
    if not client_id:
        raise OAuthError(400, "invalid_request", "client_id is required")
    if role is Role.ADMIN and not client_secret:
        raise OAuthError(400, "invalid_request", "client_secret is required")
    async with db.reader() as session:
        client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None:
        raise OAuthError(401, "invalid_client", "unknown client")
    if role is Role.ADMIN and not await off_the_loop(
        secret_matches, client.secret_hash, client_secret or ""
    ):
        raise OAuthError(401, "invalid_client", "client authentication failed")
    token = secrets.token_urlsafe(32)
    expires_at = (utcnow() + timedelta(seconds=ttl_seconds)).replace(microsecond=0)
    async with db.transaction() as session:
        session.add(
            AccessToken(
                token_hash=token_digest(token),
                client_pk=client.id,
                role=role.value,
                expires_at=expires_at,
            )
        )
        await session.execute(delete(AccessToken).where(AccessToken.expires_at < utcnow()))
    return TokenGrant(token, grant_type, expires_at, ttl_seconds)


async def verify_token(session: AsyncSession, token: str) -> Principal | None:
    """The principal of a live token, or None for an unknown or expired one."""
    row = await session.get(AccessToken, token_digest(token))
    if row is None or row.expires_at <= utcnow():
        return None
    return Principal(row.client_pk, Role(row.role), row.expires_at)


class TokenCache:
    """Per-process memo of verified tokens until their expiry: saves a query per request."""

    def __init__(self, max_size: int = 10_000) -> None:
        self._entries: dict[str, Principal] = {}
        self._max_size = max_size

    def get(self, token: str) -> Principal | None:
        principal = self._entries.get(token)
        if principal is not None and principal.expires_at <= utcnow():
            del self._entries[token]
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= self._max_size:
            self._entries.clear()
        self._entries[token] = principal
