"""`make bench` / `python -m bench`: real servers on generated catalogues, driven over HTTP.

python -m bench                      # SQLite and PostgreSQL, 1k / 10k / 100k products
python -m bench --backends sqlite --sizes 1000 --seconds 3
python -m bench --quick              # a tiny smoke run (the test suite runs one)
python -m bench --subscriptions-only # change-to-subscriber latency only (bench/subscriptions.py)

Reads (listing, product page, ceiling) are driven by wrk when it is installed (`make bench`
installs it where it can), else by the Python driver; checkout flows and the contention race
always by the Python driver (they chain requests).
"""

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench import scenarios, subscriptions
from bench.catalog import generate
from bench.harness import ROOT, LiveServer, LoadResult, running_server, wrk_available
from models.engine import Database
from models.settings import Settings
from server import prepare_database

PG_URL = os.environ.get(
    "STOCKROOM_BENCH_POSTGRES_URL",
    os.environ.get(
        "STOCKROOM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    ),
)
CLIENT = {"STOCKROOM_CLIENT_ID": "bench-admin", "STOCKROOM_CLIENT_SECRET": "bench-admin-secret"}
CACHED_ENV = {**CLIENT, "STOCKROOM_SQL_COUNT_HEADER": "1"}
SERVER_ENV = {**CACHED_ENV, "STOCKROOM_RESPONSE_CACHE_SIZE": "0"}
"""Uncached reads: every request runs (the response cache is measured on its own)."""
CONCURRENCY = (1, 16)
FLOW_STOCK = 1_000_000
CATEGORY = "category-3"
"""The category page's category (bench/catalog.py: every product is in two of 20)."""


def stats(result: LoadResult) -> dict[str, Any]:
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "requests": result.requests,
        "errors": result.errors,
        "sql_statements": result.sql_statements,
        "driver": result.driver,
        "server_cpu_ms": result.cpu_ms,
        **({"first_error": result.first_error} if result.first_error else {}),
    }


def _pg_admin_dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


async def fresh_database(backend: str, name: str, scratch: Path) -> str:
    """An empty database (a SQLite file in `scratch`, or a PostgreSQL database `name`)."""
    if backend == "sqlite":
        path = scratch / f"{name}.db"
        path.unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(backend: str, name: str) -> None:
    if backend == "postgres":
        conn = await asyncpg.connect(_pg_admin_dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def seeded(url: str, size: int) -> float:
    """Migrate and generate the catalogue; returns the seconds it took."""
    started = time.perf_counter()
    await prepare_database(
        Settings(
            database_url=url,
            client_id=CLIENT["STOCKROOM_CLIENT_ID"],
            client_secret=CLIENT["STOCKROOM_CLIENT_SECRET"],
        )
    )
    db = Database(url)
    try:
        await generate(db, size)
    finally:
        await db.dispose()
    return time.perf_counter() - started


async def clients(
    base: str, http: httpx.AsyncClient | None = None
) -> tuple[scenarios.Client, scenarios.Client]:
    """An admin and a storefront client of the server at `base`."""
    client_id, secret = CLIENT["STOCKROOM_CLIENT_ID"], CLIENT["STOCKROOM_CLIENT_SECRET"]
    admin = await scenarios.token(base, "client_credentials", client_id, secret, http)
    shop = await scenarios.token(base, "implicit", client_id, http=http)
    return scenarios.Client(base, admin), scenarios.Client(base, shop)


def load_of(args: argparse.Namespace) -> scenarios.Load:
    return scenarios.Load(args.driver, args.seconds, args.requests, args.warmup)


async def reads(
    server: LiveServer, admin: scenarios.Client, shop: scenarios.Client, args: argparse.Namespace
) -> dict[str, Any]:
    """The listing (each concurrency followed by the ceiling's), the product page and a
    category page, at each concurrency."""
    load, cpu = load_of(args), server.cpu_seconds
    slug = await scenarios.make_variant_product(admin)
    out: dict[str, Any] = {
        "listing": {},
        "listing_ceiling": {},
        "product_page": {},
        "category_page": {},
    }
    async with running_server("unused", command=["-m", "bench.ceiling"]) as top:
        for c in CONCURRENCY:
            listing = await scenarios.listing(shop.base, shop.token, c, load, cpu)
            out["listing"][f"c{c}"] = stats(listing)
            # the ceiling right after: its ratio is not moved by the machine's drift
            near = await scenarios.listing(top.base, "none", c, load, top.cpu_seconds)
            out["listing_ceiling"][f"c{c}"] = stats(near)
    for c in CONCURRENCY:
        page = await scenarios.product_page(shop.base, shop.token, slug, c, load, cpu)
        out["product_page"][f"c{c}"] = stats(page)
    for c in CONCURRENCY:
        page = await scenarios.category_page(shop.base, shop.token, CATEGORY, c, load, cpu)
        out["category_page"][f"c{c}"] = stats(page)
    return out


async def writes(
    server: LiveServer, admin: scenarios.Client, shop: scenarios.Client, args: argparse.Namespace
) -> dict[str, Any]:
    """Checkout flows at each concurrency, then the contention race."""
    async with httpx.AsyncClient(timeout=60) as http:
        method = await scenarios.shipping_method(admin, http)
        products = await scenarios.stocked_products(admin, http, 10, FLOW_STOCK)
    flows = {
        f"c{c}": stats(
            await scenarios.checkout_flows(
                shop, products, method, c, args.flows, server.cpu_seconds
            )
        )
        for c in CONCURRENCY
    }
    race = await scenarios.contention(admin, shop, method, args.units, args.buyers)
    return {"checkout_flow": flows, "contention": race}


async def cached_reads(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The listing as a persisted query over GET answered from the response cache, and the
    same bytes returned by a bare Starlette app (its ceiling)."""
    load = load_of(args)
    async with running_server(url, workers=1, **CACHED_ENV) as server:
        _, shop = await clients(server.base)
        get_url, body, headers = await scenarios.persisted_listing(server.base, shop.token)
        cached_base = server.base
        cached = {
            f"c{c}": stats(
                await scenarios.get_url(get_url, shop.token, c, load, server.cpu_seconds)
            )
            for c in CONCURRENCY
        }
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as saved:
        saved.write(body)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as header_file:
        json.dump(headers, header_file)
    try:
        command = [
            "-m", "bench.starlette_bytes", "--body", saved.name, "--headers", header_file.name
        ]  # fmt: skip
        async with running_server("unused", command=command) as server:
            # the same request (path and query string) as the persisted GET: same bytes in
            # and out, so only what answers them differs
            target = server.base + get_url.removeprefix(cached_base)
            ceiling = {
                f"c{c}": stats(await scenarios.get_url(target, "none", c, load, server.cpu_seconds))
                for c in CONCURRENCY
            }
    finally:
        os.unlink(saved.name)
        os.unlink(header_file.name)
    return {"listing_cached": cached, "bytes_ceiling": ceiling}


async def run_size(url: str, size: int, largest: bool, args: argparse.Namespace) -> dict[str, Any]:
    """Every scenario on one catalogue; flows, the race and 2 workers on the largest only."""
    out: dict[str, Any] = {}
    async with running_server(url, workers=1, **SERVER_ENV) as server:
        admin, shop = await clients(server.base)
        out.update(await reads(server, admin, shop, args))
        if largest and not args.reads_only:
            out.update(await writes(server, admin, shop, args))
        out["peak_memory_mib"] = round(server.peak_memory_kib() / 1024, 1)
    out.update(await cached_reads(url, args))
    if largest and not args.reads_only:
        async with running_server(url, workers=2, **SERVER_ENV) as server:
            _, shop = await clients(server.base)
            two = await scenarios.listing(
                server.base, shop.token, 16, load_of(args), server.cpu_seconds
            )
            out["listing_2_workers"] = {"c16": stats(two)}
    return out


async def run_backend(backend: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in args.sizes:
        name = f"stockroom_bench_{size}_{os.getpid()}"  # runs in parallel never collide
        url = await fresh_database(backend, name, scratch)
        try:
            seed_seconds = await seeded(url, size)
            row = await run_size(url, size, size == max(args.sizes), args)
        finally:
            await drop_database(backend, name)
        out[str(size)] = {"seed_seconds": round(seed_seconds, 1), **row}
        print(f"  {backend} {size:,} products done", flush=True)
    return out


async def subscription_latency(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """bench/subscriptions.py on each backend, on an empty store of its own."""
    out: dict[str, Any] = {}
    for backend in args.backends:
        name = f"stockroom_bench_subs_{os.getpid()}"
        url = await fresh_database(backend, name, scratch)
        try:
            await seeded(url, 0)
            out[backend] = await subscriptions.run(url, backend, args.subscribers, args.changes)
        finally:
            await drop_database(backend, name)
        print(f"  {backend} subscriptions done", flush=True)
    return out


async def ceiling(args: argparse.Namespace) -> dict[str, Any]:
    async with running_server("unused", command=["-m", "bench.ceiling"]) as server:
        load, cpu = load_of(args), server.cpu_seconds
        return {
            f"c{c}": stats(await scenarios.listing(server.base, "none", c, load, cpu))
            for c in CONCURRENCY
        }


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _row(backend: str, label: str, clients: int, s: dict[str, Any], ratio: str = "") -> str:
    return (
        f"| {backend} | {label} | {clients} | {s['rps']} | {s['p50_ms']} | {s['p99_ms']} | "
        f"{_blank(s['server_cpu_ms'])} | {_blank(s['sql_statements'])} | {s['errors']} | "
        f"{ratio} |"
    )


def _ratio(s: dict[str, Any], top: dict[str, Any]) -> str:
    """Throughput as a share of the ceiling's, and the ceiling's CPU time as a share of ours."""
    rps = f"{s['rps'] / top['rps']:.2f}" if top["rps"] else "-"
    ours, best = s.get("server_cpu_ms"), top.get("server_cpu_ms")
    cpu = f"{best / ours:.2f}" if ours and best else "-"
    return f"{rps} / {cpu}"


def backend_rows(backend: str, sizes: dict[str, Any], top: dict[str, Any]) -> list[str]:
    lines = []
    for size, data in sizes.items():
        for c in CONCURRENCY:
            s = data["listing"][f"c{c}"]
            near = data.get("listing_ceiling", {}).get(f"c{c}", top[f"c{c}"])
            label = f"listing, {int(size):,} products"
            lines.append(_row(backend, label, c, s, _ratio(s, near)))
            label = "ceiling: the listing from memory, measured right after"
            lines.append(_row("none", label, c, near, "1.00 / 1.00"))
        for c in CONCURRENCY if "listing_cached" in data else ():
            s, top_bytes = data["listing_cached"][f"c{c}"], data["bytes_ceiling"][f"c{c}"]
            label = f"listing, cached (persisted GET, hit), {int(size):,} products"
            lines.append(_row(backend, label, c, s, _ratio(s, top_bytes)))
            label = "ceiling: Starlette returning the same bytes"
            lines.append(_row("none", label, c, top_bytes, "1.00 / 1.00"))
        two = data.get("listing_2_workers")
        if two:
            s = two["c16"]
            label = f"listing, {int(size):,} products, 2 workers"
            lines.append(_row(backend, label, 16, s, _ratio(s, top["c16"])))
    for size, data in sizes.items():
        for c in CONCURRENCY:
            label = f"product page, {int(size):,} products"
            lines.append(_row(backend, label, c, data["product_page"][f"c{c}"]))
    for size, data in sizes.items():
        for c in CONCURRENCY if "category_page" in data else ():
            label = f"category page, {int(size):,} products"
            lines.append(_row(backend, label, c, data["category_page"][f"c{c}"]))
    for size, data in sizes.items():
        for c in CONCURRENCY if "checkout_flow" in data else ():
            label = f"checkout flow (flows/s, SQL per flow), {int(size):,} products"
            lines.append(_row(backend, label, c, data["checkout_flow"][f"c{c}"]))
        race = data.get("contention")
        if race:
            lines.append(
                f"| {backend} | contention: {race['buyers']} buyers pay for {race['units']} "
                f"units | {race['buyers']} | settled in {race['settle_seconds']} s | paid "
                f"{race['paid']} | oversold {race['oversold']} | | | {race['other_errors']} | |"
            )
    return lines


def table(results: dict[str, Any]) -> str:
    top = results["ceiling"]
    lines = [
        "| backend | scenario | clients | req/s | p50 ms | p99 ms | server CPU ms/req | SQL/req "
        "| errors | x ceiling (req/s / CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, sizes in results["backends"].items():
        lines += backend_rows(backend, sizes, top)
    for c in CONCURRENCY:
        label = "ceiling: the listing from memory, minimal Strawberry"
        lines.append(_row("none", label, c, top[f"c{c}"], "1.00 / 1.00"))
    lines += [
        "",
        "| backend | products | seed s | server peak memory MiB (VmHWM) |",
        "|---|---|---|---|",
    ]
    for backend, sizes in results["backends"].items():
        for size, data in sizes.items():
            lines.append(
                f"| {backend} | {int(size):,} | {data['seed_seconds']} | {data['peak_memory_mib']} |"
            )
    return "\n".join(lines)


def problems(results: dict[str, Any]) -> list[str]:
    """Every failed request and every oversold unit in the results (none is acceptable)."""
    found = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("errors"):
                found.append(f"{path}: {node['errors']} errors ({node.get('first_error')})")
            if node.get("oversold") or node.get("other_errors"):
                found.append(f"{path}: oversold {node['oversold']}, other {node['other_errors']}")
            for key, value in node.items():
                walk(value, f"{path}.{key}")

    walk(results, "results")
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seconds", type=float, default=5, help="per read measurement (wrk)")
    parser.add_argument(
        "--requests", type=int, default=300, help="per read measurement (Python driver)"
    )
    parser.add_argument("--warmup", type=int, default=20, help="requests before a measurement")
    parser.add_argument("--flows", type=int, default=60, help="checkout flows per measurement")
    parser.add_argument("--units", type=int, default=20, help="contention: units in stock")
    parser.add_argument("--buyers", type=int, default=100, help="contention: racing buyers")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument(
        "--reads-only", action="store_true", help="no checkout flows, race or 2-worker run"
    )
    parser.add_argument(
        "--subscribers", type=int, default=5, help="subscriptions: subscribers per process"
    )
    parser.add_argument("--changes", type=int, default=200, help="subscriptions: changes made")
    parser.add_argument(
        "--subscriptions-only", action="store_true", help="only the subscription latency"
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.seconds, args.requests, args.warmup, args.flows = "200", 1, 20, 3, 4
        args.units, args.buyers, args.subscribers, args.changes = 3, 10, 2, 6
    if args.driver == "auto":
        args.driver = "wrk" if wrk_available() else "python"
    args.backends = args.backends.split(",")
    args.sizes = [int(s) for s in args.sizes.split(",")]
    return args


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else ""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({model or platform.machine()}), {memory:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        if args.subscriptions_only:
            return {"subscriptions": await subscription_latency(args, Path(scratch))}
        return {
            "machine": machine(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "driver": args.driver,
            "settings": {
                "seconds_per_read": args.seconds,
                "requests_per_read": args.requests,
                "flows": args.flows,
                "units": args.units,
                "buyers": args.buyers,
            },
            "ceiling": await ceiling(args),
            "backends": {b: await run_backend(b, args, Path(scratch)) for b in args.backends},
            "subscriptions": await subscription_latency(args, Path(scratch)),
        }


def main() -> None:
    args = parse_args()
    print(f"driver: {args.driver}; backends {args.backends}; sizes {args.sizes}", flush=True)
    results = asyncio.run(measure(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    if "backends" in results:
        print(f"\n{results['machine']}; reads driven by {results['driver']}\n")
        print(table(results))
    print("\nchange committed -> subscriber received (stockUpdated)\n")
    print(subscriptions.table(results["subscriptions"]))
    print(f"\nresults: {out}")
    found = problems(results)
    for problem in found:
        print(f"PROBLEM {problem}")
    if found:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
