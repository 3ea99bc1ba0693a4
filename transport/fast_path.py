"""Cached catalogue answers served before the middleware stack (issue 10).

A `GET /graphql` whose answer the response cache holds under the current version stamps is
answered here, outermost: no Starlette request, routing or middleware chain, no GraphQL. What
the stack would add is added directly: the bearer token is checked (from the token cache
only: an unknown token takes the full path), the request id (X-Request-ID), the access-log
line and metrics, X-SQL-Statements when counted (0), 304 for a matching If-None-Match.
Everything else (a miss, a customer token, a browser's cross-origin request: CORS headers
are the CORS middleware's) goes down the stack unchanged.
"""

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from resolvers.observability import start_request
from transport import httpcache
from transport.access_log import report_hit
from transport.http import StockroomGraphQL
from transport.response_cache import Answer, ResponseCache

PATH = "/graphql"


class CachedReads:
    """Pure ASGI middleware, the outermost: answers response-cache hits itself."""

    def __init__(self, app: ASGIApp, view: StockroomGraphQL, count_sql: bool = False) -> None:
        self.app = app
        self.view = view
        self.count_sql = count_sql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != PATH
            or not self.view.responses.enabled
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        try:
            found = await self._hit(scope, headers)
        except Exception:  # e.g. the database is down: the stack answers (503, logged)
            found = None
        if found is None:
            await self.app(scope, receive, send)
            return
        answer, role = found
        request_id = start_request(headers.get(b"x-request-id", b"").decode("latin-1"))
        status = await self._send(send, answer, headers, request_id)
        elapsed = time.perf_counter() - started
        report_hit(self.view.db, scope, status, elapsed, answer.operations, role)

    async def _hit(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[Answer, str] | None:
        if b"x-customer-token" in headers or b"origin" in headers:
            return None
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer":
            return None
        principal = self.view.auth.cache.get(token.strip())
        if principal is None or principal.is_admin:
            return None
        key = ResponseCache.raw_key(
            "GET",
            scope.get("query_string", b""),
            b"",
            principal.is_admin,
            headers.get(b"x-currency", b"").decode("latin-1"),
            headers.get(b"accept", b"").decode("latin-1"),
        )
        stamps = await self.view.db.stamps.read_on_arrival()  # first step: no await before
        scope.setdefault("state", {})["stamps"] = stamps  # a miss reuses them
        answer = self.view.responses.get(key, stamps)
        if answer is None:
            return None
        return answer, principal.role.name

    async def _send(
        self, send: Send, answer: Answer, headers: dict[bytes, bytes], request_id: str
    ) -> int:
        extra = [(b"x-request-id", request_id.encode())]
        if self.count_sql:
            extra.append((b"x-sql-statements", b"0"))
        etag = answer.etag
        wanted = headers.get(b"if-none-match")
        if etag is not None and wanted and httpcache.matches(wanted.decode("latin-1"), etag):
            kept = [(k, v) for k, v in answer.raw_headers if k.lower() in KEPT_FOR_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept + extra})
            await send({"type": "http.response.body", "body": b""})
            return 304
        raw = [*answer.raw_headers, *extra]
        await send({"type": "http.response.start", "status": answer.status, "headers": raw})
        await send({"type": "http.response.body", "body": answer.body})
        return int(answer.status)


KEPT_FOR_304 = {b"etag", b"cache-control", b"vary"}
