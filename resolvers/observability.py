"""Request ids and JSON logging: every log line of a request carries its id."""

import contextvars
import logging
import sys
import uuid

from pythonjsonlogger.json import JsonFormatter

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def start_request(incoming: str | None) -> str:
    """Adopt the client's X-Request-ID when it is sane, else make one; bind it to this task."""
    request_id = incoming if incoming and len(incoming) <= 64 and incoming.isprintable() else None
    request_id = request_id or uuid.uuid4().hex
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
