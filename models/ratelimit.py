"""Rate-limit counters shared by every server process (domain/ratelimit.py)."""

from sqlmodel import Field, SQLModel


class RateLimitCounter(SQLModel, table=True):
    """One fixed window of one limit: `hits` until `expires_at` (unix seconds)."""

    __tablename__ = "rate_limit_counter"

    key: str = Field(max_length=300, primary_key=True)
    hits: int
    expires_at: float = Field(index=True)
