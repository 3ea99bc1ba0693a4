"""Answers are encoded by orjson (transport/http.py): UTF-8 as it is, compact, and what orjson
refuses still encoded as before."""

import json

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from tests.catalog_helpers import create_product
from tests.conftest import Api
from transport.http import StockroomGraphQL

NAMES = "{ products(first: 5) { edges { node { name } } } }"


async def test_an_answer_is_compact_utf8_json(api: Api, http: httpx.AsyncClient) -> None:
    await create_product(api, "CAFE-1", name="Café ☕ crème")
    headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
    answer = await http.post("/graphql", json={"query": NAMES}, headers=headers)
    assert answer.headers["content-type"].startswith("application/json")
    assert "Café ☕ crème".encode() in answer.content  # not \\u escapes
    assert (
        answer.content
        == json.dumps(answer.json(), separators=(",", ":"), ensure_ascii=False).encode()
    )


async def test_what_orjson_refuses_is_encoded_as_before(app: Starlette) -> None:
    view = next(r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    assert isinstance(view, StockroomGraphQL)
    encoded = view.encode_json({"n": 2**70, "s": "é"})
    assert encoded == b'{"n":1180591620717411303424,"s":"\\u00e9"}'
