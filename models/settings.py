"""Settings from the environment (and an optional `.env` file), per API.md section 1."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STOCKROOM_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./stockroom.db"
    host: str = "127.0.0.1"
    port: int = 8000
    client_id: str | None = None
    client_secret: str | None = None
    currency: str = "USD"
    token_ttl_seconds: int = 3600
    customer_token_ttl_seconds: int = 7 * 24 * 3600
    # argon2id cost of new client secrets and customer passwords: argon2-cffi's defaults
    # (RFC 9106's low-memory profile, ~0.1 s a hash). Only the test suite lowers them; a hash
    # made at another cost still verifies, since each hash records its own.
    password_hash_time_cost: int = Field(3, ge=1)
    password_hash_memory_kib: int = Field(64 * 1024, ge=8)
    password_hash_parallelism: int = Field(4, ge=1)
    low_stock_threshold: int = 5
    payment_pending_timeout_seconds: int = 600
    """A PENDING payment older than this lost its gateway answer; the sweep resolves it."""
    payment_sweep_interval_seconds: int = 60
    card_gateway_dir: str | None = None
    """Where the test card gateway keeps its answers (default: <temp dir>/stockroom-card)."""
    cart_ttl_days: int = 7
    reservation_seconds: int = Field(0, ge=0)
    """Checkout and orderCreate hold the order's managed stock this long (0: off)."""
    unpaid_order_expiry_seconds: int = Field(0, ge=0)
    """An order still UNPAID this long after it was placed is cancelled (0: off)."""
    reservation_sweep_interval_seconds: float = Field(0.5, gt=0)
    """How often each process looks for holds that are due and unpaid orders to expire."""
    log_level: str = "INFO"
    cors_origins: str = "*"
    """Browser origins allowed to call the API (comma-separated; `*` any, empty none). Tokens
    travel in headers, never cookies, so any origin is safe by default."""
    max_query_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_query_cost: int = Field(1000, ge=1)
    """A document costing more is refused before it runs (QUERY_TOO_COMPLEX; schema/cost.py)."""
    redis_url: str | None = None
    """Rate-limit counters in Redis (redis://host:port/db) instead of the database."""
    max_batch_operations: int = Field(10, ge=1)
    """Operations one batched request (a JSON array body) may hold."""
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    """A request body (or WebSocket message) larger than this is refused with 413."""
    cache_max_age: int = Field(60, ge=0)
    """max-age of public answers (Cache-Control: public): storefront catalogue reads."""
    response_cache_size: int = Field(1000, ge=0)
    """Catalogue answers each server process keeps whole (0: none)."""
    sqlite_query_slots: int = Field(2, ge=1)
    """SQLite: queries (not mutations) one server process runs at once; the rest wait."""
    stamp_push: bool = True
    """PostgreSQL: version stamps pushed to every process by LISTEN/NOTIFY, each write waiting
    until all have them (models/versions.py); off: one stamp query per request (for poolers
    that cannot LISTEN, such as PgBouncer in transaction mode)."""
    compiled_reads: bool = True
    """Catalogue reads run by a plan compiled per document (schema/execution.py) instead of
    graphql-core's generic executor; the same answers (off: for comparison)."""
    persisted_queries_max: int = Field(10_000, ge=1)
    """Persisted queries the database keeps; registering one more removes the oldest (a
    client that then sends only its hash gets PersistedQueryNotFound and registers again)."""
    max_subscriptions_per_token: int = Field(100, ge=1)
    """Subscriptions one access token may have running at once on one server process (over
    all its WebSocket connections); one more is refused with RATE_LIMITED."""
    workers: int = Field(1, ge=1)
    """Server processes (`--workers`); each learns how many there are from this."""
    database_max_connections: int = Field(20, ge=2)
    """PostgreSQL connections the whole server may hold, all its processes together: each
    process keeps a pool of an equal share less two (its version-stamp and event-listener
    connections), at least 2; a request finding every pooled connection busy waits for one."""
    webhook_backoff_base_seconds: float = Field(5.0, gt=0)
    """The first retry of a failed webhook delivery waits about this long; each next one twice
    as long (with a jitter of +-20 %), up to `webhook_backoff_max_seconds`."""
    webhook_backoff_max_seconds: float = Field(3600.0, gt=0)
    webhook_retry_window_seconds: float = Field(25 * 3600.0, gt=0)
    """A delivery still failing this long after it was made (or manually retried) is FAILED."""
    webhook_poll_interval_seconds: float = Field(1.0, gt=0)
    """How often an idle delivery worker looks for events and due deliveries (a commit in
    the same process wakes it sooner: see `webhook_gather_seconds`)."""
    webhook_gather_seconds: float = Field(0.25, ge=0)
    """A worker woken by a commit waits this long before its round, so that the events of
    the commits made meanwhile go out in that one round (a round costs about as much CPU as
    a small mutation; one per commit doubled a checkout flow's cost)."""
    webhook_retention_days: float = Field(7.0, ge=0)
    """SUCCEEDED deliveries (and the events no delivery needs) older than this are pruned."""
    sql_count_header: bool = False
    """Add X-SQL-Statements (statements the request ran) to responses: for benchmarks."""

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def pool_size(self) -> int:
        """Pooled connections of one server process (see `database_max_connections`)."""
        return max(2, self.database_max_connections // self.workers - 2)


@lru_cache
def get_settings() -> Settings:
    return Settings()
