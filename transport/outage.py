"""Database outages at the HTTP edge: a request that fails because the database cannot be
reached (PostgreSQL down or restarting, no connection to be had) gets 503 with Retry-After
and `extensions.code` SERVICE_UNAVAILABLE, and the log gets one warning, not a traceback.

GraphQL operations are answered so by schema.errors.ClientSafeErrors (an outage inside a
resolver); this middleware catches what escapes before or outside an operation: the bearer
token's check, the token endpoint, any other route.
"""

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.engine import database_unavailable
from schema.errors import RETRY_AFTER_SECONDS, log_outage, unavailable_error


def unavailable_response() -> JSONResponse:
    """Readable by GraphQL clients (`errors`) and OAuth clients (`error`, RFC 6749) alike."""
    error = unavailable_error()
    body: dict[str, Any] = {
        "data": None,
        "errors": [error.formatted],
        "error": "temporarily_unavailable",
        "error_description": error.message,
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class OutageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as error:
            if started or not database_unavailable(error):
                raise
            log_outage(error)
            await unavailable_response()(scope, receive, send)
