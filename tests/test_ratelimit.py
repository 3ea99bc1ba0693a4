"""Rate limits on guessing (API.md section 14): 10 failures a minute per client id at the
token endpoint (429 + Retry-After) and per email at customerTokenCreate (RATE_LIMITED),
shared by every server process (database or Redis), never touching another key."""

import asyncio
import socket
import uuid

import httpx
import pytest
from limits.storage import storage_from_string

from domain import auth
from domain.ratelimit import DatabaseStorage, FailureLimits
from models.engine import Database
from models.settings import Settings
from tests.acceptance_helpers import Shop
from tests.conftest import Api, running_server
from tests.test_transport_http import CREDENTIALS

SIGN_IN = """mutation($email: String!, $password: String!) {
  customerTokenCreate(email: $email, password: $password) { token errors { code field } } }"""
REDIS_URL = "redis://127.0.0.1:6379/15"


def token_request(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_token_endpoint_refuses_a_guessed_client_across_processes(db_url: str) -> None:
    """Two server processes, a new connection per request (either process answers): the 11th
    wrong secret is 429 with Retry-After; so is the right one for that client for now; another
    client's success is untouched."""
    other_id, other_secret = "other-client", "other-secret"
    async with running_server(db_url, workers=2, **CREDENTIALS) as server:
        db = Database(db_url)
        try:
            async with db.transaction() as session:
                await auth.ensure_configured_client(session, other_id, other_secret)
        finally:
            await db.dispose()
        url = f"{server.base}/oauth/access_token"
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=fresh) as client:
            client_id = CREDENTIALS["STOCKROOM_CLIENT_ID"]
            for _ in range(10):
                wrong = await client.post(url, data=token_request(client_id, "wrong"))
                assert wrong.status_code == 401
            refused = await client.post(url, data=token_request(client_id, "wrong"))
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert refused.json()["error"] == "temporarily_unavailable"
            right = CREDENTIALS["STOCKROOM_CLIENT_SECRET"]
            assert (await client.post(url, data=token_request(client_id, right))).status_code == 429
            ok = await client.post(url, data=token_request(other_id, other_secret))
            assert ok.status_code == 200, ok.text


async def test_customer_sign_in_is_limited_per_email(api: Api) -> None:
    shop = Shop(api)
    await shop.register("guessed@example.com", "Guessed", "right-password-1")
    await shop.register("bystander@example.com", "Bystander", "right-password-2")

    async def sign_in(email: str, password: str) -> dict:
        body = await api.storefront(SIGN_IN, {"email": email, "password": password})
        return body["customerTokenCreate"]

    for _ in range(10):
        wrong = await sign_in("guessed@example.com", "wrong-password")
        assert [e["code"] for e in wrong["errors"]] == ["INVALID_CREDENTIALS"]
    limited = await sign_in("Guessed@Example.com", "wrong-password")
    assert limited["errors"] == [{"code": "RATE_LIMITED", "field": ["email"]}]
    assert limited["token"] is None
    still = await sign_in("guessed@example.com", "right-password-1")
    assert [e["code"] for e in still["errors"]] == ["RATE_LIMITED"]
    bystander = await sign_in("bystander@example.com", "right-password-2")
    assert bystander["errors"] == [] and bystander["token"]


async def test_database_counters_are_atomic_and_shared(db: Database, settings: Settings) -> None:
    """Two Database objects (as two processes have) count the same failures; 30 concurrent
    failures count 30 (one atomic upsert each)."""
    other = Database(settings.database_url)
    try:
        first = FailureLimits(DatabaseStorage(db))
        second = FailureLimits(DatabaseStorage(other))
        await asyncio.gather(*(first.failed("client", "c1") for _ in range(15)))
        await asyncio.gather(*(second.failed("client", "c1") for _ in range(15)))
        assert await first.limiter.storage.get(first.item.key_for("client", "c1")) == 30
        assert (await second.refusal("client", "c1")) is not None
        assert await first.refusal("client", "c2") is None
    finally:
        await other.dispose()


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
async def test_redis_counters() -> None:
    """STOCKROOM_REDIS_URL: the same limits with the counters in Redis."""
    key = uuid.uuid4().hex
    limits = FailureLimits(storage_from_string(f"async+{REDIS_URL}"))
    for _ in range(10):
        assert await limits.refusal("email", key) is None
        await limits.failed("email", key)
    refusal = await limits.refusal("email", key)
    assert refusal is not None and 1 <= refusal.retry_after_seconds <= 60
    assert await limits.refusal("email", key + "-other") is None
    await limits.limiter.storage.clear(limits.item.key_for("email", key))
