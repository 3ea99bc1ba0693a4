"""Persisted queries, HTTP caching and the response cache of catalogue reads (API.md section
14, issue 10): APQ round trips, ETag/304, Cache-Control per kind of answer, and no stale
cached answer after any kind of catalogue write."""

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from domain import versions
from models.engine import Database
from tests.cart_helpers import CART, placed_order
from tests.catalog_helpers import create_category, create_group, create_product
from tests.conftest import Api
from tests.test_payments import pay

LISTING = """query Listing($first: Int) { products(first: $first) { totalCount edges { node {
  sku name status stockStatus price { withTax { amount currency formatted } withoutTax { amount } }
  categories { slug name } brand { slug name } collections { slug name } } } } }"""


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(hash_: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": hash_}}


async def get(
    api: Api,
    query: str | None,
    variables: dict[str, Any] | None = None,
    as_: str = "storefront",
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    params: dict[str, str] = {}
    if query is not None:
        params["query"] = query
    if variables is not None:
        params["variables"] = json.dumps(variables)
    if extensions is not None:
        params["extensions"] = json.dumps(extensions)
    all_headers = {"Authorization": f"Bearer {api.tokens[as_]}", **(headers or {})}
    return await api.http.get("/graphql", params=params, headers=all_headers)


async def post(
    api: Api, body: dict[str, Any], as_: str = "storefront", headers: dict[str, str] | None = None
) -> httpx.Response:
    all_headers = {"Authorization": f"Bearer {api.tokens[as_]}", **(headers or {})}
    return await api.http.post("/graphql", json=body, headers=all_headers)


# --- persisted queries -----------------------------------------------------------------


async def test_persisted_query_round_trip(api: Api, settings: Any) -> None:
    await create_product(api, "APQ-1")
    query = "query { products(first: 5) { edges { node { sku } } } }"
    hash_ = sha(query)

    unknown = (await get(api, None, extensions=persisted(hash_))).json()
    assert unknown["errors"][0]["message"] == "PersistedQueryNotFound"
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    unknown_post = (await post(api, {"extensions": persisted(hash_)})).json()
    assert unknown_post["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = (await post(api, {"query": query, "extensions": persisted(hash_)})).json()
    assert registered["data"]["products"]["edges"] == [{"node": {"sku": "APQ-1"}}]

    by_get = await get(api, None, extensions=persisted(hash_))
    by_post = await post(api, {"extensions": persisted(hash_)})
    assert by_get.json() == by_post.json() == registered

    # another server process (a fresh app on the same database) knows it too
    from server import create_app

    other = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
            response = await client.post(
                "/graphql",
                json={"extensions": persisted(hash_)},
                headers={"Authorization": f"Bearer {api.tokens['storefront']}"},
            )
        assert response.json() == registered
    finally:
        await other.state.db.dispose()


async def test_the_oldest_persisted_queries_make_room(db: Database) -> None:
    """The table keeps `persisted_queries_max` documents: registering more removes the oldest."""
    from domain.persisted import document_hash, store_query, stored_query

    documents = [f"query Q{i} {{ currencies {{ code }} }}" for i in range(5)]
    for document in documents:
        async with db.transaction() as session:
            await store_query(session, document_hash(document), document, keep=3)
    async with db.transaction() as session:  # registering a known one again changes nothing
        await store_query(session, document_hash(documents[4]), documents[4], keep=3)
    async with db.reader() as session:
        kept = [await stored_query(session, document_hash(d)) for d in documents]
    assert kept == [None, None, *documents[2:]]


async def test_persisted_query_wrong_hash_and_bad_extension(api: Api) -> None:
    query = "query { currencies { code } }"
    wrong = (await post(api, {"query": query, "extensions": persisted(sha("other"))})).json()
    assert wrong.get("data") is None
    assert wrong["errors"][0]["message"] == "provided sha does not match query"
    # the wrong hash was not registered
    after = (await post(api, {"extensions": persisted(sha("other"))})).json()
    assert after["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    bad_version = {"persistedQuery": {"version": 2, "sha256Hash": sha(query)}}
    answer = (await post(api, {"query": query, "extensions": bad_version})).json()
    assert answer["errors"][0]["extensions"]["code"] == "INVALID"
    not_hex = (await post(api, {"extensions": persisted("zz")})).json()
    assert not_hex["errors"][0]["extensions"]["code"] == "INVALID"


@pytest.mark.parametrize(
    "document", ["query { currencies { code }", "query { noSuchField }", "{ products { sku } }"]
)
async def test_an_invalid_document_is_answered_but_not_persisted(api: Api, document: str) -> None:
    """Syntax and schema errors come back as for any document; the hash stays unknown (the
    table is for documents that can run, not for whatever a client sends)."""
    answer = (await post(api, {"query": document, "extensions": persisted(sha(document))})).json()
    assert answer.get("data") is None
    assert answer["errors"][0]["message"]
    again = (await post(api, {"extensions": persisted(sha(document))})).json()
    assert again["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_persisted_mutation_is_refused_over_get(api: Api) -> None:
    mutation = 'mutation { cartDelete(reference: "apq-cart") { errors { code } } }'
    registered = await post(api, {"query": mutation, "extensions": persisted(sha(mutation))})
    assert registered.status_code == 200
    refused = await get(api, None, extensions=persisted(sha(mutation)))
    assert refused.status_code in {400, 405}


# --- HTTP caching ----------------------------------------------------------------------


async def test_etag_and_not_modified(api: Api) -> None:
    product = await create_product(api, "ETAG-1")
    first = await get(api, LISTING, {"first": 5})
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = await get(api, LISTING, {"first": 5}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    await api.admin(
        'mutation($id: ID!) { productUpdate(id: $id, input: {name: "Renamed"}) { errors { code } } }',
        {"id": product["id"]},
    )
    changed = await get(api, LISTING, {"first": 5}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["data"]["products"]["edges"][0]["node"]["name"] == "Renamed"


async def test_cache_control_per_kind_of_answer(api: Api) -> None:
    await create_product(api, "CC-1")
    public = await get(api, LISTING, {"first": 5})
    assert public.headers["cache-control"] == "public, max-age=60"
    vary = {v.strip().lower() for v in public.headers["vary"].split(",")}
    assert {"authorization", "x-currency"} <= vary

    shipping = await get(api, "query { shippingMethods { slug } }")
    assert shipping.headers["cache-control"] == "public, max-age=60"

    admin = await get(api, LISTING, {"first": 5}, as_="admin")
    assert admin.status_code == 200
    assert admin.headers["cache-control"] == "private, no-store"
    assert "etag" in admin.headers

    cart = await get(api, CART, {"reference": "cc-cart"})
    assert cart.headers["cache-control"] == "private, no-store"
    mixed = await get(
        api, 'query { products(first: 1) { totalCount } cart(reference: "x") { id } }'
    )
    assert mixed.headers["cache-control"] == "private, no-store"
    mutation = await post(
        api, {"query": 'mutation { cartDelete(reference: "cc") { errors { code } } }'}
    )
    assert mutation.headers["cache-control"] == "private, no-store"
    failed = await get(api, "query { products(first: 500) { totalCount } }")
    assert "errors" in failed.json()
    assert failed.headers["cache-control"] == "private, no-store"
    unauthenticated = await api.http.get("/graphql", params={"query": "{ currencies { code } }"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["cache-control"] == "private, no-store"
    me = await get(api, "query { me { id } }")
    assert me.headers["cache-control"] == "private, no-store"


# --- the response cache ----------------------------------------------------------------


async def _set_up_currency(api: Api) -> None:
    created = await api.admin(
        'mutation { currencyCreate(input: {code: "EUR", name: "Euro", exchangeRate: "0.5", '
        'format: "€{price}"}) { errors { code } } }'
    )
    assert created["currencyCreate"]["errors"] == []


async def test_cache_keys_separate_roles_and_currencies(api: Api) -> None:
    await create_product(api, "LIVE-1", price=1000)
    await create_product(api, "DRAFT-1", status="DRAFT")
    await _set_up_currency(api)
    for _ in range(2):  # the second round is served from the cache
        admin = await post(api, {"query": LISTING, "variables": {"first": 10}}, as_="admin")
        shop = await post(api, {"query": LISTING, "variables": {"first": 10}})
        euros = await post(
            api, {"query": LISTING, "variables": {"first": 10}}, headers={"X-Currency": "EUR"}
        )
        admin_skus = {e["node"]["sku"] for e in admin.json()["data"]["products"]["edges"]}
        shop_edges = shop.json()["data"]["products"]["edges"]
        assert admin_skus == {"LIVE-1", "DRAFT-1"}
        assert [e["node"]["sku"] for e in shop_edges] == ["LIVE-1"]
        assert shop_edges[0]["node"]["price"]["withTax"]["currency"] == "USD"
        euro = euros.json()["data"]["products"]["edges"][0]["node"]["price"]["withTax"]
        assert euro == {"amount": 500, "currency": "EUR", "formatted": "€5.00"}


FACETS = """query($filter: ProductFilter) { productFacets(filter: $filter) { totalCount inStock
  brands { brand { slug } count } priceRanges { min max count } } }"""
SOME_PRICES = {"filter": {"priceMin": 1}}


@pytest.mark.parametrize(
    ("document", "variables"), [(LISTING, {"first": 5}), (FACETS, SOME_PRICES)]
)
async def test_a_hit_runs_no_sql(
    api: Api, db_url: str, document: str, variables: dict[str, Any]
) -> None:
    from models.settings import Settings
    from server import create_app

    await create_product(api, "HIT-1")
    app = create_app(Settings(database_url=db_url, sql_count_header=True, log_level="WARNING"))
    try:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {api.tokens['storefront']}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            params = {"query": document, "variables": json.dumps(variables)}
            miss = await client.get("/graphql", params=params, headers=headers)
            hit = await client.get("/graphql", params=params, headers=headers)
    finally:
        await app.state.db.dispose()
    assert int(miss.headers["x-sql-statements"]) > 0
    assert hit.headers["x-sql-statements"] == "0"
    assert hit.content == miss.content
    own = {"x-request-id", "x-sql-statements"}
    assert {k: v for k, v in hit.headers.items() if k not in own} == {
        k: v for k, v in miss.headers.items() if k not in own
    }


async def test_facets_are_a_catalogue_read_never_stale(api: Api) -> None:
    """productFacets is cached and validated like the listing (public, ETag, the response
    cache), under the same stamps: a stock change shows in the next answer."""
    product = await create_product(api, "FACET-1", price=1000, manageStock=True, stock=3)
    first = await get(api, FACETS, SOME_PRICES)
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.json()["data"]["productFacets"]["inStock"] == 1
    etag = first.headers["etag"]
    assert (await get(api, FACETS, SOME_PRICES, headers={"If-None-Match": etag})).status_code == 304
    await _admin(
        api,
        "mutation($id: ID!) { stockTransactionCreate(productId: $id, input: "
        "{action: DECREMENT, quantity: 3}) { errors { code } } }",
        {"id": product["id"]},
    )
    after = await get(api, FACETS, SOME_PRICES, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["data"]["productFacets"]["inStock"] == 0


Write = Callable[[Api, dict[str, str]], Awaitable[Any]]


async def _admin(api: Api, query: str, variables: dict[str, Any] | None = None) -> None:
    body = await api.admin(query, variables)
    payload = next(iter(body.values()))
    assert not payload.get("errors"), payload


async def _catalogue(api: Api) -> dict[str, str]:
    category = await create_category(api, "Shoes")
    brand = await create_group(api, "brand", "Acme")
    collection = await create_group(api, "collection", "Summer")
    band = await api.admin(
        'mutation { taxBandCreate(input: {name: "VAT", rate: "20"}) { taxBand { id } } }'
    )
    band_id = band["taxBandCreate"]["taxBand"]["id"]
    product = await create_product(
        api,
        "INV-1",
        price=1000,
        taxBandId=band_id,
        categoryIds=[category["id"]],
        brandId=brand["id"],
        collectionIds=[collection["id"]],
        manageStock=True,
        stock=10,
        requiresShipping=False,
    )
    await _set_up_currency(api)
    currencies = await api.admin("query { currencies { id code } }")
    euro = next(c["id"] for c in currencies["currencies"] if c["code"] == "EUR")
    return {
        "product": product["id"],
        "category": category["id"],
        "brand": brand["id"],
        "collection": collection["id"],
        "band": band_id,
        "euro": euro,
    }


def _update(field: str, kind: str, input_: str) -> Write:
    async def write(api: Api, ids: dict[str, str]) -> None:
        await _admin(
            api,
            f"mutation($id: ID!) {{ {field}(id: $id, input: {input_}) {{ errors {{ code }} }} }}",
            {"id": ids[kind]},
        )

    return write


async def _stock_by_hand(api: Api, ids: dict[str, str]) -> None:
    await _admin(
        api,
        "mutation($id: ID!) { stockTransactionCreate(productId: $id, input: "
        "{action: DECREMENT, quantity: 8}) { errors { code } } }",
        {"id": ids["product"]},
    )


async def _stock_by_payment(api: Api, ids: dict[str, str]) -> None:
    order = await placed_order(api, "cache-order", ids["product"], quantity=8)
    assert (await pay(api, order["id"]))["errors"] == []


WRITES: dict[str, Write] = {
    "product name": _update("productUpdate", "product", '{name: "New name"}'),
    "product price": _update("productUpdate", "product", "{price: 2000}"),
    "category": _update("categoryUpdate", "category", '{name: "Boots"}'),
    "brand": _update("brandUpdate", "brand", '{name: "Acme 2"}'),
    "collection": _update("collectionUpdate", "collection", '{name: "Winter"}'),
    "tax rate": _update("taxBandUpdate", "band", '{rate: "10"}'),
    "exchange rate": _update("currencyUpdate", "euro", '{exchangeRate: "2"}'),
    "stock by hand": _stock_by_hand,
    "stock by payment": _stock_by_payment,
    "product status": _update("productUpdate", "product", "{status: DRAFT}"),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_no_stale_answer_after_a_catalogue_write(api: Api, db: Database, write: str) -> None:
    ids = await _catalogue(api)
    euros = {"X-Currency": "EUR"}
    before = await get(api, LISTING, {"first": 5}, headers=euros)
    assert (await get(api, LISTING, {"first": 5}, headers=euros)).content == before.content
    stamps = dict(await db.stamps.read())
    await WRITES[write](api, ids)
    moved = {k for k, v in (await db.stamps.read()).items() if stamps.get(k) != v}
    assert moved & {versions.CATALOG, versions.CURRENCY, versions.TAX}
    after = await get(api, LISTING, {"first": 5}, headers=euros)
    assert after.status_code == 200
    assert after.content != before.content


async def test_a_failed_write_moves_no_stamp(db: Database, api: Api) -> None:
    before = dict(await db.stamps.read())
    body = await api.admin(
        'mutation { productCreate(input: {sku: "", name: "", price: -1}) { errors { code } } }'
    )
    assert body["productCreate"]["errors"]
    assert dict(await db.stamps.read()) == before
