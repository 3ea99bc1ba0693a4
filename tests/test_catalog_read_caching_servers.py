"""Caches against real server processes sharing one database: a change committed through one
process is never hidden by another's cached answer or currency table; a query persisted
through one runs by hash on the other; Apollo Client's persisted-queries link (from npm) works
with hashed queries over GET."""

import asyncio
import hashlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, Template, running_server

pytestmark = pytest.mark.slow  # real server processes

LISTING = """query($first: Int) { products(first: $first) { edges { node {
  sku name stockStatus price { withTax { amount currency } } categories { name } } } } }"""
APOLLO_DIR = ROOT / "bench" / "apollo"


class Caller:
    def __init__(self, client: httpx.AsyncClient, base: str, token: str) -> None:
        self.client, self.base, self.token = client, base, token

    async def get(self, query: str, variables: dict[str, Any], **headers: str) -> Any:
        response = await self.client.get(
            f"{self.base}/graphql",
            params={"query": query, "variables": json.dumps(variables)},
            headers={"Authorization": f"Bearer {self.token}", **headers},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, body: dict[str, Any]) -> Any:
        response = await self.client.post(
            f"{self.base}/graphql", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        return response.json()

    async def mutate(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.post({"query": query, "variables": variables or {}})
        assert "errors" not in body, body
        payload = next(iter(body["data"].values()))
        assert not payload.get("errors"), payload
        return payload


def _node(answer: Any) -> dict[str, Any]:
    return dict(answer["data"]["products"]["edges"][0]["node"])


@asynccontextmanager
async def admin_and_reader(db_url: str, template: Template) -> AsyncIterator[tuple[Caller, Caller]]:
    """Two server processes on one database: an admin writing through the first, a storefront
    reading through the second."""
    async with (
        running_server(db_url) as one,
        running_server(db_url) as two,
        httpx.AsyncClient(timeout=30) as client,
    ):
        yield (
            Caller(client, one.base, template.admin_token),
            Caller(client, two.base, template.storefront_token),
        )


async def test_a_change_through_one_process_shows_at_once_on_the_other(
    db_url: str, template: Template
) -> None:
    async with admin_and_reader(db_url, template) as (admin, reader):
        made = await admin.mutate(
            'mutation { productCreate(input: {sku: "P2", name: "Two", price: 1000, status: LIVE, '
            "manageStock: true, stock: 10}) { product { id } errors { code } } }"
        )
        pid = made["product"]["id"]
        await admin.mutate(
            'mutation { currencyCreate(input: {code: "EUR", name: "Euro", exchangeRate: "0.5", '
            'format: "€{price}"}) { errors { code } } }'
        )
        currencies = (await admin.post({"query": "{ currencies { id code } }"}))["data"]
        euro = next(c["id"] for c in currencies["currencies"] if c["code"] == "EUR")
        first = await reader.get(LISTING, {"first": 1}, **{"X-Currency": "EUR"})
        assert first == await reader.get(LISTING, {"first": 1}, **{"X-Currency": "EUR"})
        assert _node(first)["price"]["withTax"] == {"amount": 500, "currency": "EUR"}

        steps: list[tuple[str, dict[str, Any], str, Any]] = [
            (
                'mutation($id: ID!) { productUpdate(id: $id, input: {name: "Renamed"}) '
                "{ errors { code } } }",
                {"id": pid},
                "name",
                "Renamed",
            ),
            (
                "mutation($id: ID!) { stockTransactionCreate(productId: $id, input: "
                "{action: DECREMENT, quantity: 10}) { errors { code } } }",
                {"id": pid},
                "stockStatus",
                "OUT_OF_STOCK",
            ),
            (
                'mutation($id: ID!) { currencyUpdate(id: $id, input: {exchangeRate: "2"}) '
                "{ errors { code } } }",
                {"id": euro},
                "price",
                {"withTax": {"amount": 2000, "currency": "EUR"}},
            ),
        ]
        for mutation, variables, field, expected in steps:
            await admin.mutate(mutation, variables)
            answer = await reader.get(LISTING, {"first": 1}, **{"X-Currency": "EUR"})
            assert _node(answer)[field] == expected, field


async def test_every_rename_through_one_process_shows_at_once_on_the_other(
    db_url: str, template: Template
) -> None:
    """Twenty times: the other process's answer is cached, a write commits through the first,
    and the very next read through the other shows it (on PostgreSQL the stamps are pushed:
    the writer answers only once the other process holds the new ones)."""
    async with admin_and_reader(db_url, template) as (admin, reader):
        made = await admin.mutate(
            'mutation { productCreate(input: {sku: "R", name: "R0", price: 100, status: LIVE}) '
            "{ product { id } errors { code } } }"
        )
        rename = (
            "mutation($id: ID!, $name: String!) { productUpdate(id: $id, input: {name: $name}) "
            "{ errors { code } } }"
        )
        for i in range(1, 21):
            await reader.get(LISTING, {"first": 1})  # kept in the other's cache
            await admin.mutate(rename, {"id": made["product"]["id"], "name": f"R{i}"})
            assert _node(await reader.get(LISTING, {"first": 1}))["name"] == f"R{i}"


async def test_a_query_persisted_through_one_process_runs_by_hash_on_the_other(
    db_url: str, template: Template
) -> None:
    query = "query { currencies { code } }"
    extensions = {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}
    }
    async with (
        running_server(db_url) as one,
        running_server(db_url) as two,
        httpx.AsyncClient(timeout=30) as client,
    ):
        first = Caller(client, one.base, template.storefront_token)
        second = Caller(client, two.base, template.storefront_token)
        unknown = await second.post({"extensions": extensions})
        assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = await first.post({"query": query, "extensions": extensions})
        assert registered["data"]["currencies"] == [{"code": "USD"}]
        response = await client.get(
            f"{two.base}/graphql",
            params={"extensions": json.dumps(extensions)},
            headers={"Authorization": f"Bearer {template.storefront_token}"},
        )
        assert response.json() == registered


def _apollo_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (APOLLO_DIR / "node_modules" / "@apollo" / "client").exists():
        return "run `npm ci` in bench/apollo for Apollo Client (.ci/run does)"
    return None


@pytest.mark.skipif(_apollo_ready() is not None, reason=_apollo_ready() or "")
async def test_apollo_persisted_queries_link_over_get(db_url: str, template: Template) -> None:
    async with running_server(db_url) as server, httpx.AsyncClient(timeout=30) as client:
        admin = Caller(client, server.base, template.admin_token)
        await admin.mutate(
            'mutation { productCreate(input: {sku: "AP-1", name: "Apollo", price: 1250, '
            "status: LIVE}) { errors { code } } }"
        )
        process = await asyncio.create_subprocess_exec(
            "node",
            str(Path("bench") / "apollo" / "apq.mjs"),
            server.base,
            template.storefront_token,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    seen = json.loads(out)
    for data in seen["results"]:
        assert data["products"]["edges"][0]["node"]["sku"] == "AP-1"
        assert data["products"]["edges"][0]["node"]["price"]["withTax"]["formatted"] == "$12.50"
    requests = [(r["method"], r["sentQuery"]) for r in seen["requests"]]
    # first app: hash only over GET (unknown), then hash and query (registers);
    # second app: hash only over GET, answered
    assert requests[0] == ("GET", False)
    assert requests[1][1] is True
    assert requests[2:] == [("GET", False)]
    assert seen["requests"][2]["status"] == 200
    assert seen["requests"][2]["etag"]
    assert seen["requests"][2]["cacheControl"].startswith("public")
