"""Prometheus metrics at GET /metrics (API.md section 14), with prometheus-client.

Requests, errors and latency by route and by GraphQL operation name, the database pools, and
any gauge another area registers. With several server processes (`--workers N`) the server
sets PROMETHEUS_MULTIPROC_DIR before the workers start (see `prepare_multiprocess`): every
process writes its samples there and a scrape on any process sums them all.

**Adding a gauge** (e.g. a backlog that lives in the database): register a probe once, at
import time of your transport or domain wiring module::

    from transport import metrics

    async def webhook_backlog(db: Database) -> float:
        async with db.reader() as session:
            return await count_pending_deliveries(session)

    metrics.register_gauge(
        "stockroom_webhook_backlog", "Webhook deliveries waiting to be sent.", webhook_backlog
    )

The probe runs at each scrape, in the process that answers it (the value is the latest one
any live process measured). Keep it one cheap query.
"""

import os
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from models.engine import Database

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 200
"""Distinct operation names a process labels metrics with; later names count as `other`
(operation names come from clients: unbounded labels would grow the metrics without end)."""
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "stockroom_http_requests_total", "HTTP requests by route and status.", ["route", "status"]
)
HTTP_LATENCY = Histogram(
    "stockroom_http_request_duration_seconds",
    "HTTP request duration by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
OPERATIONS = Counter(
    "stockroom_graphql_operations_total",
    "GraphQL operations by operation name and type.",
    ["operation", "type"],
)
OPERATION_ERRORS = Counter(
    "stockroom_graphql_errors_total",
    "GraphQL errors by operation name and code (validation errors are INVALID_QUERY).",
    ["operation", "code"],
)
OPERATION_LATENCY = Histogram(
    "stockroom_graphql_operation_duration_seconds",
    "GraphQL operation duration (parse, validate, execute) by operation name.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
POOL_SIZE = Gauge(
    "stockroom_db_pool_size",
    "Connections the database pool keeps (per engine, all processes).",
    ["engine"],
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "stockroom_db_pool_checked_out",
    "Database connections in use (per engine, all processes).",
    ["engine"],
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "stockroom_db_pool_overflow",
    "Connections opened beyond the pool size (per engine, all processes).",
    ["engine"],
    multiprocess_mode="livesum",
)

Probe = Callable[[Database], Awaitable[float]]


@dataclass(frozen=True)
class _RegisteredGauge:
    gauge: Gauge
    probe: Probe


_registered: dict[str, _RegisteredGauge] = {}
_operation_names: set[str] = set()


def register_gauge(name: str, documentation: str, probe: Probe) -> None:
    """A gauge whose value `probe(db)` measures at each scrape (see the module docstring)."""
    if name in _registered:
        return
    gauge = Gauge(name, documentation, multiprocess_mode="livemostrecent")
    _registered[name] = _RegisteredGauge(gauge, probe)


def operation_label(name: str | None) -> str:
    """The operation's metric label: its name, `anonymous`, or `other` past the limit."""
    if not name:
        return "anonymous"
    if not _OPERATION_NAME.match(name):
        return "other"
    if name not in _operation_names:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        _operation_names.add(name)
    return name


_children: dict[tuple[int, tuple[str, ...]], Any] = {}
"""Labelled children by (metric, labels): `labels()` costs more than the update itself (a
lock, the labels checked and joined), a third of a cached answer's CPU time before. Bounded
as the labels are (routes, statuses, at most MAX_OPERATION_NAMES names, error codes)."""


def _child(metric: Counter | Histogram, *labels: str) -> Any:
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def observe_operation(name: str | None, kind: str, seconds: float | None, codes: list[str]) -> None:
    """`seconds` None: a cached answer, counted but not timed (it ran nothing)."""
    label = operation_label(name)
    _child(OPERATIONS, label, kind).inc()
    if seconds is not None:
        _child(OPERATION_LATENCY, label).observe(seconds)
    for code in codes:
        _child(OPERATION_ERRORS, label, code).inc()


_hit_observers: dict[
    tuple[str, int, tuple[tuple[str | None, str], ...]], Callable[[float], None]
] = {}
"""By (route, status, operations): bounded as the answers' operations are (their names are
labels, at most MAX_OPERATION_NAMES)."""


def hit_observer(
    route: str, status: int, operations: tuple[tuple[str | None, str], ...]
) -> Callable[[float], None]:
    """What `observe_request` and `observe_operation` (not timed) do for a response-cache
    hit, with its labelled children found once: a hit's metrics were a fifth of its Python."""
    key = (route, status, operations)
    observer = _hit_observers.get(key)
    if observer is None:
        count = _child(HTTP_REQUESTS, route, str(status)).inc
        time_it = _child(HTTP_LATENCY, route).observe
        counts = tuple(_child(OPERATIONS, operation_label(n), k).inc for n, k in operations)

        def observe(seconds: float) -> None:
            count()
            time_it(seconds)
            for count_operation in counts:
                count_operation()

        observer = _hit_observers[key] = observe
    return observer


def observe_request(route: str, status: int, seconds: float) -> None:
    _child(HTTP_REQUESTS, route, str(status)).inc()
    _child(HTTP_LATENCY, route).observe(seconds)


def observe_pool(db: Database) -> None:
    """This process's pool figures (each process reports its own; a scrape sums them)."""
    engines = {"read": db.read_engine, "write": db.write_engine}
    for label, engine in engines.items():
        pool = engine.pool
        size, checked_out, overflow = (
            getattr(pool, attribute, lambda: 0)()
            for attribute in ("size", "checkedout", "overflow")
        )
        POOL_SIZE.labels(label).set(size)
        POOL_CHECKED_OUT.labels(label).set(checked_out)
        POOL_OVERFLOW.labels(label).set(max(overflow, 0))


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_endpoint(db: Database) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        observe_pool(db)
        for registered in list(_registered.values()):
            registered.gauge.set(await registered.probe(db))
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)

    return endpoint


def prepare_multiprocess(workers: int) -> str | None:
    """Before `--workers N` (N > 1) start: a fresh directory for every process's samples,
    named in the environment the workers inherit. Returns it (the caller removes it)."""
    if workers <= 1 or os.environ.get(MULTIPROCESS_ENV):
        return None
    directory = tempfile.mkdtemp(prefix="stockroom-metrics-")
    os.environ[MULTIPROCESS_ENV] = directory
    return directory


def finish_multiprocess(directory: str | None) -> None:
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
