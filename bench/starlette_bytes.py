"""The cached listing's ceiling: Starlette returning the same answer from memory, body and
headers (Cache-Control, Vary, ETag, X-Request-ID...: uvicorn handles each header it sends), with
no GraphQL, no auth, no database, on uvicorn like the real server.

    python -m bench.starlette_bytes --body FILE [--headers FILE.json] --port P
"""

import argparse
import json
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app(body: bytes, headers: list[tuple[str, str]] | None = None) -> Starlette:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers or []]
    media_type = None if any(k == b"content-type" for k, _ in raw) else "application/json"

    async def graphql(request: Request) -> Response:
        response = Response(body, media_type=media_type)
        response.raw_headers.extend(raw)
        return response

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/health", health)]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--headers", type=Path, help="a JSON list of [name, value] pairs")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    headers = json.loads(args.headers.read_text()) if args.headers else None
    uvicorn.run(
        create_app(args.body.read_bytes(), headers),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )
