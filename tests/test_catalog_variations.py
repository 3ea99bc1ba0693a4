"""Variations, options and child products: building, rebuilding (never duplicating),
refreshing, pruning, clashes, visibility and concurrent builds."""

import asyncio
from typing import Any

from sqlalchemy import func, select

from models.catalog import Product
from models.engine import Database
from models.events import Event
from tests.catalog_helpers import (
    PRODUCT_UPDATE,
    PRODUCTS,
    create_product,
    errors_of,
)
from tests.conftest import Api

VARIATION_CREATE = """mutation($id: ID!, $input: VariationInput!) {
  productVariationCreate(productId: $id, input: $input) {
    variation { id name position } errors { code field message } } }"""
OPTION_CREATE = """mutation($id: ID!, $input: VariationOptionInput!) {
  variationOptionCreate(variationId: $id, input: $input) {
    variationOption { id name description priceChange skuSuffix slugSuffix }
    errors { code field message } } }"""
BUILD = """mutation($id: ID!) { productChildrenBuild(productId: $id) {
  product { sku children { id sku slug name status price { withoutTax { amount } }
                           salePrice { withoutTax { amount } } options { name } parent { sku } } }
  errors { code field message } } }"""


async def _variation(api: Api, product_id: str, name: str) -> str:
    result = (await api.admin(VARIATION_CREATE, {"id": product_id, "input": {"name": name}}))[
        "productVariationCreate"
    ]
    assert result["errors"] == [], result["errors"]
    return str(result["variation"]["id"])


async def _option(api: Api, variation_id: str, name: str, **fields: Any) -> dict[str, Any]:
    result = (
        await api.admin(OPTION_CREATE, {"id": variation_id, "input": {"name": name, **fields}})
    )["variationOptionCreate"]
    assert result["errors"] == [], result["errors"]
    return dict(result["variationOption"])


async def _build(api: Api, product_id: str) -> dict[str, Any]:
    return dict((await api.admin(BUILD, {"id": product_id}))["productChildrenBuild"])


async def _tee(api: Api) -> tuple[dict[str, Any], str, str]:
    """A T-shirt with Size (S, M +200) and Colour (Red -100, Navy with its own suffixes)."""
    tee = await create_product(api, "TEE", name="Tee", slug="tee", price=1000, salePrice=800)
    size = await _variation(api, tee["id"], "Size")
    colour = await _variation(api, tee["id"], "Colour")
    await _option(api, size, "S")
    await _option(api, size, "M", priceChange=200)
    await _option(api, colour, "Red", priceChange=-100)
    await _option(api, colour, "Navy Blue", skuSuffix="/NV", slugSuffix="-navy")
    return tee, size, colour


async def test_build_makes_one_child_per_combination(api: Api) -> None:
    tee, _, _ = await _tee(api)
    built = await _build(api, tee["id"])
    assert built["errors"] == []
    children = {c["sku"]: c for c in built["product"]["children"]}
    assert sorted(children) == ["TEE-M-RED", "TEE-M/NV", "TEE-S-RED", "TEE-S/NV"]
    red_m = children["TEE-M-RED"]
    assert red_m["slug"] == "tee-m-red" and children["TEE-S/NV"]["slug"] == "tee-s-navy"
    assert red_m["name"] == "Tee (M, Red)"
    assert red_m["price"]["withoutTax"]["amount"] == 1100  # 1000 + 200 - 100
    assert red_m["salePrice"]["withoutTax"]["amount"] == 900  # 800 + 200 - 100
    assert [o["name"] for o in red_m["options"]] == ["M", "Red"]
    assert red_m["parent"] == {"sku": "TEE"} and red_m["status"] == "LIVE"

    query = """query($id: ID!) { product(id: $id) {
        variations { name position options { name priceChange skuSuffix slugSuffix } } } }"""
    variations = (await api.storefront(query, {"id": tee["id"]}))["product"]["variations"]
    assert [(v["name"], v["position"]) for v in variations] == [("Size", 0), ("Colour", 1)]
    assert variations[1]["options"][1] == {
        "name": "Navy Blue",
        "priceChange": 0,
        "skuSuffix": "/NV",
        "slugSuffix": "-navy",
    }


async def test_rebuilding_never_duplicates_and_keeps_the_childrens_own_state(
    api: Api, db: Database
) -> None:
    tee, size, _ = await _tee(api)
    first = {c["sku"]: c["id"] for c in (await _build(api, tee["id"]))["product"]["children"]}
    own = {"status": "DRAFT", "manageStock": True, "stock": 7}
    await api.admin(PRODUCT_UPDATE, {"id": first["TEE-S-RED"], "input": own})
    await api.admin(PRODUCT_UPDATE, {"id": tee["id"], "input": {"price": 2000, "name": "Shirt"}})

    second = await _build(api, tee["id"])
    children = {c["sku"]: c for c in second["product"]["children"]}
    assert {sku: c["id"] for sku, c in children.items()} == first  # same children
    assert children["TEE-S-RED"]["price"]["withoutTax"]["amount"] == 1900  # refreshed
    assert children["TEE-S-RED"]["name"] == "Shirt (S, Red)"
    query = """query($id: ID!) { product(id: $id) { status stock { total } } }"""
    kept = (await api.admin(query, {"id": first["TEE-S-RED"]}))["product"]
    assert kept == {"status": "DRAFT", "stock": {"total": 7}}

    await _option(api, size, "L", priceChange=400)
    third = await _build(api, tee["id"])
    skus = sorted(c["sku"] for c in third["product"]["children"])
    assert skus == ["TEE-L-RED", "TEE-L/NV", "TEE-M-RED", "TEE-M/NV", "TEE-S-RED", "TEE-S/NV"]
    async with db.reader() as session:
        count = await session.scalar(select(func.count()).select_from(Product))
    assert count == 7


async def test_rebuild_removes_children_of_deleted_options(api: Api) -> None:
    tee, _, _ = await _tee(api)
    await _build(api, tee["id"])
    options = """query($id: ID!) { product(id: $id) { variations { options { id name } } } }"""
    variations = (await api.admin(options, {"id": tee["id"]}))["product"]["variations"]
    red = next(o for o in variations[1]["options"] if o["name"] == "Red")
    delete = "mutation($id: ID!) { variationOptionDelete(id: $id) { errors { code } } }"
    assert (await api.admin(delete, {"id": red["id"]}))["variationOptionDelete"]["errors"] == []
    rebuilt = await _build(api, tee["id"])
    assert sorted(c["sku"] for c in rebuilt["product"]["children"]) == ["TEE-M/NV", "TEE-S/NV"]


async def test_concurrent_builds_make_each_child_once(api: Api, db: Database) -> None:
    tee, _, _ = await _tee(api)
    results = await asyncio.gather(*(_build(api, tee["id"]) for _ in range(4)))
    assert all(r["errors"] == [] for r in results)
    async with db.reader() as session:
        children = await session.scalar(
            select(func.count()).select_from(Product).where(Product.parent_id.is_not(None))
        )
    assert children == 4


async def test_build_refusals(api: Api) -> None:
    plain = await create_product(api, "PLAIN")
    assert errors_of(await _build(api, plain["id"])) == {("INVALID", ("productId",))}
    empty = await _variation(api, plain["id"], "Size")
    refused = await _build(api, plain["id"])
    assert errors_of(refused) == {("INVALID", ("productId",))}
    assert "Size" in refused["errors"][0]["message"]
    assert errors_of(await _build(api, "bogus")) == {("NOT_FOUND", ("productId",))}

    await _option(api, empty, "XS", priceChange=-2000)  # takes the 1000 price below zero
    negative = await _build(api, plain["id"])
    assert errors_of(negative) == {("INVALID", ("productId",))}
    assert "below 0" in negative["errors"][0]["message"]


async def test_child_sku_taken_by_another_product_is_a_duplicate(api: Api) -> None:
    tee = await create_product(api, "CAP", price=500)
    size = await _variation(api, tee["id"], "Size")
    await _option(api, size, "One")
    await create_product(api, "CAP-ONE")  # an unrelated product already has that sku
    clash = await _build(api, tee["id"])
    assert errors_of(clash) == {("DUPLICATE", ("productId",))}
    assert "CAP-ONE" in clash["errors"][0]["message"]
    await _option(api, size, "Two", skuSuffix="-ONE")  # two options, one suffix
    same = await _build(api, tee["id"])
    assert same["errors"][0]["code"] in {"INVALID", "DUPLICATE"}


async def test_ids_that_name_nothing_are_not_found(api: Api) -> None:
    """The contract; the validation combinations are in tests/test_service_catalog.py."""
    product = await create_product(api, "P")
    size = await _variation(api, product["id"], "Size")
    blank = await api.admin(VARIATION_CREATE, {"id": product["id"], "input": {"name": ""}})
    assert errors_of(blank["productVariationCreate"]) == {("REQUIRED", ("input", "name"))}
    missing = await api.admin(VARIATION_CREATE, {"id": "bogus", "input": {"name": "X"}})
    assert errors_of(missing["productVariationCreate"]) == {("NOT_FOUND", ("productId",))}
    bad = {"name": "", "skuSuffix": "has space", "slugSuffix": "-x"}
    refused = (await api.admin(OPTION_CREATE, {"id": size, "input": bad}))["variationOptionCreate"]
    assert errors_of(refused) == {
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "skuSuffix")),
    }
    nowhere = await api.admin(OPTION_CREATE, {"id": "bogus", "input": {"name": "X"}})
    assert errors_of(nowhere["variationOptionCreate"]) == {("NOT_FOUND", ("variationId",))}


async def test_children_are_products_with_their_own_visibility(api: Api) -> None:
    tee, _, _ = await _tee(api)
    children = {c["sku"]: c["id"] for c in (await _build(api, tee["id"]))["product"]["children"]}
    await api.admin(PRODUCT_UPDATE, {"id": children["TEE-S-RED"], "input": {"status": "DRAFT"}})
    query = "query($id: ID!) { product(id: $id) { children { sku } parent { sku } } }"
    shop = (await api.storefront(query, {"id": tee["id"]}))["product"]["children"]
    assert sorted(c["sku"] for c in shop) == ["TEE-M-RED", "TEE-M/NV", "TEE-S/NV"]
    assert len((await api.admin(query, {"id": tee["id"]}))["product"]["children"]) == 4

    await api.admin(PRODUCT_UPDATE, {"id": tee["id"], "input": {"status": "DRAFT"}})
    child = (await api.storefront(query, {"id": children["TEE-M-RED"]}))["product"]
    assert child == {"children": [], "parent": None}  # a DRAFT parent stays hidden
    refused = await api.admin(
        VARIATION_CREATE, {"id": children["TEE-M-RED"], "input": {"name": "X"}}
    )
    assert errors_of(refused["productVariationCreate"]) == {("INVALID", ("productId",))}

    only_children = await api.admin(PRODUCTS, {"first": 50, "filter": {"isChild": True}})
    assert only_children["products"]["totalCount"] == 4
    no_children = await api.admin(PRODUCTS, {"filter": {"isChild": False}})
    assert [e["node"]["sku"] for e in no_children["products"]["edges"]] == ["TEE"]
    of_parent = await api.admin(PRODUCTS, {"filter": {"parentId": tee["id"]}})
    assert of_parent["products"]["totalCount"] == 4


async def test_deleting_a_parent_deletes_its_children(api: Api, db: Database) -> None:
    tee, _, _ = await _tee(api)
    built = await _build(api, tee["id"])
    delete = "mutation($id: ID!) { productDelete(id: $id) { errors { code } } }"
    assert (await api.admin(delete, {"id": tee["id"]}))["productDelete"]["errors"] == []
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == 0
        deleted = (
            await session.execute(
                select(Event.object_id, Event.data).where(Event.type == "product.deleted")
            )
        ).all()
    # each child's product.deleted too, not only the parent's (a webhook consumer drops them)
    skus = sorted(data["sku"] for _, data in deleted)
    assert skus == sorted(["TEE", *(c["sku"] for c in built["product"]["children"])])
    assert len({pk for pk, _ in deleted}) == len(deleted) == 5
