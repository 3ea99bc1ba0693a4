"""Optional OpenTelemetry tracing: with the packages installed and a tracer provider set up,
a request gets an HTTP server span and GraphQL operation spans."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, Template

pytest.importorskip("opentelemetry.sdk", reason="pip install opentelemetry-sdk")
pytest.importorskip(
    "opentelemetry.instrumentation.asgi", reason="opentelemetry-instrumentation-asgi"
)
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

# Run in a fresh interpreter: a tracer provider is process-global and must not leak into the
# suite's other tests.
SCRIPT = """
import asyncio, json, sys
import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
from models.settings import Settings
from server import create_app

async def main():
    app = create_app(Settings(database_url=sys.argv[1]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/graphql",
            json={"query": "query Bands { taxBands { name } }"},
            headers={"Authorization": f"Bearer {sys.argv[2]}"},
        )
        assert response.status_code == 200, response.text
    await app.state.db.dispose()
    print(json.dumps([span.name for span in exporter.get_finished_spans()]))

asyncio.run(main())
"""


def spans(db_url: str, token: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_url, token],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_configured_tracer_gets_http_and_graphql_spans(db_url: str, template: Template) -> None:
    names = spans(db_url, template.admin_token)
    assert any(name.startswith("POST /graphql") for name in names), names
    assert "GraphQL Query: Bands" in names or any("Bands" in name for name in names), names
    assert any("Parsing" in name or "Validation" in name for name in names), names
