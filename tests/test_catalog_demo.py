"""The demo shop: `python server.py seed-demo` fills an empty store (and only an empty one);
`--offer-demo` asks on a terminal and never waits without one."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.harness import ROOT, free_port
from models.settings import Settings
from server import _catalogue_is_empty, offer_demo, seed_demo
from tests.conftest import Api

DEMO_VIEW = """{
  products(first: 100, filter: {isChild: false}) { totalCount edges { node {
    sku stockStatus price { withTax { formatted } }
    categories { slug parent { slug } } brand { slug } children { sku stockStatus }
  } } }
  categories { slug children { slug } }
  currencies { code }
}"""


def _seed(db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STOCKROOM_DATABASE_URL": db_url, "STOCKROOM_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "server.py", "seed-demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_seed_demo_fills_an_empty_store_once(
    db_url: str, api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    first = await asyncio.to_thread(_seed, db_url)
    assert first.returncode == 0, first.stderr
    assert "Loaded the demo shop: 10 products and 11 variants" in first.stdout

    shop = await api.storefront(DEMO_VIEW)
    products = {e["node"]["sku"]: e["node"] for e in shop["products"]["edges"]}
    assert len(products) == 9 and "STICKERS-DRAFT" not in products  # a draft stays hidden
    tee = products["TEE-CLASSIC"]
    assert tee["categories"] == [{"slug": "t-shirts", "parent": {"slug": "clothing"}}]
    assert tee["price"]["withTax"]["formatted"] == "$30.00"  # 2500 + 20% tax
    assert len(tee["children"]) == 8
    assert {c["stockStatus"] for c in tee["children"]} == {"IN_STOCK", "LOW_STOCK", "OUT_OF_STOCK"}
    assert products["BEANIE-WOOL"]["stockStatus"] == "OUT_OF_STOCK"
    assert [c["slug"] for c in shop["categories"]] == ["clothing", "home", "accessories"]
    assert [c["code"] for c in shop["currencies"]] == ["USD", "EUR", "GBP", "JPY"]
    methods = await api.storefront("{ shippingMethods { slug } }")
    assert {m["slug"] for m in methods["shippingMethods"]} == {"standard", "express", "free"}
    offers = await api.admin("{ promotions { edges { node { code kind categories { slug } } } } }")
    assert sorted(
        (e["node"]["code"] or "", e["node"]["kind"], [c["slug"] for c in e["node"]["categories"]])
        for e in offers["promotions"]["edges"]
    ) == [("", "AMOUNT_OFF", ["home"]), ("WELCOME10", "PERCENT_OFF", [])]

    capsys.readouterr()
    again = await asyncio.to_thread(seed_demo, Settings(database_url=db_url))
    assert again == 1  # the exit status: nothing loaded a second time
    assert "already has products" in capsys.readouterr().err
    assert (await api.admin(DEMO_VIEW))["products"]["totalCount"] == 10  # nothing added


def test_offer_without_a_terminal_only_says_how(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(_: str) -> str:
        raise AssertionError("must not ask without a terminal")

    offer_demo(settings, interactive=False, ask=never)
    assert "make seed-demo" in capsys.readouterr().out
    assert asyncio.run(_catalogue_is_empty(settings))


def test_offer_on_a_terminal_loads_the_demo_when_accepted(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    offer_demo(settings, interactive=True, ask=lambda _: "n")
    assert asyncio.run(_catalogue_is_empty(settings))
    offer_demo(settings, interactive=True, ask=lambda _: "\n")  # Enter: the default, yes
    assert "Loaded the demo shop" in capsys.readouterr().out
    assert not asyncio.run(_catalogue_is_empty(settings))

    def never(_: str) -> str:
        raise AssertionError("a store with products is not offered the demo")

    offer_demo(settings, interactive=True, ask=never)


@pytest.mark.slow
async def test_serving_with_offer_demo_never_waits_for_input(tmp_path: Path) -> None:
    """What `make run` does on a new store, with stdin that is not a terminal: it must serve
    at once (the backend does not matter here: a fresh SQLite file)."""
    port = free_port()
    log = tmp_path / "server.log"
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    env = {**os.environ, "STOCKROOM_DATABASE_URL": db_url, "STOCKROOM_LOG_LEVEL": "WARNING"}
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "server.py",
            "--offer-demo",
            "--port",
            str(port),
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,  # open, never written: reading it would block forever
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            healthy = await _wait_healthy(f"http://127.0.0.1:{port}/health")
        finally:
            process.terminate()
            await process.wait()
    assert healthy
    output = log.read_text()
    assert "make seed-demo" in output
    # the new store's credentials end with a line to paste into a shell
    export = next(line for line in output.splitlines() if line.startswith("export "))
    assert export.split()[1].startswith("STOCKROOM_CLIENT_ID=")
    assert export.split()[2].startswith("STOCKROOM_CLIENT_SECRET=")


async def _wait_healthy(url: str) -> bool:
    async with httpx.AsyncClient() as client:
        for _ in range(150):
            try:
                if (await client.get(url)).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    return False
