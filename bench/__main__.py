"""`make bench` / `python -m bench`: real servers on generated catalogues, driven over HTTP.

python -m bench                      # SQLite and PostgreSQL, 1k / 10k / 100k products
python -m bench --backends sqlite --sizes 1000 --requests 200
python -m bench --quick              # a tiny smoke run (the test suite uses it)
"""

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench import scenarios
from bench.catalog import generate
from bench.harness import ROOT, LoadResult, running_server
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


def stats(result: LoadResult) -> dict[str, Any]:
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.percentile(50), 2),
        "p99_ms": round(result.percentile(99), 2),
        "requests": result.requests,
        "errors": result.errors,
        "sql_statements": result.sql_statements,
        **({"first_error": result.first_error} if result.first_error else {}),
    }


async def fresh_database(backend: str, name: str, scratch: Path) -> str:
    if backend == "sqlite":
        path = scratch / f"{name}.db"
        path.unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


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


async def clients(base: str) -> tuple[scenarios.Client, scenarios.Client]:
    admin = await scenarios.token(
        base, "client_credentials", CLIENT["STOCKROOM_CLIENT_ID"], CLIENT["STOCKROOM_CLIENT_SECRET"]
    )
    shop = await scenarios.token(base, "implicit", CLIENT["STOCKROOM_CLIENT_ID"])
    return scenarios.Client(base, admin), scenarios.Client(base, shop)


async def flows_and_contention(
    admin: scenarios.Client, shop: scenarios.Client, args: argparse.Namespace
) -> dict[str, Any]:
    method = await scenarios.shipping_method(admin)
    products = await scenarios.product_ids(shop, 50)
    slug = await scenarios.make_variant_product(admin)
    page = await scenarios.product_page(admin.base, shop.token, slug, 16, args.requests)
    flows_1 = await scenarios.checkout_flows(shop, products, method, 1, args.flows)
    flows_16 = await scenarios.checkout_flows(shop, products, method, 16, args.flows)
    race = await scenarios.contention(admin, shop, method, args.units, args.buyers)
    return {
        "product_page_c16": stats(page),
        "checkout_flow_c1": stats(flows_1),
        "checkout_flow_c16": stats(flows_16),
        "contention": race,
    }


async def run_backend(backend: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"listing": {}}
    for size in args.sizes:
        url = await fresh_database(backend, f"stockroom_bench_{size}", scratch)
        seed_seconds = await seeded(url, size)
        env = {**CLIENT, "STOCKROOM_SQL_COUNT_HEADER": "1"}
        async with running_server(url, workers=1, **env) as server:
            admin, shop = await clients(server.base)
            listing = {
                f"c{c}": stats(await scenarios.listing(server.base, shop.token, c, args.requests))
                for c in (1, 16)
            }
            out["listing"][size] = {**listing, "seed_seconds": round(seed_seconds, 1)}
            if size == args.sizes[0]:
                out.update(await flows_and_contention(admin, shop, args))
            out.setdefault("peak_memory_mib", {})[size] = round(server.peak_memory_kib() / 1024, 1)
        if size == args.sizes[0]:
            async with running_server(url, workers=2, **env) as server:
                _, shop = await clients(server.base)
                two = await scenarios.listing(server.base, shop.token, 16, args.requests)
                out["listing_2_workers_c16"] = {"size": size, **stats(two)}
    return out


async def ceiling(args: argparse.Namespace) -> dict[str, Any]:
    async with running_server("unused", command=["-m", "bench.ceiling"]) as server:
        return {
            f"c{c}": stats(await scenarios.listing(server.base, "none", c, args.requests))
            for c in (1, 16)
        }


def table(results: dict[str, Any]) -> str:
    lines = [
        "| backend | scenario | clients | req/s | p50 ms | p99 ms | SQL/req | x ceiling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    top = results["ceiling"]
    for backend, data in results["backends"].items():
        for size, row in data["listing"].items():
            for c in ("c1", "c16"):
                ratio = row[c]["rps"] / top[c]["rps"] if top[c]["rps"] else 0
                lines.append(
                    f"| {backend} | listing, {int(size):,} products | {c[1:]} | {row[c]['rps']} | "
                    f"{row[c]['p50_ms']} | {row[c]['p99_ms']} | {row[c]['sql_statements']} | {ratio:.2f} |"
                )
        two = data.get("listing_2_workers_c16")
        if two:
            lines.append(
                f"| {backend} | listing, 2 workers, {int(two['size']):,} products | 16 | {two['rps']} | "
                f"{two['p50_ms']} | {two['p99_ms']} | {two['sql_statements']} | |"
            )
        for key, label in (
            ("product_page_c16", "product page"),
            ("checkout_flow_c1", "checkout flow"),
            ("checkout_flow_c16", "checkout flow"),
        ):
            row = data.get(key)
            if row:
                lines.append(
                    f"| {backend} | {label} | {key[-2:].lstrip('c')} | {row['rps']} | {row['p50_ms']} | "
                    f"{row['p99_ms']} | {row['sql_statements'] or ''} | |"
                )
        race = data.get("contention")
        if race:
            lines.append(
                f"| {backend} | contention: {race['buyers']} buyers, {race['units']} units | "
                f"{race['buyers']} | settled in {race['settle_seconds']} s | paid {race['paid']} | "
                f"oversold {race['oversold']} | | |"
            )
    for c in ("c1", "c16"):
        lines.append(
            f"| memory | ceiling (minimal Strawberry, in memory) | {c[1:]} | {top[c]['rps']} | "
            f"{top[c]['p50_ms']} | {top[c]['p99_ms']} | 0 | 1.00 |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--requests", type=int, default=400, help="requests per listing measurement"
    )
    parser.add_argument("--flows", type=int, default=60, help="checkout flows per measurement")
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--buyers", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    args = parser.parse_args()
    if args.quick:
        args.backends, args.sizes, args.requests, args.flows = "sqlite", "200", 30, 4
        args.units, args.buyers = 3, 10
    args.backends = args.backends.split(",")
    args.sizes = [int(s) for s in args.sizes.split(",")]
    return args


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        return {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "ceiling": await ceiling(args),
            "backends": {b: await run_backend(b, args, Path(scratch)) for b in args.backends},
        }


def main() -> None:
    args = parse_args()
    results = asyncio.run(measure(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
