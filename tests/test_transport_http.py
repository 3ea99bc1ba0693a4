"""GraphQL over HTTP against a real server: media types and status codes, batching, GET
mutations, the graphql-http audit suite (API.md sections 1 and 14)."""

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, running_server

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"])]
CREDENTIALS = {"STOCKROOM_CLIENT_ID": "http-client", "STOCKROOM_CLIENT_SECRET": "http-secret"}
AUDIT_DIR = ROOT / "tools" / "http-audit"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


async def admin_headers(client: httpx.AsyncClient, base: str) -> dict[str, str]:
    response = await client.post(
        f"{base}/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": CREDENTIALS["STOCKROOM_CLIENT_ID"],
            "client_secret": CREDENTIALS["STOCKROOM_CLIENT_SECRET"],
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_media_types_and_status_codes(db_url: str) -> None:
    async with running_server(db_url, **CREDENTIALS) as server, httpx.AsyncClient() as client:
        url = f"{server.base}/graphql"
        headers = await admin_headers(client, server.base)
        modern = {**headers, "Accept": GRAPHQL_RESPONSE_JSON}

        ok = await client.post(url, json={"query": "{ taxBands { name } }"}, headers=modern)
        assert ok.status_code == 200
        assert ok.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        assert ok.json()["data"] == {"taxBands": []}

        for bad in ("{ taxBands { name }", "{ noSuchField }"):
            failed = await client.post(url, json={"query": bad}, headers=modern)
            assert failed.status_code == 400, failed.text
            assert "data" not in failed.json() and failed.json()["errors"]
            legacy = await client.post(url, json={"query": bad}, headers=headers)
            assert legacy.status_code == 200
            assert legacy.headers["content-type"].startswith("application/json")
            assert "data" not in legacy.json()

        coercion = await client.post(
            url,
            json={
                "query": "query($n: Int) { products(first: $n) { totalCount } }",
                "variables": {"n": "many"},
            },
            headers=modern,
        )
        assert coercion.status_code == 400 and "data" not in coercion.json()

        preferred = await client.post(
            url,
            json={"query": "{ taxBands { name } }"},
            headers={**headers, "Accept": f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5"},
        )
        assert preferred.headers["content-type"].startswith("application/json")

        not_json = await client.post(
            url, content=b"{", headers={**modern, "Content-Type": "application/json"}
        )
        assert not_json.status_code == 400
        assert not_json.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
        assert not_json.json()["errors"][0]["message"]

        no_token = await client.post(url, json={"query": "{ taxBands { name } }"})
        assert no_token.status_code == 401
        assert no_token.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_mutation_over_get_is_405_and_changes_nothing(db_url: str) -> None:
    async with running_server(db_url, **CREDENTIALS) as server, httpx.AsyncClient() as client:
        url = f"{server.base}/graphql"
        headers = await admin_headers(client, server.base)
        mutation = (
            'mutation { taxBandCreate(input: {name: "VAT", rate: "20"}) { errors { code } } }'
        )
        refused = await client.get(url, params={"query": mutation}, headers=headers)
        assert refused.status_code == 405
        assert refused.headers["allow"] == "POST"
        assert refused.json()["errors"][0]["message"]
        listed = await client.get(url, params={"query": "{ taxBands { name } }"}, headers=headers)
        assert listed.json()["data"] == {"taxBands": []}


async def test_batched_operations_run_in_order(db_url: str) -> None:
    """Apollo's BatchHttpLink: a JSON array of operations gets an array of answers, in order,
    each seeing the writes before it; more than the maximum or an empty array is a 400."""
    async with (
        running_server(db_url, STOCKROOM_MAX_BATCH_OPERATIONS="3", **CREDENTIALS) as server,
        httpx.AsyncClient() as client,
    ):
        url = f"{server.base}/graphql"
        headers = await admin_headers(client, server.base)
        create = 'mutation { taxBandCreate(input: {name: "VAT", rate: "20"}) { taxBand { name } } }'
        batch = [
            {"query": create},
            {"query": "query Bands { taxBands { name } }", "operationName": "Bands"},
            {"query": "{ nope }"},
        ]
        answer = await client.post(url, json=batch, headers=headers)
        assert answer.status_code == 200
        first, second, third = answer.json()
        assert first["data"]["taxBandCreate"]["taxBand"] == {"name": "VAT"}
        assert second["data"] == {"taxBands": [{"name": "VAT"}]}
        assert "data" not in third and third["errors"]

        too_many = await client.post(
            url, json=[{"query": "{ taxBands { name } }"}] * 4, headers=headers
        )
        assert too_many.status_code == 400
        assert too_many.headers["content-type"].startswith("application/json")
        empty = await client.post(url, json=[], headers=headers)
        assert empty.status_code == 400
        listed = await client.post(url, json={"query": "{ taxBands { name } }"}, headers=headers)
        assert listed.json()["data"] == {"taxBands": [{"name": "VAT"}]}


def _audit_tools() -> Path:
    """tools/http-audit with its node_modules (`npm ci` from the lockfile when missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed (apt-get install nodejs npm): no graphql-http audit")
    if not (AUDIT_DIR / "node_modules" / "graphql-http").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=AUDIT_DIR,
            check=True,
            capture_output=True,
        )
    return AUDIT_DIR


async def test_graphql_http_audit_passes_every_check(db_url: str) -> None:
    """graphql-http's server audit (the GraphQL-over-HTTP spec's conformance suite): all of
    its MUST and SHOULD checks pass (was 53/61: the graphql-response+json ones warned)."""
    tools = _audit_tools()
    async with running_server(db_url, **CREDENTIALS) as server, httpx.AsyncClient() as client:
        token = (await admin_headers(client, server.base))["Authorization"].split()[1]
        audit = await asyncio.create_subprocess_exec(
            "node",
            "audit.mjs",
            f"{server.base}/graphql",
            token,
            cwd=tools,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(audit.communicate(), timeout=120)
    assert audit.returncode == 0, stderr.decode()
    summary = json.loads(stdout)
    failing = [r for r in summary["results"] if r["status"] != "ok"]
    assert failing == [], failing
    assert summary["ok"] == summary["total"] >= 61
