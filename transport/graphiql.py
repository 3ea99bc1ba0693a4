"""GraphiQL, served offline: the page (static/graphiql/index.html) for a browser's GET /graphql
and its assets at /graphiql/ (a pinned GraphiQL build with its licences, refreshed by
`make graphiql-assets`; serving needs no Node and no internet).

The page needs a token like every other client (a token-less request is 401, API.md section
2): it has a "get a token" bar (a client id gives a storefront token; with the secret, an admin
one) that puts `Authorization: Bearer ...` into the Headers pane, and its fetcher sends the
pane's headers with every request, the schema introspection included; changing the headers
fetches the schema again, so the Docs pane and autocomplete follow the token's role.
"""

from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "graphiql"
MOUNT = "/graphiql"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:"
)
"""The browser itself refuses anything from another origin: the page cannot leak a request."""


@cache
def _page() -> str:
    return (ASSETS / "index.html").read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(
        _page(),
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"},
    )


def graphiql_assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS)
