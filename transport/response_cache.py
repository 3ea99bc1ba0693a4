"""Whole answers of catalogue reads kept in this process (issue 10).

An answer is kept under its request (method, URL parameters or body, role, X-Currency,
Accept) together with the version stamps read before it ran (models/versions.py), and served
again only while the stamps are unchanged: any committed catalogue, stock, price, currency or
tax change, by any process, moves a stamp, and the next request reads the stamps before it
looks here. A hit runs no GraphQL at all. Requests with a customer token are never served
from here (checking that token needs the database).
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from models.versions import Stamps

Key = tuple[str, bytes, bytes, bool, str, str]
Operation = tuple[str | None, str]
"""An operation of a kept answer: its name and type (for the metrics of a hit)."""
KEPT_HEADERS = ("content-type", "cache-control", "vary", "etag")


@dataclass(frozen=True, slots=True)
class Answer:
    stamps: Stamps
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]
    operations: tuple[Operation, ...]
    raw_headers: tuple[tuple[bytes, bytes], ...]
    """`headers` encoded for ASGI, with Origin in Vary when CORS is on and Content-Length,
    as transport/fast_path.py sends them (built once, not per hit)."""
    etag: str | None
    """The ETag header's value (found once, not per hit)."""

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, headers=dict(self.headers))


class ResponseCache:
    """A bounded LRU of answers (`max_entries` 0 keeps nothing)."""

    def __init__(self, max_entries: int, vary_origin: bool = False) -> None:
        self.max_entries = max_entries
        self.vary_origin = vary_origin
        """Whether the CORS middleware is on: it names Origin in every answer's Vary."""
        self._answers: OrderedDict[Key, Answer] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    @staticmethod
    def key(request: Request, body: bytes, is_admin: bool) -> Key:
        headers = request.headers
        return ResponseCache.raw_key(
            request.method,
            request.scope.get("query_string", b""),
            body,
            is_admin,
            headers.get("x-currency", ""),
            headers.get("accept", ""),
        )

    @staticmethod
    def raw_key(
        method: str, query_string: bytes, body: bytes, is_admin: bool, currency: str, accept: str
    ) -> Key:
        return (method, query_string, body, is_admin, currency.upper(), accept)

    def get(self, key: Key, stamps: Stamps) -> Answer | None:
        answer = self._answers.get(key)
        if answer is None:
            return None
        if answer.stamps != stamps:
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        return answer

    def put(
        self, key: Key, stamps: Stamps, response: Response, operations: Sequence[Operation]
    ) -> None:
        headers = tuple((k, v) for k, v in response.headers.items() if k.lower() in KEPT_HEADERS)
        body = bytes(response.body)
        raw = self._raw_headers(headers, len(body))
        etag = next((v for k, v in headers if k.lower() == "etag"), None)
        kept = Answer(stamps, response.status_code, body, headers, tuple(operations), raw, etag)
        self._answers[key] = kept
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)

    def _raw_headers(
        self, headers: tuple[tuple[str, str], ...], length: int
    ) -> tuple[tuple[bytes, bytes], ...]:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        if self.vary_origin:
            _vary_origin(raw)
        raw.append((b"content-length", str(length).encode()))
        return tuple(raw)


def _vary_origin(raw: list[tuple[bytes, bytes]]) -> None:
    """Name Origin in Vary, as the CORS middleware does for requests without one."""
    for i, (name, value) in enumerate(raw):
        if name.lower() == b"vary":
            raw[i] = (name, value + b", Origin")
            return
    raw.append((b"vary", b"Origin"))
