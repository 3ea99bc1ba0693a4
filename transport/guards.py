"""What a request may carry, checked once at the edge, before anything reads it further:

- the body's size (`STOCKROOM_MAX_BODY_BYTES`): 413 before the body is read whole, on every
  route (the Content-Length up front, and the bytes as they arrive for a chunked body);
- a JSON body (or JSON in URL parameters): valid UTF-8, valid JSON, an object, nested at most
  `MAX_JSON_DEPTH` deep;
- every string in it (keys too): no NUL (PostgreSQL stores none), no lone UTF-16 surrogate
  (no encoding can store one), at most `MAX_STRING_CHARS` characters.

Whatever passes reaches the schema as text every layer below can store and compare; what
fails is a 400 naming the rule, and nothing runs.
"""

import json
import re
from collections.abc import Iterable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_DEPTH = 32
"""Objects and lists inside one another in a body or its variables (custom-field values
included): far more than any input of the API needs."""
MAX_STRING_CHARS = 200_000
"""Twice the longest text any field accepts (a product description, 100,000): each field's
own bound gives the clearer error, this one guards what no field bound reaches."""
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_BAD_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
"""The only ways a decoded JSON string can hold a NUL or a surrogate besides the raw
character itself: a `\\u0000` or `\\uD800`-`\\uDFFF` escape (a valid surrogate pair
decodes to one character, but is matched too: it only sends the value to the full walk)."""


class BadInput(ValueError):
    """The request's content breaks one of the rules above (the message says which)."""


def text_problem(value: Any) -> str | None:
    """Why `value` (decoded JSON, or a string) may not be used, or None. Walks the value
    without recursion, so any depth is answered, not crashed on."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            problem = _string_problem(item)
            if problem:
                return problem
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return f"objects and lists may nest at most {MAX_JSON_DEPTH} deep"
            children: Iterable[Any] = (
                (*item.keys(), *item.values()) if isinstance(item, dict) else item
            )
            pending.extend((child, depth + 1) for child in children)
    return None


def _string_problem(text: str) -> str | None:
    if len(text) > MAX_STRING_CHARS:
        return f"a string is longer than {MAX_STRING_CHARS} characters"
    found = _BAD_CHARACTER.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text may not contain NUL characters (U+0000)"
    return "text may not contain lone UTF-16 surrogates (U+D800 to U+DFFF): not valid Unicode"


def decode_json(data: str | bytes) -> dict[str, Any] | list[Any]:
    """A JSON body or parameter that passes the rules above, or BadInput."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput("the body is not valid UTF-8") from exc
    try:
        value = json.loads(data)
    except RecursionError as exc:  # the decoder refuses ~1000 levels, catchably
        raise BadInput(f"objects and lists may nest at most {MAX_JSON_DEPTH} deep") from exc
    except json.JSONDecodeError as exc:
        raise BadInput("the body is not valid JSON") from exc
    if not isinstance(value, dict | list):
        raise BadInput("the body must be a JSON object")
    problem = _nesting_problem(value) if _plain_text(data) else text_problem(value)
    if problem:
        raise BadInput(problem)
    return value


def _plain_text(data: str) -> bool:
    """True when no string decoded from the JSON text `data` can break a string rule: the
    text is no longer than a string may be, and has no bad character raw or escaped (a
    decoded string is never longer than its text, and gets a NUL or a surrogate only from
    one of those). A 500-product bulk body then skips the check of its ~5,000 strings."""
    return (
        len(data) <= MAX_STRING_CHARS
        and _BAD_CHARACTER.search(data) is None
        and _BAD_ESCAPE.search(data) is None
    )


def _nesting_problem(value: dict[str, Any] | list[Any]) -> str | None:
    """`text_problem`'s depth rule alone, one level of objects and lists at a time."""
    level: list[Any] = [value]
    for _depth in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) is dict or type(child) is list
        ]
        if not level:
            return None
    return f"objects and lists may nest at most {MAX_JSON_DEPTH} deep"


class BodyTooLarge(Exception):
    pass


def _too_large_response(max_bytes: int) -> JSONResponse:
    message = f"the request body is larger than {max_bytes} bytes (STOCKROOM_MAX_BODY_BYTES)"
    return JSONResponse(
        {
            "error": "invalid_request",
            "error_description": message,
            "errors": [{"message": message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}],
        },
        status_code=413,
        headers={"Connection": "close"},
    )


class BodySizeLimit:
    """413 for an HTTP request whose body exceeds `max_bytes`, on every route: at once when
    its Content-Length says so, else as soon as the bytes received pass the limit (so no more
    than `max_bytes` of one request is ever held)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large_response(self.max_bytes)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large_response(self.max_bytes)(scope, receive, send)
