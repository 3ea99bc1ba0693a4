"""Records each GraphQL operation (name, type, duration, error codes) on the request's record
(resolvers/observability.py) for the access log and the metrics."""

import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.observability import OperationRecord, current_record


def error_code(error: GraphQLError) -> str:
    """The error's `extensions.code`; errors without one come from parsing or validation."""
    code = (error.extensions or {}).get("code")
    return str(code) if code else "INVALID_QUERY"


class RecordOperations(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        record = current_record()
        if record is None:  # a WebSocket operation: no HTTP request to report it with
            return
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except RuntimeError:  # no single operation in the document
            kind = "unknown"
        result = context.result
        errors = (result.errors or []) if result is not None else []
        record.operations.append(
            OperationRecord(
                name=context.operation_name,
                kind=kind,
                seconds=time.perf_counter() - started,
                error_codes=[error_code(e) for e in errors],
            )
        )
