"""Operations against a real server: /metrics (one process and several) and the JSON
access-log line of every request."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import running_server
from tests.test_transport_http import CREDENTIALS, admin_headers

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"])]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_requests_errors_and_latency_by_operation(db_url: str) -> None:
    async with running_server(db_url, **CREDENTIALS) as server, httpx.AsyncClient() as client:
        url = f"{server.base}/graphql"
        headers = await admin_headers(client, server.base)
        for _ in range(3):
            await client.post(
                url, json={"query": "query Bands { taxBands { name } }"}, headers=headers
            )
        await client.post(url, json={"query": "query Broken { nope }"}, headers=headers)
        await client.post(url, json={"query": "{ taxBands { name } }"})  # no token: 401

        scraped = await client.get(f"{server.base}/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        found = samples(scraped.text)

    assert value(found, "stockroom_graphql_operations_total", operation="Bands", type="query") == 3
    assert (
        value(found, "stockroom_graphql_errors_total", operation="Broken", code="INVALID_QUERY")
        == 1
    )
    assert (
        value(found, "stockroom_graphql_operation_duration_seconds_count", operation="Bands") == 3
    )
    assert value(found, "stockroom_http_requests_total", route="/graphql", status="200") == 4
    assert value(found, "stockroom_http_requests_total", route="/graphql", status="401") == 1
    assert value(found, "stockroom_http_request_duration_seconds_count", route="/graphql") == 5
    assert value(found, "stockroom_db_pool_size", engine="read") >= 1
    assert ("stockroom_db_pool_checked_out", (("engine", "read"),)) in found


async def test_cached_answers_count_their_operations_but_time_none(db_url: str) -> None:
    """A storefront GET answered from the response cache ran nothing: it counts as a request
    and as its operation, but adds no operation duration (only the first, a miss, ran)."""
    async with running_server(db_url, **CREDENTIALS) as server, httpx.AsyncClient() as client:
        token = await client.post(
            f"{server.base}/oauth/access_token",
            data={"grant_type": "implicit", "client_id": CREDENTIALS["STOCKROOM_CLIENT_ID"]},
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for _ in range(3):
            answer = await client.get(
                f"{server.base}/graphql",
                params={"query": "query Shop { products(first: 2) { edges { node { sku } } } }"},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
        unchanged = await client.get(
            str(answer.url), headers={**headers, "If-None-Match": answer.headers["etag"]}
        )
        assert unchanged.status_code == 304
        found = samples((await client.get(f"{server.base}/metrics")).text)

    assert value(found, "stockroom_graphql_operations_total", operation="Shop", type="query") == 4
    assert value(found, "stockroom_graphql_operation_duration_seconds_count", operation="Shop") == 1
    assert value(found, "stockroom_http_requests_total", route="/graphql", status="200") == 3
    assert value(found, "stockroom_http_requests_total", route="/graphql", status="304") == 1
    assert value(found, "stockroom_http_request_duration_seconds_count", route="/graphql") == 4


async def test_metrics_sum_every_worker_process(db_url: str) -> None:
    """With --workers 2 a scrape answered by either process counts both processes' requests."""
    async with (
        running_server(db_url, workers=2, **CREDENTIALS) as server,
        httpx.AsyncClient(
            limits=httpx.Limits(max_keepalive_connections=0)  # new connections reach both workers
        ) as client,
    ):
        headers = await admin_headers(client, server.base)
        for _ in range(20):
            response = await client.post(
                f"{server.base}/graphql",
                json={"query": "query Workers { taxBands { name } }"},
                headers=headers,
            )
            assert response.status_code == 200
        for _ in range(3):
            found = samples((await client.get(f"{server.base}/metrics")).text)
            assert (
                value(
                    found, "stockroom_graphql_operations_total", operation="Workers", type="query"
                )
                == 20
            )
            assert value(found, "stockroom_db_pool_size", engine="read") >= 2


async def logged(server: Any, *needles: str) -> str:
    """The server's output once every needle is in it (the access line of a request is written
    just after its response is sent, so it may trail the client by a moment), at most 10 s."""
    for _ in range(100):
        output: str = server.output()
        if all(needle in output for needle in needles):
            break
        await asyncio.sleep(0.1)
    return output


async def test_one_json_access_log_line_per_request(db_url: str) -> None:
    async with (
        running_server(db_url, STOCKROOM_LOG_LEVEL="INFO", **CREDENTIALS) as server,
        httpx.AsyncClient() as client,
    ):
        headers = {**await admin_headers(client, server.base), "X-Request-ID": "trace-me-1"}
        await client.post(
            f"{server.base}/graphql",
            json={"query": "query Bands { taxBands { name } }"},
            headers=headers,
        )
        await client.get(f"{server.base}/health", headers={"X-Request-ID": "trace-me-2"})
        output = await logged(server, '"trace-me-1"', '"trace-me-2"')

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["name"] == "stockroom.access"}
    graphql = access["trace-me-1"]
    assert graphql["method"] == "POST" and graphql["path"] == "/graphql"
    assert graphql["status"] == 200 and graphql["operation"] == "Bands"
    assert graphql["role"] == "ADMIN" and graphql["duration_ms"] > 0
    assert access["trace-me-2"]["status"] == 200 and access["trace-me-2"]["path"] == "/health"
    assert (
        sum(
            1
            for line in lines
            if line["request_id"] == "trace-me-1" and line["name"] == "stockroom.access"
        )
        == 1
    )
