"""GraphQL over WebSocket (graphql-transport-ws) against a real server, authenticated in
connection_init."""

import json

import pytest
import websockets

from tests.conftest import Template, running_server

pytestmark = pytest.mark.slow  # a real server process


async def _exchange(url: str, init_payload: dict[str, str]) -> list[dict[str, object]]:
    messages = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": init_payload}))
        try:
            ack = json.loads(await ws.recv())
        except websockets.ConnectionClosed as closed:
            return [{"closed": closed.rcvd.code if closed.rcvd else None}]
        messages.append(ack)
        subscribe = {"query": "{ currencies { code } }"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        messages.append(json.loads(await ws.recv()))
        messages.append(json.loads(await ws.recv()))
    return messages


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_queries_over_websocket_need_a_token(db_url: str, template: Template) -> None:
    async with running_server(db_url) as server:
        url = server.base.replace("http://", "ws://") + "/graphql"
        ok = await _exchange(url, {"authorization": f"Bearer {template.storefront_token}"})
        assert ok[0]["type"] == "connection_ack"
        assert (ok[1]["id"], ok[1]["type"]) == ("1", "next")
        assert ok[1]["payload"]["data"] == {"currencies": [{"code": "USD"}]}
        assert ok[2]["type"] == "complete"
        refused = await _exchange(url, {"authorization": "Bearer wrong"})
        assert refused == [{"closed": 4403}]
