"""Request ids and JSON logging: every log line of a request carries its id."""

import contextvars
import logging
import os
import sys
from dataclasses import dataclass, field

from pythonjsonlogger.json import JsonFormatter

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def start_request(incoming: str | None) -> str:
    """Adopt the client's X-Request-ID when it is sane, else make one; bind it to this task."""
    request_id = incoming if incoming and len(incoming) <= 64 and incoming.isprintable() else None
    request_id = request_id or os.urandom(16).hex()  # uuid4's object costs 3x
    _request_id.set(request_id)
    return request_id


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


@dataclass
class OperationRecord:
    """One GraphQL operation of a request, for the access log and the metrics."""

    name: str | None
    kind: str
    seconds: float | None
    """None: answered from the response cache, nothing ran (no duration to observe)."""
    error_codes: list[str]


@dataclass
class RequestRecord:
    """What a request did, filled in as it runs (the operations, the caller's role), read by
    the access log and the metrics when it ends."""

    operations: list[OperationRecord] = field(default_factory=list)
    role: str | None = None


_record: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "request_record", default=None
)


def start_record() -> RequestRecord:
    record = RequestRecord()
    _record.set(record)
    return record


def current_record() -> RequestRecord | None:
    return _record.get()
