"""Part of `make bench` (alone: `python -m bench --subscriptions-only`): how soon a committed
change reaches `stockUpdated` subscribers, over real WebSockets.

Per backend: a fresh database, server processes (SQLite: one, as it runs; PostgreSQL: two on
one database), `--subscribers` admin subscriptions to one product on each process, then
`--changes` stockTransactionCreate INCREMENTs one after another, sent to the processes in
turn, each only once every subscriber has seen the one before (so nothing coalesces). A
latency is a subscriber's receipt (wall clock) minus the ledger entry's `createdAt`, which the
writing transaction sets just before it commits: commit, notification, re-read and the
WebSocket message are all in it. PostgreSQL figures are also split by whether the change was
made through the subscriber's own process or the other one.
"""

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import websockets

from bench import scenarios
from bench.harness import LiveServer, percentile, running_server

CLIENT = {"STOCKROOM_CLIENT_ID": "bench-admin", "STOCKROOM_CLIENT_SECRET": "bench-admin-secret"}
PROCESSES = {"sqlite": 1, "postgres": 2}
WATCH = """subscription($ids: [ID!]!) { stockUpdated(productIds: $ids) { stock { total } } }"""
CHANGE = """mutation($id: ID!) { stockTransactionCreate(productId: $id,
  input: {action: INCREMENT, quantity: 1}) { transaction { createdAt } errors { code } } }"""
PRODUCT = """mutation { productCreate(input: {sku: "SUB-BENCH", name: "Watched", price: 100,
  status: LIVE, manageStock: true, stock: 1000}) { product { id } errors { code } } }"""
RECEIPT_GUARD_SECONDS = 30


class Subscriber:
    """One WebSocket with one stockUpdated subscription, noting when each total arrived."""

    def __init__(self, ws: websockets.ClientConnection, process: int) -> None:
        self.ws, self.process = ws, process
        self.arrived: dict[int, float] = {}
        self.changed = asyncio.Event()

    async def read(self) -> None:
        async for raw in self.ws:
            now = time.time()
            message = json.loads(raw)
            if message.get("type") != "next":
                raise RuntimeError(f"unexpected message {message}")
            total = message["payload"]["data"]["stockUpdated"]["stock"]["total"]
            self.arrived.setdefault(total, now)
            self.changed.set()

    async def wait_for(self, total: int) -> float:
        while total not in self.arrived:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), RECEIPT_GUARD_SECONDS)
        return self.arrived[total]


@asynccontextmanager
async def subscribed(
    server: LiveServer, process: int, token: str, product: str
) -> AsyncIterator[Subscriber]:
    url = server.base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        if json.loads(await ws.recv())["type"] != "connection_ack":
            raise RuntimeError("the server refused the WebSocket")
        payload = {"query": WATCH, "variables": {"ids": [product]}}
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        subscriber = Subscriber(ws, process)
        reader = asyncio.create_task(subscriber.read())
        try:
            yield subscriber
        finally:
            reader.cancel()


def _figures(latencies: list[float]) -> dict[str, Any]:
    return {
        "samples": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


async def _changes(
    admins: list[scenarios.Client], product: str, subscribers: list[Subscriber], changes: int
) -> dict[str, list[float]]:
    by_kind: dict[str, list[float]] = {"same_process": [], "other_process": []}
    async with httpx.AsyncClient(timeout=60) as http:
        total = 1000
        for subscriber in subscribers:
            await subscriber.wait_for(total)  # the initial message
        for i in range(changes):
            process = i % len(admins)
            data = await admins[process].run(http, CHANGE, {"id": product})
            made = data["stockTransactionCreate"]["transaction"]["createdAt"]
            committed = datetime.fromisoformat(made).timestamp()
            total += 1
            for subscriber in subscribers:
                arrived = await subscriber.wait_for(total)
                kind = "same_process" if subscriber.process == process else "other_process"
                by_kind[kind].append((arrived - committed) * 1000)
    return by_kind


async def run(url: str, backend: str, subscribers: int, changes: int) -> dict[str, Any]:
    """The figures of one backend (its database migrated, with the bench's admin client)."""
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(running_server(url, **CLIENT))
            for _ in range(PROCESSES[backend])
        ]
        admins = [await _admin(s.base) for s in servers]
        async with httpx.AsyncClient(timeout=60) as http:
            made = await admins[0].run(http, PRODUCT, {})
        product = made["productCreate"]["product"]["id"]
        watching = [
            await stack.enter_async_context(subscribed(s, n, admins[n].token, product))
            for n, s in enumerate(servers)
            for _ in range(subscribers)
        ]
        by_kind = await _changes(admins, product, watching, changes)
    everything = by_kind["same_process"] + by_kind["other_process"]
    out = {"processes": len(servers), "subscribers": len(watching), "changes": changes}
    out.update(_figures(everything))
    if len(servers) > 1:
        out.update({kind: _figures(values) for kind, values in by_kind.items()})
    return out


async def _admin(base: str) -> scenarios.Client:
    client_id, secret = CLIENT["STOCKROOM_CLIENT_ID"], CLIENT["STOCKROOM_CLIENT_SECRET"]
    return scenarios.Client(
        base, await scenarios.token(base, "client_credentials", client_id, secret)
    )


def table(results: dict[str, Any]) -> str:
    lines = [
        "| backend | processes | subscribers | changes | change made through | p50 ms | p95 ms "
        "| max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for backend, data in results.items():
        rows = [("any process", data)]
        rows += [
            (kind.replace("_", " "), data[kind])
            for kind in ("same_process", "other_process")
            if kind in data
        ]
        for label, figures in rows:
            lines.append(
                f"| {backend} | {data['processes']} | {data['subscribers']} | {data['changes']} "
                f"| {label} | {figures['p50_ms']} | {figures['p95_ms']} | {figures['max_ms']} |"
            )
    return "\n".join(lines)
