"""`python -m bench --quick` keeps working: every scenario runs against a real server on a tiny
catalogue, with no failed request and no oversold unit (the figures themselves are not tested)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import scenarios
from bench.harness import ROOT, running_server, wrk_available
from tests.conftest import REQUIRE_PG, _postgres_answers

READS = ("listing", "product_page")


def _backends() -> list[str]:
    """SQLite, and PostgreSQL when it answers (CI requires it, as the rest of the suite does)."""
    reason = _postgres_answers()
    if reason and REQUIRE_PG:
        pytest.fail(f"STOCKROOM_REQUIRE_POSTGRES=1 but {reason}")
    return ["sqlite"] if reason else ["sqlite", "postgres"]


def _run_quick(backends: list[str], out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--driver",
            "python",
            "--backends",
            ",".join(backends),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # a minute or two; more on a machine other jobs share
    )


@pytest.mark.slow
def test_quick_bench_runs_every_scenario(tmp_path: Path) -> None:
    """One run for both backends (the ceiling is measured once, as in `make bench`)."""
    backends = _backends()
    out = tmp_path / "results.json"
    run = _run_quick(backends, out)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    assert list(results["backends"]) == backends
    for clients in ("c1", "c16"):
        assert results["ceiling"][clients]["errors"] == 0
    for backend in backends:
        _check_backend(backend, results["backends"][backend], run.stdout)
        subscribed = results["subscriptions"][backend]  # every change reached every subscriber
        processes = {"sqlite": 1, "postgres": 2}[backend]
        assert subscribed["samples"] == subscribed["changes"] * subscribed["subscribers"]
        assert subscribed["processes"] == processes and subscribed["subscribers"] == 2 * processes
        assert f"| {backend} | {processes} | {2 * processes} | 6 | any process |" in run.stdout


def _check_backend(backend: str, sizes: dict[str, Any], table: str) -> None:
    (size, data), *others = sizes.items()
    assert not others and size == "200"
    for read in READS:
        for clients in ("c1", "c16"):
            figures = data[read][clients]
            assert figures["errors"] == 0 and figures["rps"] > 0, figures
            assert figures["sql_statements"] > 0  # the server reported its statements
    # page and categories (currencies and tax rates are kept by the process)
    assert data["listing"]["c1"]["sql_statements"] == 2
    for clients in ("c1", "c16"):  # the persisted GET answered from the response cache
        cached = data["listing_cached"][clients]
        assert cached["errors"] == 0 and cached["sql_statements"] == 0, cached
        assert data["bytes_ceiling"][clients]["errors"] == 0
        near = data["listing_ceiling"][clients]  # measured right after the listing
        assert near["errors"] == 0 and near["rps"] > 0, near
    assert data["listing_2_workers"]["c16"]["errors"] == 0
    for clients in ("c1", "c16"):
        flow = data["checkout_flow"][clients]
        assert flow["errors"] == 0 and flow["requests"] == 4, flow
        assert flow["sql_statements"] > 5  # summed over the flow's five requests
    race = data["contention"]
    assert race == race | {"units": 3, "buyers": 10, "paid": 3, "oversold": 0, "other_errors": 0}
    assert race["allocated"] == 3
    assert data["peak_memory_mib"] > 0

    assert f"| {backend} | listing, 200 products | 16 |" in table
    assert "| none | ceiling: the listing from memory, measured right after | 16 |" in table
    assert f"| {backend} | checkout flow" in table
    assert "contention: 10 buyers pay for 3 units" in table and "oversold 0" in table
    assert "PROBLEM" not in table


@pytest.mark.skipif(not wrk_available(), reason="wrk is not installed (make bench installs it)")
async def test_wrk_driver_reads_the_ceiling_app() -> None:
    async with running_server("unused", command=["-m", "bench.ceiling"]) as server:
        load = scenarios.Load("wrk", seconds=1, requests=0)
        result = await scenarios.listing(server.base, "none", 4, load)
    assert result.driver == "wrk"
    assert result.errors == 0 and result.requests > 10
    assert 0 < result.p50_ms <= result.p99_ms


def _run_bench(module: str, knobs: list[str], tmp_path: Path) -> dict[str, Any]:
    """Run `python -m module` on every backend there is (with `knobs`): its results by backend."""
    backends = _backends()
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", module, *knobs, "--backends", ",".join(backends), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results: dict[str, Any] = json.loads(out.read_text())["backends"]
    assert list(results) == backends
    return results


@pytest.mark.slow
def test_cart_bench_runs_every_scenario(tmp_path: Path) -> None:
    """`python -m bench.carts` (issue 11) on a tiny catalogue: adds, flows, the race and the
    statements of every cart, order and payment mutation, without a failed request."""
    knobs = ["--size", "50", "--adds", "10", "--flows", "4", "--units", "3", "--buyers", "8"]
    for data in _run_bench("bench.carts", knobs, tmp_path).values():
        for key in ("cart_item_add", "checkout_flow"):
            for clients in ("c1", "c16"):
                assert data[key][clients]["errors"] == 0, data[key]
        assert data["cart_item_add"]["c16"]["sql_statements"] == 3
        race = data["contention"]
        assert race["paid"] == 3 and race["oversold"] == 0 and race["other_errors"] == 0
        assert data["statements"]["cartItemAdd"] == 3
        assert len(data["statements"]) == 12 and min(data["statements"].values()) > 0


def test_search_bench_runs_every_scenario(tmp_path: Path) -> None:
    """`python -m bench.search` (issue 17) on a tiny catalogue: every search and facets
    scenario, each paired with the listing, and both ways of creating products, without a
    failed request."""
    knobs = ["--size", "300", "--requests", "10", "--singles", "5", "--bulk", "20"]
    for data in _run_bench("bench.search", knobs, tmp_path).values():
        reads = {label: value for label, value in data.items() if isinstance(value, dict)}
        assert {"listing", "facets: one word", "facets: prefix"} <= set(reads)
        assert sum(label.startswith("search: ") for label in reads) == 5
        for label, value in reads.items():
            assert value["errors"] == 0 and value["requests"] == 10, (label, value)
            assert value["x_listing"] > 0
        assert data["create products/s: productBulkCreate"] > 0
