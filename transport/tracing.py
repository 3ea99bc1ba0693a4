"""Optional OpenTelemetry tracing of HTTP requests (opentelemetry-instrumentation-asgi): a
server span per request around the GraphQL spans (schema/tracing.py). On under the same
condition: the packages installed and a tracer provider configured."""

from starlette.applications import Starlette

from schema.tracing import tracing_configured


def add_tracing(app: Starlette) -> None:
    if not tracing_configured():
        return
    try:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    except ImportError:
        return
    app.add_middleware(OpenTelemetryMiddleware, excluded_urls="health,metrics")
