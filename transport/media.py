"""GraphQL over HTTP media types (the GraphQL-over-HTTP spec, API.md section 14).

The answer's media type follows the request's Accept header: `application/graphql-response+json`
when the client prefers it (or ranks it equal to JSON), else `application/json` (also for `*/*`
and for a request without Accept, as legacy clients expect). Under graphql-response+json a
request that fails before execution (unparsable, invalid, bad variables, too costly) is a 400;
under application/json it is a 200, as the spec requires for legacy clients. Either way such an
answer has no `data` entry. Requests that are not GraphQL requests at all (bad JSON, no query,
an unsupported content type) get a 4xx with a GraphQL-shaped JSON error body.
"""

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_RANKS = {GRAPHQL_RESPONSE_JSON: 2, JSON: 1, "application/*": 0, "*/*": 0}


def negotiate(accept: str | None) -> str:
    """The media type to answer with, by the Accept header's quality values."""
    best: tuple[float, int] = (0.0, -1)
    chosen = JSON
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        rank = _RANKS.get(media.lower())
        if rank is None:
            continue
        quality = _quality(params)
        if quality > 0 and (quality, rank) > best:
            best = (quality, rank)
            chosen = GRAPHQL_RESPONSE_JSON if rank == 2 else JSON
    return chosen


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def failed_before_execution(result: Mapping[str, Any]) -> bool:
    """A result of a request that never reached execution: errors without a path (parsing,
    validation, variable coercion, cost) and no data."""
    errors = result.get("errors")
    return (
        result.get("data") is None
        and bool(errors)
        and all(not error.get("path") for error in errors or ())
    )


def status_code(media_type: str, body: Mapping[str, Any] | list[Any]) -> int:
    if media_type == GRAPHQL_RESPONSE_JSON and isinstance(body, Mapping) and "data" not in body:
        return 400
    return 200


def content_type(media_type: str) -> str:
    return f"{media_type}; charset=utf-8"


def request_error(
    status: int, message: str, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    """A request that is not a runnable GraphQL request: 4xx with a GraphQL error body."""
    body = json.dumps({"errors": [{"message": message}]}, separators=(",", ":"))
    response = Response(body, status_code=status, headers=dict(headers or {}))
    response.headers["content-type"] = content_type(media_type)
    return response
