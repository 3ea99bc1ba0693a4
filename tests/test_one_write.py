"""transport/one_write.py on a real uvicorn server and real sockets: a whole answer leaves in
one write, a head whose body comes later is not held back, HEAD and keep-alive still work."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from transport.one_write import OneWriteHttpToolsProtocol

BODY = b'{"data": {"products": []}}' * 500


class _CountingTransport:
    """The real transport, its write calls counted (writelines is one: one writev)."""

    def __init__(self, transport: asyncio.Transport, writes: list[int]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(len(data))
        self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        chunks = list(chunks)
        self._writes.append(sum(len(chunk) for chunk in chunks))
        self._transport.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


WRITES: list[int] = []


class CountingProtocol(OneWriteHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CountingTransport(transport, WRITES))  # type: ignore[arg-type]


def _app(release: asyncio.Event) -> Starlette:
    async def whole(request: Request) -> Response:
        return Response(BODY, media_type="application/json")

    async def stream(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            await release.wait()
            yield b"first"
            yield b"second"

        return StreamingResponse(chunks(), media_type="text/plain")

    return Starlette(
        routes=[Route("/whole", whole, methods=["GET", "HEAD"]), Route("/stream", stream)]
    )


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=CountingProtocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn sets a flag, no event)
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def test_a_whole_answer_leaves_in_one_write_and_keep_alive_holds() -> None:
    async with serving(_app(asyncio.Event())) as base, httpx.AsyncClient() as client:
        WRITES.clear()
        first = await client.get(f"{base}/whole")
        second = await client.get(f"{base}/whole")  # the same connection (keep-alive)
        assert first.content == BODY and second.content == BODY
        assert first.headers["content-length"] == str(len(BODY))
        assert len(WRITES) == 2, WRITES  # one per answer: head and body together
        assert all(size > len(BODY) for size in WRITES)


async def test_a_head_request_gets_its_head() -> None:
    async with serving(_app(asyncio.Event())) as base, httpx.AsyncClient() as client:
        WRITES.clear()
        answer = await client.head(f"{base}/whole")
        assert answer.status_code == 200 and answer.content == b""
        assert answer.headers["content-length"] == str(len(BODY))
        assert len(WRITES) == 1


async def test_a_head_whose_body_comes_later_is_sent_at_once() -> None:
    release = asyncio.Event()
    async with serving(_app(release)) as base, httpx.AsyncClient(timeout=5) as client:
        async with client.stream("GET", f"{base}/stream") as answer:
            # the body waits for `release`: the head arrived without it
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/plain")
            release.set()
            assert await answer.aread() == b"firstsecond"
