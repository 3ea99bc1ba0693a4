"""Optional OpenTelemetry tracing of GraphQL operations (Strawberry's OpenTelemetryExtension:
a span per operation, with parsing, validation and resolver spans).

On when the `opentelemetry` packages are installed and a tracer provider is configured (e.g.
the server runs under `opentelemetry-instrument`, or the SDK was set up before start-up);
otherwise nothing is added, so a plain install pays nothing for it."""

from typing import Any


def tracing_configured() -> bool:
    try:
        from opentelemetry import trace
    except ImportError:
        return False
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def tracing_extensions() -> list[Any]:
    if not tracing_configured():
        return []
    from strawberry.extensions.tracing import OpenTelemetryExtension

    return [OpenTelemetryExtension]
