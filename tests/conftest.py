"""Test fixtures: every test gets a fresh, migrated database on SQLite and on PostgreSQL.

A template database is migrated once per session (a SQLite file, a PostgreSQL template
database); each test copies it, so a test costs milliseconds, not a migration. The template
holds an admin API client and two long-lived tokens (admin and storefront).
"""

import asyncio
import os
import shutil
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from bench.harness import ROOT, LiveServer, running_server  # noqa: F401 (fixtures' users)
from domain.auth import grant_token
from models.engine import Database
from models.settings import Settings
from server import create_app, prepare_database

PG_URL = os.environ.get(
    "STOCKROOM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("STOCKROOM_REQUIRE_POSTGRES") == "1"
ADMIN_CLIENT_ID = "test-admin"
ADMIN_CLIENT_SECRET = "test-admin-secret"
TOKEN_TTL = 10 * 365 * 24 * 3600
T = TypeVar("T")

# A cheap argon2id for the suite's many client secrets and customer passwords (a real
# server started by a test inherits it): at the production cost each hash takes 0.1-0.4 s
# here. tests/test_auth.py checks that the production default stays strong.
os.environ.setdefault("STOCKROOM_PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("STOCKROOM_PASSWORD_HASH_MEMORY_KIB", "1024")
os.environ.setdefault("STOCKROOM_PASSWORD_HASH_PARALLELISM", "1")


@dataclass(frozen=True)
class Template:
    url: str
    admin_token: str
    storefront_token: str


def _plain_pg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _pg_admin(*statements: str) -> None:
    conn = await asyncpg.connect(_plain_pg_dsn(PG_URL), timeout=5)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_answers() -> str | None:
    """None when the test PostgreSQL server answers, else why not."""
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"no PostgreSQL at {PG_URL} ({exc.__class__.__name__}: {exc})"
    return None


async def _build_template(url: str) -> Template:
    settings = Settings(
        database_url=url, client_id=ADMIN_CLIENT_ID, client_secret=ADMIN_CLIENT_SECRET
    )
    await prepare_database(settings)
    db = Database(url)
    try:
        admin = await grant_token(
            db, "client_credentials", ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, TOKEN_TTL
        )
        storefront = await grant_token(db, "implicit", ADMIN_CLIENT_ID, None, TOKEN_TTL)
    finally:
        await db.dispose()
    return Template(url, admin.access_token, storefront.access_token)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist with `--dist loadgroup` (as `make test` runs), the tests marked
    `slow` (real server processes, some with 4 workers) all run on one worker, one after the
    other: two at once would crowd the 2 cores of CI, and slow their races to a crawl."""
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("slow"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("template") / "template.db"
    return asyncio.run(_build_template(f"sqlite+aiosqlite:///{path}"))


class PostgresCopies:
    """Fresh copies of a template database, made ahead of the tests and dropped behind them
    on a thread of its own, so that no test waits for CREATE or DROP DATABASE (each costs
    from 0.1 s to over 0.5 s of fsync on a busy machine)."""

    AHEAD = 2

    def __init__(self, template: str) -> None:
        self.template = template
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._drops: list[Future[None]] = []
        self._ready = deque(self._run(self._create()) for _ in range(self.AHEAD))

    def _run(self, job: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(job, self._loop)

    async def _create(self) -> str:
        # WAL_LOG copies through the WAL; FILE_COPY would force two checkpoints per copy.
        # Commits skip the WAL flush (synchronous_commit = off): the same transactions, locks
        # and isolation, only not durable across a crash of the PostgreSQL server itself,
        # which no test needs; it saves about a fifth of a PostgreSQL test's time.
        name = f"sr_{uuid.uuid4().hex[:12]}"
        await _pg_admin(
            f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY WAL_LOG',
            f'ALTER DATABASE "{name}" SET synchronous_commit = off',
        )
        return name

    def take(self) -> str:
        """The name of a fresh copy (and another one is started)."""
        name = self._ready.popleft().result(timeout=120)
        self._ready.append(self._run(self._create()))
        return name

    def drop(self, name: str) -> None:
        self._drops.append(self._run(_drop_database(name)))

    def close(self) -> None:
        """Drops the unused copies, waits for every drop (raising a failed one's error)."""
        for ready in self._ready:
            self.drop(ready.result(timeout=120))
        try:
            for drop in self._drops:
                drop.result(timeout=120)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


async def _drop_database(name: str) -> None:
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[Template]:
    reason = _postgres_answers()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"STOCKROOM_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    name = f"sr_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield asyncio.run(
            _build_template(make_url(PG_URL).set(database=name).render_as_string(False))
        )
    finally:
        asyncio.run(_drop_database(name))


@pytest.fixture(scope="session")
def postgres_copies(postgres_template: Template) -> Iterator[PostgresCopies]:
    copies = PostgresCopies(str(make_url(postgres_template.url).database))
    yield copies
    copies.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def template(backend: str, request: pytest.FixtureRequest) -> Template:
    return request.getfixturevalue(f"{backend}_template")


@pytest.fixture
def db_url(
    template: Template, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh copy of the migrated template database for this test."""
    if backend == "sqlite":
        source = make_url(template.url).database
        assert source
        target = tmp_path / "stockroom.db"
        shutil.copyfile(source, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    copies: PostgresCopies = request.getfixturevalue("postgres_copies")
    name = copies.take()
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(False)
    finally:
        copies.drop(name)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, log_level="WARNING")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """Direct database access for setting up and checking state."""
    database = Database(settings.database_url)
    yield database
    await database.dispose()


class Api:
    """GraphQL over the app's real HTTP interface (in-process ASGI), with the template tokens."""

    def __init__(self, http: httpx.AsyncClient, template: Template) -> None:
        self.http = http
        self.tokens = {"admin": template.admin_token, "storefront": template.storefront_token}

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: str | None = "admin",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if as_ is not None:
            all_headers["Authorization"] = f"Bearer {self.tokens.get(as_, as_)}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )

    async def gql(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The whole response body (data and errors)."""
        return (await self.post(query, variables, **kw)).json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The data of a response that must have no errors."""
        body = await self.gql(query, variables, **kw)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def admin(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        return await self.data(query, variables, as_="admin", **kw)

    async def storefront(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> Any:
        return await self.data(query, variables, as_="storefront", **kw)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    yield application
    await application.state.db.dispose()


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient, template: Template) -> Api:
    return Api(http, template)


# --- a real server process: see bench.harness.running_server -----------------------------
