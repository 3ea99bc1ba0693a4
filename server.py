"""Stockroom: app factory and command line.

python server.py [--host H] [--port P] [--workers N]   serve (migrates first)
python server.py create-client NAME                      print a new admin client's credentials
python server.py export-schema                           print the GraphQL SDL
python server.py migrate                                 apply pending migrations only
python server.py seed-demo                               fill an empty store with a demo shop
python server.py --offer-demo                            serve; on an empty store, offer the demo
"""

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

import importer
from domain import (
    auth,
    carts,
    currencies,
    delivery,
    demo,
    eventbus,
    events,
    payments,
    reservations,
)
from domain.errors import DomainError
from domain.ratelimit import failure_limits
from models import migrate
from models.engine import Database, StatementCounter
from models.settings import Settings, get_settings
from resolvers.observability import configure_logging, start_request
from schema import build_schema
from transport import graphiql, metrics
from transport.access_log import AccessLog
from transport.fast_path import CachedReads
from transport.guards import BodySizeLimit
from transport.http import StockroomGraphQL, health_endpoint, token_endpoint
from transport.one_write import OneWriteHttpToolsProtocol
from transport.outage import OutageMiddleware
from transport.ratelimit import rate_limited
from transport.tracing import add_tracing

log = logging.getLogger("stockroom")

BackgroundJob = Callable[[Database, Settings], Coroutine[Any, Any, None]]
BACKGROUND_JOBS: list[BackgroundJob] = [
    payments.payment_sweeper,
    carts.expired_cart_sweeper,
    reservations.reservation_sweeper,
    eventbus.listener,
    delivery.delivery_worker,
]
"""Jobs each server process runs while it serves (e.g. the expired-cart sweep, and on
PostgreSQL the one LISTEN connection that feeds the process's subscriptions)."""

metrics.register_gauge(
    "stockroom_webhook_backlog",
    "Webhook deliveries waiting to be sent (PENDING) plus events not yet fanned out.",
    delivery.backlog,
)


GC_YOUNG_THRESHOLD = 5000
"""Allocations between young-generation collections (Python's default: 700). A listing
request allocates a few thousand objects that mostly die with it; at 700 the collector ran
once per request and found them still alive, then walked them again in older generations.
Measured on the listing, in process: 0.23-0.43 -> 0.09-0.20 ms of collection per request."""


CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Currency",
    "X-Customer-Token",
    "X-Request-ID",
]


class RequestIdMiddleware:
    """Binds a request id to every HTTP request (X-Request-ID in and out) for logs and errors;
    with `count_sql`, also reports the SQL statements the request ran (X-SQL-Statements)."""

    def __init__(self, app: ASGIApp, count_sql: bool = False) -> None:
        self.app = app
        self.count_sql = count_sql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = start_request(incoming)

        counter = StatementCounter() if self.count_sql else None

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                if counter is not None:
                    headers.append((b"x-sql-statements", str(counter.count).encode()))
            await send(message)

        if counter is None:
            await self.app(scope, receive, send_with_id)
            return
        with counter:
            await self.app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None, db: Database | None = None) -> Starlette:
    """The ASGI app. The database must already be migrated (see `prepare_database`)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    auth.configure_password_hashing(settings)
    events.configure(settings.low_stock_threshold)
    db = db or Database(
        settings.database_url, pool_size=settings.pool_size, stamp_push=settings.stamp_push
    )
    failures = failure_limits(db, settings.redis_url)
    view = StockroomGraphQL(build_schema(settings), db, settings, failure_limits=failures)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(job(db, settings)) for job in BACKGROUND_JOBS]
        # What start-up made (the schema, the models, imported modules) lives as long as the
        # process: moved out of the collector's reach, a full collection no longer walks it
        # (measured: gen-2 pauses of ~90 ms that set the listing's p99 drop to ~25 ms).
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route(
                "/oauth/access_token",
                rate_limited(token_endpoint(db, settings), failures),
                methods=["POST"],
            ),
            Route("/health", health_endpoint(db), methods=["GET"]),
            Route("/metrics", metrics.metrics_endpoint(db), methods=["GET"]),
            Mount(graphiql.MOUNT, app=graphiql.graphiql_assets()),
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.add_middleware(OutageMiddleware)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog, db=db)  # inside RequestIdMiddleware: its lines carry the id
    app.add_middleware(RequestIdMiddleware, count_sql=settings.sql_count_header)
    add_tracing(app)  # when OpenTelemetry is installed and configured
    origins = settings.cors_origin_list
    if origins:  # storefronts in browsers on other origins (preflights included, 401s too)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(  # outermost: answers response-cache hits before the stack
        CachedReads, view=view, count_sql=settings.sql_count_header
    )
    return app


async def prepare_database(settings: Settings) -> tuple[str, str] | None:
    """Migrate to head and bootstrap the store; returns new admin credentials if it made any."""
    auth.configure_password_hashing(settings)
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db)
        async with db.transaction() as session:
            await currencies.ensure_store_currency(session, settings.currency)
            await payments.ensure_gateways(session)
            if settings.client_id and settings.client_secret:
                await auth.ensure_configured_client(
                    session, settings.client_id, settings.client_secret
                )
            elif not await auth.has_any_client(session):
                client, secret = await auth.create_client(session, "default")
                return client.client_id, secret
        return None
    finally:
        await db.dispose()


def print_credentials(client_id: str, secret: str, heading: str) -> None:
    """On stdout (logs go to stderr), ending with a line to paste into a shell: the README's
    examples and the server itself read these two variables."""
    print(f"\n{heading}")
    print(f"  client_id:     {client_id}")
    print(f"  client_secret: {secret}")
    print("  (the secret is shown only now; it is stored hashed) Copy this line:\n")
    print(f"export STOCKROOM_CLIENT_ID={client_id} STOCKROOM_CLIENT_SECRET={secret}\n", flush=True)


async def _create_client(settings: Settings, name: str) -> tuple[str, str]:
    await prepare_database(settings)
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            client, secret = await auth.create_client(session, name)
            return client.client_id, secret
    finally:
        await db.dispose()


async def _seed_demo(settings: Settings) -> demo.DemoSummary:
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            return await demo.seed(session)
    finally:
        await db.dispose()


async def _catalogue_is_empty(settings: Settings) -> bool:
    db = Database(settings.database_url)
    try:
        async with db.reader() as session:
            return await demo.catalogue_is_empty(session)
    finally:
        await db.dispose()


def seed_demo(settings: Settings) -> int:
    """`seed-demo`: the demo shop in an empty store (exit status 1 if it has products)."""
    try:
        summary = asyncio.run(_seed_demo(settings))
    except DomainError as error:
        print(f"Not loading the demo shop: {error.message}.", file=sys.stderr)
        return 1
    print(
        f"Loaded the demo shop: {summary.products} products and {summary.children} variants "
        f"in {summary.categories} categories, {summary.shipping_methods} shipping methods"
        + (f", currencies {', '.join(summary.currencies)}" if summary.currencies else "")
        + ".\nTry in GraphiQL: { products(first: 5) { edges { node { name "
        "price { withTax { formatted } } stockStatus } } } }",
        flush=True,
    )
    return 0


def ask_on_stdout(question: str) -> str:
    """The answer to a question printed on stdout (input() may prompt on stderr)."""
    print(question, end="", flush=True)
    answer = sys.stdin.readline()
    if not answer:
        raise EOFError
    return answer


def offer_demo(
    settings: Settings, interactive: bool, ask: Callable[[str], str] = ask_on_stdout
) -> None:
    """On an empty catalogue, ask (on a terminal; Enter means yes) whether to load the demo
    shop, or say how to; never waits for input when stdin is not a terminal."""
    if not asyncio.run(_catalogue_is_empty(settings)):
        return
    if not interactive:
        print("The catalogue is empty. To load a demo shop: make seed-demo", flush=True)
        return
    try:
        answer = ask("The catalogue is empty. Load the demo shop? [Y/n] ")
    except EOFError:
        answer = "n"
    if answer.strip().lower() in {"", "y", "yes"}:
        seed_demo(settings)


def serve(settings: Settings, host: str, port: int, workers: int, offer: bool = False) -> None:
    created = asyncio.run(prepare_database(settings))
    if created:
        print_credentials(*created, heading="Created an admin API client for this new store:")
    if offer:
        offer_demo(settings, interactive=sys.stdin.isatty())
    log.info("serving on http://%s:%s/graphql with %d worker(s)", host, port, workers)
    # Each worker process builds its own Settings: this tells it its share of the
    # database connections (Settings.pool_size).
    os.environ["STOCKROOM_WORKERS"] = str(workers)
    metrics_dir = metrics.prepare_multiprocess(workers)
    try:
        uvicorn.run(
            "server:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,  # transport/access_log.py writes one JSON line per request
            lifespan="on",
            http=OneWriteHttpToolsProtocol,  # a whole answer in one write (transport/one_write.py)
            ws_max_size=settings.max_body_bytes,  # a WebSocket message: the body limit too
        )
    finally:
        metrics.finish_multiprocess(metrics_dir)


def parse_args(argv: list[str]) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Stockroom headless commerce API")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument(
        "--workers", type=int, default=settings.workers, help="server processes on one database"
    )
    parser.add_argument(
        "--offer-demo",
        action="store_true",
        help="on an empty catalogue, offer to load the demo shop (asks only on a terminal)",
    )
    commands = parser.add_subparsers(dest="command")
    create = commands.add_parser("create-client", help="create an admin API client")
    create.add_argument("name")
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    commands.add_parser("migrate", help="apply pending database migrations")
    commands.add_parser("seed-demo", help="fill an empty store with a demo shop")
    products = commands.add_parser(
        "import-products", help="create products from a CSV file (all rows or none)"
    )
    products.add_argument("file", help="CSV with a header row (columns: see README.md)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    if args.command == "export-schema":
        print(build_schema(settings).as_str())
    elif args.command == "create-client":
        client_id, secret = asyncio.run(_create_client(settings, args.name))
        print_credentials(client_id, secret, heading=f"Created admin API client {args.name!r}:")
    elif args.command == "migrate":
        asyncio.run(prepare_database(settings))
    elif args.command == "seed-demo":
        created = asyncio.run(prepare_database(settings))
        if created:
            print_credentials(*created, heading="Created an admin API client for this new store:")
        sys.exit(seed_demo(settings))
    elif args.command == "import-products":
        asyncio.run(prepare_database(settings))
        sys.exit(importer.import_products(settings, args.file))
    else:
        serve(settings, args.host, args.port, args.workers, offer=args.offer_demo)


if __name__ == "__main__":
    main()
