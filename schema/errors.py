"""Error handling for every operation: clear codes for expected failures, masked internals.

- A DomainError raised by a query resolver becomes a GraphQL error with its code.
- A bad pagination argument (size above 100, malformed cursor) becomes an INVALID error.
- A value the database refuses to store or compare (PostgreSQL: a NUL character in text, a
  string longer than its column) is the client's bad input: an INVALID error, logged as a
  warning (no rule above it caught the value, which is worth knowing).
- The database being unreachable (down, restarting, out of connections) is an outage, not a
  bug: SERVICE_UNAVAILABLE, HTTP 503 with Retry-After, logged as one warning per request
  without a traceback.
- Any other exception is an internal failure: logged with the request id and traceback,
  shown to the client only as "Internal server error" with the request id to quote.
"""

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import DomainError
from domain.pagination import PaginationError
from models.engine import database_unavailable, refused_value
from resolvers.observability import current_request_id

log = logging.getLogger("stockroom.graphql")
outage_log = logging.getLogger("stockroom.outage")

RETRY_AFTER_SECONDS = 2
"""What a client is told to wait while the database is unavailable (a PostgreSQL restart
takes about a second)."""
UNAVAILABLE = "SERVICE_UNAVAILABLE"


def unavailable_error(error: GraphQLError | None = None) -> GraphQLError:
    return GraphQLError(
        "the database is unavailable; retry shortly",
        nodes=error.nodes if error else None,
        path=error.path if error else None,
        extensions={"code": UNAVAILABLE, "retryAfter": RETRY_AFTER_SECONDS},
    )


def log_outage(error: BaseException) -> None:
    """One warning line: what the driver said, no traceback (nothing here is a bug)."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    outage_log.warning(
        "database unavailable: %s: %s",
        type(cause).__name__,
        str(cause).splitlines()[0] if str(cause) else "",
        extra={"request_id": current_request_id()},
    )


def _public_version(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error  # syntax, validation, permission and PublicError errors are meant for clients
    if database_unavailable(original):
        return unavailable_error(error)
    if isinstance(original, DomainError):
        code, message = original.code.value, original.message
    elif isinstance(original, PaginationError):
        code, message = "INVALID", str(original)
    elif refused_value(original):
        log.warning(
            "the database refused a value in %s: %s",
            ".".join(str(p) for p in error.path or []),
            getattr(original, "orig", original),  # the driver's words, not the parameters
            extra={"request_id": current_request_id()},
        )
        code = "INVALID"
        message = "a value cannot be stored (e.g. it contains a NUL character or is too long)"
    else:
        request_id = current_request_id()
        log.error(
            "internal error in %s",
            ".".join(str(p) for p in error.path or []),
            exc_info=original,
            extra={"request_id": request_id},
        )
        code, message = "INTERNAL_SERVER_ERROR", "Internal server error"
        return GraphQLError(
            message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": code, "requestId": request_id},
        )
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions={"code": code})


class ClientSafeErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        outages = [
            e.original_error
            for e in result.errors
            if e.original_error is not None and database_unavailable(e.original_error)
        ]
        result.errors = [_public_version(e) for e in result.errors]
        if outages:
            log_outage(outages[0])
            self._answer_unavailable()

    def _answer_unavailable(self) -> None:
        """HTTP 503 with Retry-After for the whole answer (over HTTP; a WebSocket operation
        gets the error alone)."""
        response = getattr(self.execution_context.context, "response", None)
        if response is not None and hasattr(response, "headers"):
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
