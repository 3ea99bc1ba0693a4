"""One JSON access-log line per HTTP request (logger `stockroom.access`, level INFO) and the
request metrics (transport/metrics.py).

The line carries the request id (as every log line does), method, path, status, duration in
milliseconds, the GraphQL operation names and their error codes, and the caller's role:

    {"levelname": "INFO", "name": "stockroom.access", "message": "POST /graphql 200",
     "request_id": "…", "method": "POST", "path": "/graphql", "status": 200,
     "duration_ms": 4.1, "operation": "ProductPage", "error_codes": [], "role": "STOREFRONT"}
"""

import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.engine import Database
from resolvers.observability import OperationRecord, RequestRecord, start_record
from transport import metrics

log = logging.getLogger("stockroom.access")
POOL_OBSERVE_SECONDS = 0.5
"""The pool gauges are refreshed at most this often (was: after every request, a third of a
cached answer's CPU time)."""
_pool_observed = float("-inf")
ROUTES = ("/graphql", "/oauth/access_token", "/health", "/metrics")


def route_label(path: str) -> str:
    """A bounded label for the path: a known route, the GraphiQL assets, or `other`."""
    if path in ROUTES:
        return path
    if path.startswith("/graphiql/"):
        return "/graphiql"
    return "other"


class AccessLog:
    """Pure ASGI middleware (it runs in the request's task, so the view's record reaches it)."""

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = start_record()
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            report(self.db, scope, status, time.perf_counter() - started, record)


def report(db: Database, scope: Scope, status: int, seconds: float, record: RequestRecord) -> None:
    """The request's metrics and access-log line."""
    path = scope.get("path", "")
    metrics.observe_request(route_label(path), status, seconds)
    for operation in record.operations:
        metrics.observe_operation(
            operation.name, operation.kind, operation.seconds, operation.error_codes
        )
    _observe_pool_now_and_then(db)
    if log.isEnabledFor(logging.INFO):
        _log_line(scope, status, seconds, record)


def report_hit(
    db: Database,
    scope: Scope,
    status: int,
    seconds: float,
    operations: Sequence[tuple[str | None, str]],
    role: str,
) -> None:
    """`report` for an answer served from the response cache before the middleware stack
    (transport/fast_path.py): the same metrics, through counters found once per kind of hit,
    and the same line; its record is only made when the line is written."""
    metrics.hit_observer(route_label(scope.get("path", "")), status, tuple(operations))(seconds)
    _observe_pool_now_and_then(db)
    if log.isEnabledFor(logging.INFO):
        ran = [OperationRecord(name, kind, None, []) for name, kind in operations]
        _log_line(scope, status, seconds, RequestRecord(ran, role))


def _observe_pool_now_and_then(db: Database) -> None:
    global _pool_observed
    now = time.monotonic()
    if now - _pool_observed >= POOL_OBSERVE_SECONDS:
        _pool_observed = now
        metrics.observe_pool(db)


def _log_line(scope: Scope, status: int, seconds: float, record: RequestRecord) -> None:
    path = scope.get("path", "")
    fields: dict[str, Any] = {
        "method": scope.get("method"),
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "operation": ",".join(o.name or "anonymous" for o in record.operations) or None,
        "error_codes": sorted({c for o in record.operations for c in o.error_codes}),
        "role": record.role,
    }
    log.info("%s %s %s", scope.get("method"), path, status, extra=fields)
