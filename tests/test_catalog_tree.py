"""The category tree (positions, moves, cycles, deletion) and brands and collections with
their products."""

import asyncio
from typing import Any

import pytest

from tests.catalog_helpers import (
    create_category,
    create_group,
    create_product,
    errors_of,
)
from tests.conftest import Api

TREE = """{ categories { slug position children {
  slug position children { slug position } } } }"""
REORDER = """mutation($input: [CategoryMoveInput!]!) {
  categoriesReorder(input: $input) {
    categories { slug position parent { slug } } errors { code field message }
  }
}"""
CATEGORY_UPDATE = """mutation($id: ID!, $input: CategoryInput!) {
  categoryUpdate(id: $id, input: $input) {
    category { slug position parent { slug } } errors { code field message } } }"""
CATEGORY_DELETE = """mutation($id: ID!) {
  categoryDelete(id: $id) { category { slug } errors { code field message } } }"""


def _shape(tree: list[dict[str, Any]]) -> list[Any]:
    """Slugs of a tree as nested lists (positions checked to be 0, 1, 2, ...)."""
    assert [c["position"] for c in tree] == list(range(len(tree)))
    return [(c["slug"], _shape(c.get("children") or [])) for c in tree]


async def _tree(api: Api) -> list[Any]:
    return _shape((await api.storefront(TREE))["categories"])


async def test_categories_keep_positions_among_siblings(api: Api) -> None:
    a = await create_category(api, "A")
    await create_category(api, "B")
    await create_category(api, "First", position=0)
    await create_category(api, "Far", position=99)  # past the end: last
    await create_category(api, "A1", parentId=a["id"])
    assert await _tree(api) == [
        ("first", []),
        ("a", [("a1", [])]),
        ("b", []),
        ("far", []),
    ]
    children = "query($id: ID!) { categories(parentId: $id) { slug } }"
    assert (await api.storefront(children, {"id": a["id"]}))["categories"] == [{"slug": "a1"}]


async def test_category_lookup_by_id_or_slug(api: Api) -> None:
    root = await create_category(api, "Clothing", description="All of it")
    child = await create_category(api, "Shirts", parentId=root["id"])
    query = """query($id: ID, $slug: String) { category(id: $id, slug: $slug) {
        name description parent { slug } children { slug } } }"""
    by_slug = (await api.storefront(query, {"slug": "shirts"}))["category"]
    assert by_slug == {
        "name": "Shirts",
        "description": "",
        "parent": {"slug": "clothing"},
        "children": [],
    }
    by_id = (await api.storefront(query, {"id": root["id"]}))["category"]
    assert by_id["children"] == [{"slug": "shirts"}] and by_id["description"] == "All of it"
    assert (await api.storefront(query, {"slug": "nope"}))["category"] is None
    node = "query($id: ID!) { node(id: $id) { ... on Category { slug } } }"
    assert (await api.storefront(node, {"id": child["id"]}))["node"] == {"slug": "shirts"}


async def test_reorder_moves_many_at_once(api: Api) -> None:
    a = await create_category(api, "A")
    b = await create_category(api, "B")
    c = await create_category(api, "C")
    moves = [
        {"id": c["id"], "position": 0},
        {"id": a["id"], "parentId": b["id"]},
    ]
    result = (await api.admin(REORDER, {"input": moves}))["categoriesReorder"]
    assert result["errors"] == []
    assert [(x["slug"], x["position"]) for x in result["categories"]] == [("c", 0), ("a", 0)]
    assert await _tree(api) == [("c", []), ("b", [("a", [])])]
    back = [{"id": a["id"], "parentId": None, "position": 1}]
    assert (await api.admin(REORDER, {"input": back}))["categoriesReorder"]["errors"] == []
    assert await _tree(api) == [("c", []), ("a", []), ("b", [])]


async def test_a_move_that_makes_a_cycle_is_refused_and_changes_nothing(api: Api) -> None:
    a = await create_category(api, "A")
    b = await create_category(api, "B", parentId=a["id"])
    c = await create_category(api, "C", parentId=b["id"])
    before = await _tree(api)
    cycle = [{"id": a["id"], "parentId": c["id"]}]
    result = (await api.admin(REORDER, {"input": cycle}))["categoriesReorder"]
    assert errors_of(result) == {("INVALID", ("input", "0", "parentId"))}
    assert await _tree(api) == before == [("a", [("b", [("c", [])])])]
    swap = [{"id": b["id"], "parentId": None}, {"id": a["id"], "parentId": b["id"]}]
    assert (await api.admin(REORDER, {"input": swap}))["categoriesReorder"]["errors"] == []
    assert await _tree(api) == [("b", [("c", []), ("a", [])])]  # moved ones go last
    mutual = [{"id": a["id"], "parentId": c["id"]}, {"id": c["id"], "parentId": a["id"]}]
    result = (await api.admin(REORDER, {"input": mutual}))["categoriesReorder"]
    assert result["errors"][0]["code"] == "INVALID"
    assert await _tree(api) == [("b", [("c", []), ("a", [])])]

    self_parent = await api.admin(CATEGORY_UPDATE, {"id": b["id"], "input": {"parentId": b["id"]}})
    assert errors_of(self_parent["categoryUpdate"]) == {("INVALID", ("input", "parentId"))}


async def test_reorder_validation(api: Api) -> None:
    a = await create_category(api, "A")
    moves = [
        {"id": "bogus"},
        {"id": a["id"], "parentId": "QnJhbmQ6MDAwMDAwMDAwMDAwNDAwMDgwMDAwMDAwMDAwMDAwMDA"},
    ]
    result = (await api.admin(REORDER, {"input": moves}))["categoriesReorder"]
    assert errors_of(result) == {
        ("NOT_FOUND", ("input", "0", "id")),
        ("NOT_FOUND", ("input", "1", "parentId")),
    }
    body = await api.gql(REORDER, {"input": [{"id": a["id"]}]}, as_="storefront")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_update_moves_and_renames(api: Api) -> None:
    a = await create_category(api, "A")
    b = await create_category(api, "B")
    moved = (
        await api.admin(
            CATEGORY_UPDATE, {"id": b["id"], "input": {"parentId": a["id"], "name": "Bee"}}
        )
    )["categoryUpdate"]
    assert moved["errors"] == []
    assert moved["category"] == {"slug": "b", "position": 0, "parent": {"slug": "a"}}
    first = await api.admin(CATEGORY_UPDATE, {"id": b["id"], "input": {"parentId": None}})
    assert first["categoryUpdate"]["category"]["parent"] is None
    assert await _tree(api) == [("a", []), ("b", [])]


async def test_delete_refuses_categories_with_children(api: Api) -> None:
    a = await create_category(api, "A")
    child = await create_category(api, "A1", parentId=a["id"])
    await create_category(api, "B")
    product = await create_product(api, "P", categoryIds=[child["id"]])
    refused = (await api.admin(CATEGORY_DELETE, {"id": a["id"]}))["categoryDelete"]
    assert errors_of(refused) == {("IN_USE", ("id",))}
    assert (await api.admin(CATEGORY_DELETE, {"id": child["id"]}))["categoryDelete"]["errors"] == []
    assert (await api.admin(CATEGORY_DELETE, {"id": a["id"]}))["categoryDelete"]["errors"] == []
    assert await _tree(api) == [("b", [])]  # positions renumbered
    query = "query($id: ID!) { product(id: $id) { categories { slug } } }"
    assert (await api.admin(query, {"id": product["id"]}))["product"]["categories"] == []


CATEGORY_PRODUCTS = """query($slug: String!, $filter: ProductFilter) {
  category(slug: $slug) { products(first: 10, filter: $filter) {
    totalCount edges { node { sku } } } } }"""


async def test_category_products_include_subcategories(api: Api) -> None:
    root = await create_category(api, "Clothing")
    shirts = await create_category(api, "Shirts", parentId=root["id"])
    await create_product(api, "JACKET", categoryIds=[root["id"]])
    await create_product(api, "TEE", categoryIds=[shirts["id"]])
    await create_product(api, "SECRET", categoryIds=[shirts["id"]], status="DRAFT")
    shop = (await api.storefront(CATEGORY_PRODUCTS, {"slug": "clothing"}))["category"]
    assert sorted(e["node"]["sku"] for e in shop["products"]["edges"]) == ["JACKET", "TEE"]
    assert shop["products"]["totalCount"] == 2
    own = {"slug": "clothing", "filter": {"includeSubcategories": False}}
    assert [
        e["node"]["sku"]
        for e in (await api.storefront(CATEGORY_PRODUCTS, own))["category"]["products"]["edges"]
    ] == ["JACKET"]
    admin = (await api.admin(CATEGORY_PRODUCTS, {"slug": "shirts"}))["category"]["products"]
    assert admin["totalCount"] == 2


def _for(kind: str, document: str) -> str:
    """A document for brands or collections: `kind`, `Kind` and `kinds` filled in."""
    return (
        document.replace("kinds", f"{kind}s")
        .replace("Kind", kind.capitalize())
        .replace("kind", kind)
    )


@pytest.mark.parametrize("kind", ["brand", "collection"])
async def test_brands_and_collections_crud_and_visibility(api: Api, kind: str) -> None:
    live = await create_group(api, kind, "Live One", description="shown")
    draft = await create_group(api, kind, "Draft One", status="DRAFT")
    link = {"brandId": live["id"]} if kind == "brand" else {"collectionIds": [live["id"]]}
    await create_product(api, "P", **link)
    listing = _for(kind, "{ kinds(first: 10) { totalCount edges { node { slug status } } } }")
    shop = (await api.storefront(listing))[f"{kind}s"]
    assert [e["node"]["slug"] for e in shop["edges"]] == ["live-one"]
    assert shop["totalCount"] == 1
    admin = (await api.admin(listing))[f"{kind}s"]
    assert [e["node"]["slug"] for e in admin["edges"]] == ["draft-one", "live-one"]

    lookup = _for(
        kind,
        "query($slug: String!) { kind(slug: $slug) { name products { edges { node { sku } } } } }",
    )
    assert (await api.storefront(lookup, {"slug": "draft-one"}))[kind] is None
    found = (await api.storefront(lookup, {"slug": "live-one"}))[kind]
    assert found["products"]["edges"] == [{"node": {"sku": "P"}}]

    update = _for(
        kind,
        """mutation($id: ID!, $input: KindInput!) { kindUpdate(id: $id, input: $input) {
            kind { slug status } errors { code field } } }""",
    )
    clash = await api.admin(update, {"id": draft["id"], "input": {"slug": "live-one"}})
    assert errors_of(clash[f"{kind}Update"]) == {("DUPLICATE", ("input", "slug"))}
    bad = {"name": "", "slug": "NO", "status": None}
    refused = (await api.admin(update, {"id": draft["id"], "input": bad}))[f"{kind}Update"]
    assert errors_of(refused) == {
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "slug")),
        ("INVALID", ("input", "status")),
    }
    published = await api.admin(update, {"id": draft["id"], "input": {"status": "LIVE"}})
    assert published[f"{kind}Update"][kind]["status"] == "LIVE"

    delete = _for(kind, "mutation($id: ID!) { kindDelete(id: $id) { errors { code } } }")
    assert (await api.admin(delete, {"id": live["id"]}))[f"{kind}Delete"]["errors"] == []
    product = await api.admin('{ product(sku: "P") { brand { id } collections { id } } }')
    assert product["product"] == {"brand": None, "collections": []}  # the product stays


async def test_product_hides_draft_brand_and_collections_from_storefront(api: Api) -> None:
    brand = await create_group(api, "brand", "Secret Brand", status="DRAFT")
    collection = await create_group(api, "collection", "Secret Sale", status="DRAFT")
    await create_product(api, "P", brandId=brand["id"], collectionIds=[collection["id"]])
    query = '{ product(sku: "P") { brand { slug } collections { slug } } }'
    assert (await api.storefront(query))["product"] == {"brand": None, "collections": []}
    assert (await api.admin(query))["product"] == {
        "brand": {"slug": "secret-brand"},
        "collections": [{"slug": "secret-sale"}],
    }


async def test_concurrent_category_moves_never_make_a_cycle(api: Api) -> None:
    """Two moves that are each fine alone but make a cycle together: the tree lock lets
    exactly one through."""
    a = await create_category(api, "A")
    b = await create_category(api, "B")
    results = await asyncio.gather(
        api.admin(REORDER, {"input": [{"id": a["id"], "parentId": b["id"]}]}),
        api.admin(REORDER, {"input": [{"id": b["id"], "parentId": a["id"]}]}),
    )
    errors = sorted((r["categoriesReorder"]["errors"] for r in results), key=len)
    assert [[e["code"] for e in found] for found in errors] == [[], ["INVALID"]]
    tree = (await api.admin("{ categories { slug children { slug } } }"))["categories"]
    assert len(tree) == 1 and len(tree[0]["children"]) == 1
