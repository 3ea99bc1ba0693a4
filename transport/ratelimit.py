"""The token endpoint's guard against secret guessing (API.md section 14): after 10 failed
attempts (401 invalid_client) for one client id within a minute, `429 Too Many Requests`
with `Retry-After` until the minute's window ends, in every server process
(domain/ratelimit.py). Other client ids are never affected; a refused attempt costs no
argon2 verification."""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.auth import OAuthError
from domain.ratelimit import FailureLimits
from transport.http import _token_request_fields

Endpoint = Callable[[Request], Awaitable[Response]]


def rate_limited(endpoint: Endpoint, limits: FailureLimits) -> Endpoint:
    async def limited(request: Request) -> Response:
        try:
            client_id = (await _token_request_fields(request)).get("client_id")
        except (OAuthError, ValueError):
            client_id = None  # the endpoint answers the malformed request itself
        if client_id and (refusal := await limits.refusal("client", client_id)):
            seconds = refusal.retry_after_seconds
            return JSONResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": f"too many failed attempts for this client_id: "
                    f"retry in {seconds} s",
                },
                status_code=429,
                headers={"Retry-After": str(seconds), "Cache-Control": "no-store"},
            )
        response = await endpoint(request)
        if client_id and response.status_code == 401:
            await limits.failed("client", client_id)
        return response

    return limited
