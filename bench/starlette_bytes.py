"""The cached listing's ceiling: Starlette returning the same answer bytes from memory (no
GraphQL, no auth, no database), on uvicorn like the real server.

    python -m bench.starlette_bytes --body FILE --port P
"""

import argparse
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app(body: bytes) -> Starlette:
    async def graphql(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/health", health)]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.body.read_bytes()),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )
