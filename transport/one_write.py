"""uvicorn's HTTP protocol, answering with one write where uvicorn makes two (issue 10).

uvicorn writes a response's status line and headers to the socket as soon as the app sends
`http.response.start`, then the body on `http.response.body`: two system calls and two TCP
segments for every answer, the first of them the costliest on loopback (it wakes the client
before the body is there). Here the head is held until the end of the event-loop step that
wrote it: a body written in the same step (every whole answer: a cached hit, a GraphQL
result) goes out with it in one `writelines` (one `writev`); a head whose body comes later (a
stream) is flushed alone when the step ends, so nothing waits on the next chunk.

Measured on a cached listing hit (wrk, one process, SQLite): the server's CPU per answer
(see README, "Benchmarks").
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _HeadWithBody:
    """The transport one response writes through: its first write (the head) is held until
    a second write in the same loop step, or the end of that step."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))
        elif self._loop is not None:  # the first write: the head
            self._loop, loop = None, self._loop
            self._held = data
            loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """`uvicorn.run(http=...)`: each request's cycle writes through a `_HeadWithBody`."""

    def on_headers_complete(self) -> None:
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before:
            cycle.transport = _HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]
