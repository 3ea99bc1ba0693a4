"""The token endpoint, bearer-token checks and role boundaries (API.md section 2)."""

import time
from datetime import timedelta

import httpx
from sqlalchemy import select

from domain.auth import configure_password_hashing, hash_secret, secret_matches, token_digest
from models.auth import AccessToken, ApiClient
from models.base import utcnow
from models.engine import Database
from models.settings import Settings
from tests.conftest import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, Api

CREATE_TAX_BAND = """
mutation($input: TaxBandInput!) {
  taxBandCreate(input: $input) { taxBand { id name rate } errors { code field message } }
}"""


async def _token(http: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await http.post("/oauth/access_token", data=fields)


async def test_client_credentials_grant_gives_an_admin_token(http: httpx.AsyncClient) -> None:
    response = await _token(
        http,
        grant_type="client_credentials",
        client_id=ADMIN_CLIENT_ID,
        client_secret=ADMIN_CLIENT_SECRET,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["identifier"] == "client_credentials"
    assert body["expires_in"] == 3600
    assert abs(body["expires"] - (time.time() + 3600)) < 60
    result = await http.post(
        "/graphql",
        json={"query": CREATE_TAX_BAND, "variables": {"input": {"name": "VAT", "rate": "20"}}},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert result.json()["data"]["taxBandCreate"]["taxBand"]["name"] == "VAT"


async def test_implicit_grant_gives_a_storefront_token_that_cannot_write(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/oauth/access_token", json={"grant_type": "implicit", "client_id": ADMIN_CLIENT_ID}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["identifier"] == "implicit"
    result = await http.post(
        "/graphql",
        json={"query": CREATE_TAX_BAND, "variables": {"input": {"name": "VAT", "rate": "20"}}},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    payload = result.json()
    assert payload["data"]["taxBandCreate"] is None
    assert payload["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_http_basic_client_authentication(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/access_token",
        data={"grant_type": "client_credentials"},
        auth=(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
    )
    assert response.status_code == 200
    assert response.json()["identifier"] == "client_credentials"


async def test_token_endpoint_errors_follow_rfc_6749(http: httpx.AsyncClient) -> None:
    wrong_secret = await _token(
        http, grant_type="client_credentials", client_id=ADMIN_CLIENT_ID, client_secret="nope"
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    assert wrong_secret.json()["error_description"]

    unknown = await _token(http, grant_type="implicit", client_id="nobody")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")

    unsupported = await _token(http, grant_type="password", client_id=ADMIN_CLIENT_ID)
    assert (unsupported.status_code, unsupported.json()["error"]) == (
        400,
        "unsupported_grant_type",
    )

    no_grant = await _token(http, client_id=ADMIN_CLIENT_ID)
    assert (no_grant.status_code, no_grant.json()["error"]) == (400, "invalid_request")

    no_secret = await _token(http, grant_type="client_credentials", client_id=ADMIN_CLIENT_ID)
    assert (no_secret.status_code, no_secret.json()["error"]) == (400, "invalid_request")

    bad_json = await http.post(
        "/oauth/access_token", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (bad_json.status_code, bad_json.json()["error"]) == (400, "invalid_request")


async def test_failed_token_requests_store_nothing(http: httpx.AsyncClient, db: Database) -> None:
    async with db.reader() as session:
        before = len((await session.scalars(select(AccessToken))).all())
    await _token(
        http, grant_type="client_credentials", client_id=ADMIN_CLIENT_ID, client_secret="x"
    )
    async with db.reader() as session:
        assert len((await session.scalars(select(AccessToken))).all()) == before


async def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_missing_unknown_and_malformed_tokens_get_401(api: Api) -> None:
    query = "{ currencies { code } }"
    await _assert_unauthenticated(await api.post(query, as_=None))
    await _assert_unauthenticated(await api.post(query, as_="not-a-real-token"))
    await _assert_unauthenticated(
        await api.post(query, as_=None, headers={"Authorization": "Basic abc"})
    )


async def test_expired_token_gets_401(api: Api, db: Database) -> None:
    async with db.transaction() as session:
        client = await session.scalar(
            select(ApiClient).where(ApiClient.client_id == ADMIN_CLIENT_ID)
        )
        assert client is not None
        session.add(
            AccessToken(
                token_hash=token_digest("expired-token"),
                client_pk=client.id,
                role="admin",
                expires_at=utcnow() - timedelta(seconds=1),
            )
        )
    await _assert_unauthenticated(await api.post("{ currencies { code } }", as_="expired-token"))


async def test_unknown_customer_token_gets_401(api: Api) -> None:
    response = await api.post(
        "{ currencies { code } }", as_="storefront", headers={"X-Customer-Token": "bogus"}
    )
    await _assert_unauthenticated(response)


async def test_tokens_work_across_app_instances(api: Api, settings: object) -> None:
    """Tokens live in the database, so another process (here: another app) accepts them."""
    from server import create_app

    other = create_app(settings)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ currencies { code } }"},
            headers={"Authorization": f"Bearer {api.tokens['storefront']}"},
        )
    await other.state.db.dispose()
    assert response.json()["data"]["currencies"][0]["code"] == "USD"


async def test_storefront_gets_forbidden_for_every_admin_mutation_so_far(api: Api) -> None:
    mutations = {
        "taxBandCreate": 'taxBandCreate(input: {name: "X", rate: "1"}) { errors { code } }',
        "currencyCreate": 'currencyCreate(input: {code: "EUR"}) { errors { code } }',
        "currencyDelete": 'currencyDelete(id: "x") { errors { code } }',
        "taxBandDelete": 'taxBandDelete(id: "x") { errors { code } }',
    }
    for name, selection in mutations.items():
        body = await api.gql(f"mutation {{ {selection} }}", as_="storefront")
        assert body["data"] == {name: None}, name
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", name


def test_production_keeps_a_strong_password_hash() -> None:
    """The suite lowers the argon2id cost through STOCKROOM_PASSWORD_HASH_* (conftest); the
    defaults stay argon2-cffi's (RFC 9106 low-memory: 64 MiB, 3 passes, 4 lanes), and a hash
    made at one cost verifies after the cost changed."""
    configure_password_hashing(Settings())
    cheap = hash_secret("s3cret")
    assert cheap.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # the suite's cost
    try:
        configure_password_hashing(Settings.model_construct())  # the defaults, no environment
        strong = hash_secret("s3cret")
        assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert secret_matches(cheap, "s3cret") and secret_matches(strong, "s3cret")
        assert not secret_matches(strong, "s3cre7")
    finally:
        configure_password_hashing(Settings())
