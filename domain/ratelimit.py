"""Rate limits on guessing (API.md section 14): after 10 failures within a minute for one
client id (the token endpoint) or one email (customerTokenCreate), further attempts are
refused until the minute's window ends.

Only failures count, per key: a caller whose own attempts succeed is never slowed by others'
failures on another client id or email. The algorithm is the `limits` library's fixed window;
its counters live where every server process sees them: the database (`DatabaseStorage`, one
atomic upsert per failure) or, when STOCKROOM_REDIS_URL is set, Redis.
"""

import itertools
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from models.engine import Database
from models.ratelimit import RateLimitCounter

FAILURES_PER_MINUTE = 10
CLEANUP_EVERY = 100
"""Failures a process records between deletions of expired counters."""


def _upsert(db: Database, key: str, amount: int, now: float, expiry: int) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE ... RETURNING hits: a new window when the old
    one has expired, else one more hit in it."""
    insert = sqlite_insert if db.is_sqlite else postgresql_insert
    statement = insert(RateLimitCounter).values(key=key, hits=amount, expires_at=now + expiry)
    table = RateLimitCounter.__table__.c  # type: ignore[attr-defined]
    expired = table.expires_at <= now
    return statement.on_conflict_do_update(
        index_elements=[table.key],
        set_={
            "hits": case((expired, amount), else_=table.hits + amount),
            "expires_at": case((expired, now + expiry), else_=table.expires_at),
        },
    ).returning(table.hits)


class DatabaseStorage(Storage):
    """A `limits` storage in the rate_limit_counter table (SQLite and PostgreSQL alike): the
    window's count is one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, atomic across
    processes."""

    STORAGE_SCHEME = None

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self._writes = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        async with self.db.transaction() as session:
            hits = await session.scalar(_upsert(self.db, key, amount, now, expiry))
            if next(self._writes) % CLEANUP_EVERY == 0:
                await session.execute(
                    delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now)
                )
        return int(hits or 0)

    async def _live(self, key: str) -> RateLimitCounter | None:
        async with self.db.reader() as session:
            return await session.scalar(
                select(RateLimitCounter).where(
                    RateLimitCounter.key == key, RateLimitCounter.expires_at > time.time()
                )
            )

    async def get(self, key: str) -> int:
        counter = await self._live(key)
        return counter.hits if counter is not None else 0

    async def get_expiry(self, key: str) -> float:
        counter = await self._live(key)
        return counter.expires_at if counter is not None else time.time()

    async def check(self) -> bool:
        return await self.db.ping()

    async def reset(self) -> int | None:
        async with self.db.transaction() as session:
            result = await session.execute(delete(RateLimitCounter))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def clear(self, key: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


@dataclass(frozen=True)
class Refusal:
    retry_after_seconds: int


class FailureLimits:
    """Failed attempts per key (`client:<id>`, `email:<address>`), shared by all processes."""

    def __init__(self, storage: Storage, per_minute: int = FAILURES_PER_MINUTE) -> None:
        self.limiter = FixedWindowRateLimiter(storage)
        self.item: RateLimitItem = RateLimitItemPerMinute(per_minute)

    async def refusal(self, kind: str, key: str) -> Refusal | None:
        """A Refusal while this key has used up its failures for the current window."""
        if await self.limiter.test(self.item, kind, key):
            return None
        reset_at, _ = await self.limiter.get_window_stats(self.item, kind, key)
        return Refusal(max(1, int(reset_at - time.time() + 0.999)))

    async def failed(self, kind: str, key: str) -> None:
        await self.limiter.hit(self.item, kind, key)


def failure_limits(db: Database, redis_url: str | None) -> FailureLimits:
    """Counters in Redis when a URL is given (`redis://host:port/db`), else in the database."""
    if redis_url:
        return FailureLimits(storage_from_string(f"async+{redis_url}"))
    return FailureLimits(DatabaseStorage(db))
