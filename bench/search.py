"""`python -m bench.search`: search, facets and bulk import (API.md section 15) on a generated
catalogue, against the plain listing, over HTTP with a storefront token, one server process.

python -m bench.search                               # SQLite and PostgreSQL, 100k products
python -m bench.search --backends postgres --size 1000000

Each read is the storefront listing document of `make bench` (20 products with prices, stock
status and categories), with and without `filter: {search}`, driven one client at a time
(p50 is what the issue's figures compare); facets are productFacets with and without a search.
Each scenario alternates with the plain listing, in ROUNDS rounds: its "x listing" is the
median of its rounds' p50 over the listing's p50 of the same round.
Every request runs (the response cache is off, as in `make bench`: it would answer the
repeated listings without SQL); the unfiltered facets are kept under the catalogue stamp, so
their p50 is a kept answer (computing them: about the first request's time).
The bulk rows create products through productBulkCreate (batches of 500) and through one
productCreate per product, in products per second.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench import scenarios
from bench.__main__ import SERVER_ENV, clients, drop_database, fresh_database, seeded, stats
from bench.harness import ROOT, running_server, wrk_available

SEARCHES = {
    # bench/catalog.py: a colour is in 1 of 20 descriptions, a material in 1 of 10
    "one word (5% match)": "teal",
    "prefix (10% match)": "walnu",
    "three words": "rustic teal mug",
    "no match": "zzqxw",
    "common word (20% match)": "kettle",
}
FACETS = """query($filter: ProductFilter) { productFacets(filter: $filter) {
  totalCount inStock categories { category { id name slug } count }
  brands { brand { id name slug } count } priceRanges { min max count } } }"""
CREATE = """mutation($input: ProductInput!) { productCreate(input: $input) {
  product { id } errors { code message } } }"""
BULK = """mutation($inputs: [ProductInput!]!) { productBulkCreate(inputs: $inputs) {
  products { id } errors { code field message } } }"""


def _inputs(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "sku": f"{prefix}-{i}",
            "name": f"Imported lamp {prefix} {i}",
            "description": "A brass lamp for the study.",
            "price": 1000 + i,
            "status": "LIVE",
            "manageStock": True,
            "stock": 5,
        }
        for i in range(count)
    ]


async def _rate(admin: scenarios.Client, count: int, bulk: bool) -> float:
    """Products created per second, by productBulkCreate batches or one productCreate each."""
    prefix = f"B{uuid.uuid4().hex[:6]}"
    inputs = _inputs(prefix, count)
    async with httpx.AsyncClient(timeout=600) as http:
        started = time.perf_counter()
        if bulk:
            for start in range(0, count, 500):
                data = await admin.run(http, BULK, {"inputs": inputs[start : start + 500]})
                assert data["productBulkCreate"]["errors"] == [], data
        else:
            for one in inputs:
                data = await admin.run(http, CREATE, {"input": one})
                assert data["productCreate"]["errors"] == [], data
        return count / (time.perf_counter() - started)


ROUNDS = 5
"""Each scenario is measured in this many rounds, each a run of the plain listing then a run of
the scenario (a fifth of the requests each), so that the ratio compares requests made under the
same conditions: this machine's speed drifts by tens of percent from one minute to the next,
and a listing measured once, before every scenario, made the ratios drift with it."""


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


async def _paired(
    base: str, token: str, query: str, variables: dict[str, Any], load: scenarios.Load, cpu: Any
) -> dict[str, Any]:
    """The scenario's figures (medians over the rounds of each round's p50 and p99) and
    `x_listing`, the median over the rounds of its p50 over the listing's p50 of that round."""
    part = replace(load, requests=max(1, load.requests // ROUNDS), warmup=2)
    listing = {"first": 20, "filter": None}
    rounds = []
    for _ in range(ROUNDS):
        plain = await scenarios.read(base, token, scenarios.LISTING_FILTERED, listing, 1, part)
        result = await scenarios.read(base, token, query, variables, 1, part, cpu)
        rounds.append((plain, result))
    figures = stats(rounds[-1][1])
    figures.update(
        p50_ms=_median([r.p50_ms for _, r in rounds]),
        p99_ms=_median([r.p99_ms for _, r in rounds]),
        requests=sum(r.requests for _, r in rounds),
        errors=sum(r.errors for _, r in rounds),
        listing_p50_ms=_median([p.p50_ms for p, _ in rounds]),
        x_listing=_median([r.p50_ms / p.p50_ms for p, r in rounds if p.p50_ms]),
    )
    return figures


async def _reads(base: str, token: str, load: scenarios.Load, cpu: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}

    async def measure(label: str, query: str, variables: dict[str, Any]) -> None:
        out[label] = figures = await _paired(base, token, query, variables, load, cpu)
        print(f"    {label}: p50 {figures['p50_ms']:.1f} ms, x{figures['x_listing']}", flush=True)

    await measure("listing", scenarios.LISTING_FILTERED, {"first": 20, "filter": None})
    for label, term in SEARCHES.items():
        variables = {"first": 20, "filter": {"search": term}}
        await measure(f"search: {label}", scenarios.LISTING_FILTERED, variables)
    await measure("facets: whole catalogue", FACETS, {"filter": None})
    for label in ("one word (5% match)", "prefix (10% match)"):
        variables = {"filter": {"search": SEARCHES[label]}}
        await measure(f"facets: {label.split(' (')[0]}", FACETS, variables)
    return out


async def vacuumed(url: str) -> None:
    """VACUUM ANALYZE a PostgreSQL database, as autovacuum leaves a live one after a bulk load
    (this machine's test cluster runs without autovacuum): index-only scans then skip the heap."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def run_backend(backend: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    name = f"stockroom_bench_search_{args.size}_{uuid.uuid4().hex[:6]}"
    url = await fresh_database(backend, name, scratch)
    try:
        seed_seconds = await seeded(url, args.size)
        if backend == "postgres":
            await vacuumed(url)
        print(f"  {backend}: seeded {args.size:,} products in {seed_seconds:.0f} s", flush=True)
        async with running_server(url, workers=1, **SERVER_ENV) as server:
            admin, shop = await clients(server.base)
            load = scenarios.Load(args.driver, args.seconds, args.requests, args.warmup)
            out = await _reads(server.base, shop.token, load, server.cpu_seconds)
            single = await _rate(admin, args.singles, bulk=False)
            bulk = await _rate(admin, args.bulk, bulk=True)
            out["create products/s: one productCreate each"] = round(single, 1)
            out["create products/s: productBulkCreate"] = round(bulk, 1)
            print(f"    single {single:.0f}/s, bulk {bulk:.0f}/s", flush=True)
        return {"size": args.size, "seed_seconds": round(seed_seconds, 1), **out}
    finally:
        await drop_database(backend, name)


def table(results: dict[str, Any]) -> str:
    lines = [
        "| backend | products | scenario | p50 ms | p99 ms | x listing p50 | SQL/req |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, data in results["backends"].items():
        for label, value in data.items():
            if isinstance(value, dict):
                ratio = f"{value['x_listing']:.2f}"
                lines.append(
                    f"| {backend} | {data['size']:,} | {label} | {value['p50_ms']} | "
                    f"{value['p99_ms']} | {ratio} | {value['sql_statements'] or ''} |"
                )
        for label, value in data.items():
            if label.startswith("create products/s"):
                lines.append(f"| {backend} | {data['size']:,} | {label} | {value} | | | |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="python")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--requests", type=int, default=100, help="per read (Python driver)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--singles", type=int, default=200, help="products made one at a time")
    parser.add_argument("--bulk", type=int, default=5000, help="products made in bulk")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "search.json"))
    args = parser.parse_args()
    if args.driver == "auto":
        args.driver = "wrk" if wrk_available() else "python"
    args.backends = args.backends.split(",")
    return args


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        backends = {b: await run_backend(b, args, Path(scratch)) for b in args.backends}
    return {"driver": args.driver, "backends": backends}


def main() -> None:
    args = parse_args()
    results = asyncio.run(measure(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
