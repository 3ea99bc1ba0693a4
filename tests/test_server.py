"""The real server process over real HTTP: start-up, bootstrap, CLI, concurrent writers."""

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from models.settings import Settings
from server import prepare_database
from tests.conftest import ROOT, running_server

pytestmark = pytest.mark.slow  # real server processes
CONFIGURED = {"STOCKROOM_CLIENT_ID": "e2e-client", "STOCKROOM_CLIENT_SECRET": "e2e-secret-value"}


async def _admin_token(client: httpx.AsyncClient, base: str) -> str:
    response = await client.post(
        f"{base}/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": CONFIGURED["STOCKROOM_CLIENT_ID"],
            "client_secret": CONFIGURED["STOCKROOM_CLIENT_SECRET"],
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_end_to_end_over_http(db_url: str) -> None:
    async with running_server(db_url, **CONFIGURED) as server, httpx.AsyncClient() as client:
        token = await _admin_token(client, server.base)
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post(
            f"{server.base}/graphql",
            json={
                "query": 'mutation { taxBandCreate(input: {name: "VAT", rate: "20"}) '
                "{ taxBand { name } errors { code } } }"
            },
            headers=headers,
        )
        assert created.json()["data"]["taxBandCreate"]["taxBand"] == {"name": "VAT"}
        listed = await client.get(
            f"{server.base}/graphql", params={"query": "{ taxBands { name } }"}, headers=headers
        )
        assert listed.json()["data"] == {"taxBands": [{"name": "VAT"}]}
        assert (await client.get(f"{server.base}/health")).json() == {"status": "ok"}


async def test_first_start_prints_generated_credentials_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    async with running_server(url) as server, httpx.AsyncClient() as client:
        output = server.output()
        assert "client_id:" in output and "client_secret:" in output
        client_id = output.split("client_id:")[1].split()[0]
        secret = output.split("client_secret:")[1].split()[0]
        response = await client.post(
            f"{server.base}/oauth/access_token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert response.json()["identifier"] == "client_credentials"
    assert await prepare_database(Settings(database_url=url)) is None  # never twice


async def test_concurrent_writes_all_succeed_across_worker_processes(db_url: str) -> None:
    """50 concurrent mutations against 2 server processes sharing one database: none fails
    (on SQLite that means no "database is locked")."""
    async with (
        running_server(db_url, workers=2, **CONFIGURED) as server,
        httpx.AsyncClient(timeout=60) as client,
    ):
        token = await _admin_token(client, server.base)

        async def create(i: int) -> dict[str, object]:
            response = await client.post(
                f"{server.base}/graphql",
                json={
                    "query": 'mutation($n: String!) { taxBandCreate(input: {name: $n, rate: "5"})'
                    " { taxBand { name } errors { code } } }",
                    "variables": {"n": f"band-{i}"},
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            return dict(response.json())

        results = await asyncio.gather(*(create(i) for i in range(50)))
        assert all("errors" not in r for r in results), [r for r in results if "errors" in r][:3]
        assert all(r["data"]["taxBandCreate"]["errors"] == [] for r in results)  # type: ignore[index]
        listed = await client.post(
            f"{server.base}/graphql",
            json={"query": "{ taxBands { name } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert len(listed.json()["data"]["taxBands"]) == 50


def _cli(*args: str, db_url: str) -> str:
    env = {
        "STOCKROOM_DATABASE_URL": db_url,
        "PATH": "/usr/bin:/bin",
        "STOCKROOM_LOG_LEVEL": "ERROR",
    }
    result = subprocess.run(
        [sys.executable, "server.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_cli_create_client_and_export_schema(db_url: str) -> None:
    sdl = _cli("export-schema", db_url=db_url)
    assert "type Query" in sdl and "type Mutation" in sdl and "interface Node" in sdl
    output = _cli("create-client", "pos-terminal", db_url=db_url)
    client_id = output.split("client_id:")[1].split()[0]
    secret = output.split("client_secret:")[1].split()[0]
    async with running_server(db_url) as server, httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.base}/oauth/access_token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert response.status_code == 200
