"""`python server.py import-products FILE.csv`: a good file is imported (searchable, linked,
stocked); a file with bad rows reports each by line number and imports nothing."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT
from tests.catalog_helpers import PRODUCTS, create_category, create_group
from tests.conftest import Api

COLUMNS = "sku,name,price,status,brand,categories,manageStock,stock,description,customFields"


def _import(db_url: str, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STOCKROOM_DATABASE_URL": db_url, "STOCKROOM_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "server.py", "import-products", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _skus(api: Api, **filter: object) -> set[str]:
    data = await api.admin(PRODUCTS, {"first": 100, "filter": filter})
    return {e["node"]["sku"] for e in data["products"]["edges"]}


async def test_a_good_file_is_imported(db_url: str, api: Api, tmp_path: Path) -> None:
    await create_category(api, "Lights")
    await create_category(api, "Home")
    await create_group(api, "brand", "Acme")
    rows = [
        COLUMNS,
        'CSV-1,Café lamp,1999,LIVE,acme,lights|home,true,4,"Brass, ""vintage""",',
        "CSV-2,Desk,25000,,,,,,,",
    ] + [f"GEN-{i},Generated {i},{100 + i},LIVE,,,,,," for i in range(1200)]
    path = tmp_path / "good.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = await asyncio.to_thread(_import, db_url, path)
    assert result.returncode == 0, result.stderr
    assert "Imported 1202 products" in result.stdout
    assert await _skus(api, search="cafe vintage") == {"CSV-1"}
    assert await _skus(api, categorySlug="home") == {"CSV-1"}
    assert await _skus(api, brandSlug="acme", inStock=True) == {"CSV-1"}
    assert await _skus(api, status="DRAFT") == {"CSV-2"}
    total = await api.admin(PRODUCTS, {"first": 1})
    assert total["products"]["totalCount"] == 1202


async def test_a_file_with_bad_rows_imports_nothing(db_url: str, api: Api, tmp_path: Path) -> None:
    rows = (
        [
            "sku,name,price,brand,manageStock,stock,customFields",
            "OK-1,Fine,100,,,,",
            "BAD-2,,abc,,,,",  # line 3: no name, price not a number
            "BAD-3,Lamp,-5,nobrand,,,",  # line 4: negative price, unknown brand
            "OK-1,Again,100,,,,",  # line 5: the SKU of line 2
            "BAD-6,Odd,1,,maybe,2,{not json",  # line 6
        ]
        + [f"LATE-{i},Late {i},1,,,," for i in range(600)]
        + ["LATE-0,Twice,1,,,,"]
    )
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = await asyncio.to_thread(_import, db_url, path)
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if ": line " in ln]
    reported = [int(ln.split(": line ", 1)[1].split(":", 1)[0]) for ln in lines]
    assert reported == sorted(reported)
    assert set(reported) == {3, 4, 5, 6, 607}, result.stderr
    assert any("price: 'abc' is not a whole number" in ln for ln in lines)
    assert any("line 3: name: name is required" in ln for ln in lines)
    assert not any("line 3: price: price" in ln for ln in lines)  # reported once, as unreadable
    assert any("line 4: brand: no Brand 'nobrand'" in ln for ln in lines)
    assert any("line 5: sku: sku 'OK-1' is already taken" in ln for ln in lines)
    assert any("line 607: sku: 'LATE-0' is also on line 7" in ln for ln in lines)
    assert "Imported nothing" in result.stderr
    assert await _skus(api) == set()


async def test_a_bad_header_or_missing_file_is_reported(
    db_url: str, api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "header.csv"
    path.write_text("sku,title,price\nA,B,1\n", encoding="utf-8")
    result = await asyncio.to_thread(_import, db_url, path)
    assert result.returncode == 1
    assert "line 1: the header must name each column once" in result.stderr
    assert "'title'" in result.stderr and "'name'" in result.stderr
    missing = await asyncio.to_thread(_import, db_url, tmp_path / "nowhere.csv")
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert await _skus(api) == set()
