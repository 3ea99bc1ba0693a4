"""Checkout (API.md section 7): the order copies the cart, every failure is a UserError that
leaves the cart and the store untouched, buyers and their privacy, currencies, and order
numbers that stay unique under concurrent checkouts (in one process and across processes)."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from models.engine import Database
from models.orders import Order, OrderCounter
from tests.cart_helpers import (
    ADDRESS,
    CART,
    CART_ITEM_REMOVE,
    ORDER,
    add,
    checkout,
    product,
    register,
    shipping_method,
    tax_band,
)
from tests.conftest import Api, running_server


def codes(result: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in result["errors"]]


async def cart_items(api: Api, reference: str) -> list[tuple[str, int]]:
    cart = (await api.storefront(CART, {"reference": reference}))["cart"]
    return [(i["sku"], i["quantity"]) for i in cart["items"]]


async def order_count(db: Database) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def test_checkout_copies_the_cart_into_an_order_and_deletes_the_cart(api: Api) -> None:
    band = await tax_band(api, "20")
    tee = await product(api, "TEE", price=1999, taxBandId=band, weight=200)
    fee = await product(api, "FEE", price=333, requiresShipping=False)
    post = await shipping_method(api, "post", 500, taxBandId=band, carrier="Royal Mail")
    await add(api, "c", tee, 3)
    await add(api, "c", fee, 1)
    shipping_to = {**ADDRESS, "firstName": "Charles", "line1": "1 Babbage Row"}
    result = await checkout(api, "c", {"shippingMethodId": post, "shippingAddress": shipping_to})
    assert result["errors"] == []
    personal = ("customer", "billingAddress", "shippingAddress", "customFields", "events")
    assert [result["order"][k] for k in personal] == [None] * 5  # a storefront may not read it
    order = (await api.admin(ORDER, {"id": result["order"]["id"]}))["order"]
    assert order["number"] == 1001
    assert (order["status"], order["payment"], order["shipping"]) == (
        "INCOMPLETE",
        "UNPAID",
        "UNFULFILLED",
    )
    assert order["customer"] == {"id": None, "name": "Guest", "email": "guest@example.com"}
    assert order["billingAddress"]["firstName"] == "Ada"
    assert order["shippingAddress"]["firstName"] == "Charles"
    tee_line, fee_line = order["items"]
    assert (tee_line["sku"], tee_line["quantity"], tee_line["taxRate"]) == ("TEE", 3, "20")
    assert tee_line["unitPrice"]["withTax"]["amount"] == 2399
    assert tee_line["linePrice"]["tax"]["amount"] == 1199  # 20% of 5997 = 1199.4
    assert fee_line["linePrice"]["withTax"]["amount"] == 333
    assert order["shippingMethod"]["id"] == post
    assert order["shippingMethod"]["carrier"] == "Royal Mail"
    assert order["shippingMethod"]["price"]["withTax"]["amount"] == 600
    totals = order["totals"]
    assert totals["subtotal"] == {"amount": 6330, "currency": "USD", "formatted": "$63.30"}
    assert (totals["shipping"]["amount"], totals["tax"]["amount"]) == (500, 1299)
    assert totals["total"]["amount"] == 6330 + 500 + 1299
    assert [e["type"] for e in order["events"]] == ["created"]
    assert await cart_items(api, "c") == []


async def test_the_order_never_changes_with_the_catalogue(api: Api) -> None:
    band = await tax_band(api, "20")
    tee = await product(api, "TEE", price=1000, taxBandId=band)
    post = await shipping_method(api, "post", 500)
    await add(api, "c", tee, 2)
    placed = (await checkout(api, "c", {"shippingMethodId": post}, as_="admin"))["order"]

    await api.admin(
        'mutation($id: ID!) { productUpdate(id: $id, input: {price: 5000, name: "Renamed", '
        'sku: "NEW-SKU"}) { errors { code } } }',
        {"id": tee},
    )
    await api.admin(
        'mutation($id: ID!) { taxBandUpdate(id: $id, input: {rate: "50"}) { errors { code } } }',
        {"id": band},
    )
    await api.admin(
        'mutation($id: ID!) { shippingMethodUpdate(id: $id, input: {price: 900, name: "Slow"}) '
        "{ errors { code } } }",
        {"id": post},
    )
    await api.admin(
        'mutation { currencyCreate(input: {code: "EUR", name: "Euro", exchangeRate: "0.5", '
        'format: "€{price}"}) { errors { code } } }'
    )
    after = (await api.admin(ORDER, {"id": placed["id"]}))["order"]
    for key in ("items", "shippingMethod", "totals", "customer", "number"):
        assert after[key] == placed[key], key
    after_eur = await api.admin(ORDER, {"id": placed["id"]}, headers={"X-Currency": "EUR"})
    assert after_eur["order"]["totals"] == placed["totals"]  # an order keeps its currency

    await api.admin(
        "mutation($id: ID!) { productDelete(id: $id) { errors { code } } }", {"id": tee}
    )
    deleted = (await api.admin(ORDER, {"id": placed["id"]}))["order"]
    assert deleted["items"][0]["product"] is None
    assert deleted["items"][0]["sku"] == "TEE" and deleted["totals"] == placed["totals"]


async def test_every_checkout_failure_leaves_the_cart_and_the_store_untouched(
    api: Api, db: Database
) -> None:
    tee = await product(api, "TEE", weight=2000, manageStock=True, stock=5)
    light = await shipping_method(api, "light", 300, maxWeight=1000)
    off = await shipping_method(api, "off", 100, enabled=False)
    heavy = await shipping_method(api, "heavy", 900)
    await add(api, "c", tee, 4)
    a_customer_id = "Q3VzdG9tZXI6MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA"
    failures = [
        ({}, [("SHIPPING_METHOD_REQUIRED", ["input", "shippingMethodId"])]),
        (
            {"shippingMethodId": light},
            [("SHIPPING_METHOD_NOT_ELIGIBLE", ["input", "shippingMethodId"])],
        ),
        (
            {"shippingMethodId": off},
            [("SHIPPING_METHOD_NOT_ELIGIBLE", ["input", "shippingMethodId"])],
        ),
        (
            {"shippingMethodId": "junk"},
            [("SHIPPING_METHOD_NOT_ELIGIBLE", ["input", "shippingMethodId"])],
        ),
        (
            {"shippingMethodId": heavy, "billingAddress": None},
            [("REQUIRED", ["input", "billingAddress"])],
        ),
        (
            {"shippingMethodId": heavy, "billingAddress": {**ADDRESS, "country": "XX"}},
            [("INVALID", ["input", "billingAddress", "country"])],
        ),
        (
            {"shippingMethodId": heavy, "shippingAddress": {**ADDRESS, "city": " "}},
            [("REQUIRED", ["input", "shippingAddress", "city"])],
        ),
        (
            {"shippingMethodId": heavy, "customer": None},
            [("INVALID", ["input", "customer"])],
        ),
        (
            {"shippingMethodId": heavy, "customerId": a_customer_id},
            [("INVALID", ["input", "customerId"])],
        ),
        (
            {"shippingMethodId": heavy, "customer": {"email": "not-an-email", "name": ""}},
            [
                ("INVALID", ["input", "customer", "email"]),
                ("REQUIRED", ["input", "customer", "name"]),
            ],
        ),
        (
            {"shippingMethodId": heavy, "customer": {"email": "a@example.com"}},
            [("REQUIRED", ["input", "customer", "name"])],
        ),
        (
            {"shippingMethodId": heavy, "customFields": {"nope": 1}},
            [("INVALID", ["input", "customFields", "nope"])],
        ),
    ]
    for extra, expected in failures:
        result = await checkout(api, "c", extra)
        assert result["order"] is None
        assert codes(result) == expected, extra
    # Several problems at once are all reported.
    many = await checkout(api, "c", {"billingAddress": {**ADDRESS, "postcode": ""}})
    assert {c for c, _ in codes(many)} == {"SHIPPING_METHOD_REQUIRED", "REQUIRED"}

    await api.admin(
        "mutation($id: ID!) { stockTransactionCreate(productId: $id, input: "
        "{action: DECREMENT, quantity: 2}) { errors { code } } }",
        {"id": tee},
    )
    short = await checkout(api, "c", {"shippingMethodId": heavy})
    assert codes(short) == [("INSUFFICIENT_STOCK", ["reference"])]
    await api.admin(
        "mutation($id: ID!) { productUpdate(id: $id, input: {status: DRAFT}) { errors { code } } }",
        {"id": tee},
    )
    draft = await checkout(api, "c", {"shippingMethodId": heavy})
    assert codes(draft) == [("PRODUCT_UNAVAILABLE", ["reference"])]

    assert await order_count(db) == 0
    assert await cart_items(api, "c") == [("TEE", 4)]
    async with db.reader() as session:
        assert await session.scalar(select(OrderCounter.value)) in (None, 1000)

    await api.admin(
        "mutation($id: ID!) { productUpdate(id: $id, input: {status: LIVE, stock: 10}) "
        "{ errors { code } } }",
        {"id": tee},
    )
    placed = await checkout(api, "c", {"shippingMethodId": heavy})
    assert placed["errors"] == [] and placed["order"]["number"] == 1001  # no number was lost


async def test_an_empty_or_unknown_cart_cannot_be_checked_out(api: Api, db: Database) -> None:
    assert codes(await checkout(api, "never-used")) == [("CART_EMPTY", ["reference"])]
    tee = await product(api, "TEE", requiresShipping=False)
    item = (await add(api, "emptied", tee, 1))["cart"]["items"][0]["id"]
    await api.storefront(CART_ITEM_REMOVE, {"reference": "emptied", "itemId": item})
    assert codes(await checkout(api, "emptied")) == [("CART_EMPTY", ["reference"])]
    assert codes(await checkout(api, "bad ref")) == [("INVALID", ["reference"])]
    assert await order_count(db) == 0


async def test_a_cart_without_shipped_goods_needs_no_shipping_method(api: Api) -> None:
    ebook = await product(api, "EBOOK", price=900, requiresShipping=False)
    await add(api, "digital", ebook, 1)
    order = (await checkout(api, "digital"))["order"]
    assert order["shippingMethod"] is None
    assert order["totals"]["shipping"]["amount"] == 0 and order["totals"]["total"]["amount"] == 900
    assert order["shippingAddress"] == order["billingAddress"]


async def test_custom_fields_are_checked_against_the_order_definitions(api: Api) -> None:
    await api.admin(
        'mutation { fieldDefinitionCreate(input: {entity: ORDER, slug: "gift_note", '
        'name: "Gift note", type: STRING, required: true}) { errors { code } } }'
    )
    ebook = await product(api, "EBOOK", requiresShipping=False)
    await add(api, "c", ebook, 1)
    missing = await checkout(api, "c")
    assert codes(missing) == [("REQUIRED", ["input", "customFields", "gift_note"])]
    wrong = await checkout(api, "c", {"customFields": {"gift_note": 7}})
    assert codes(wrong) == [("INVALID", ["input", "customFields", "gift_note"])]
    placed = await checkout(
        api, "c", {"customFields": {"gift_note": "Happy birthday"}}, as_="admin"
    )
    assert placed["order"]["customFields"] == {"gift_note": "Happy birthday"}


async def test_the_kept_order_field_definitions_follow_every_change(api: Api) -> None:
    """Checkout keeps the ORDER definitions under their own `fields` stamp: a definition made
    or deleted after a checkout applies to the next one."""
    ebook = await product(api, "EBOOK", requiresShipping=False)
    await add(api, "before", ebook, 1)
    assert (await checkout(api, "before"))["errors"] == []  # kept: no definitions
    made = await api.admin(
        'mutation { fieldDefinitionCreate(input: {entity: ORDER, slug: "po", name: "PO", '
        "type: STRING, required: true}) { fieldDefinition { id } } }"
    )
    await add(api, "after", ebook, 1)
    missing = await checkout(api, "after")
    assert codes(missing) == [("REQUIRED", ["input", "customFields", "po"])]
    definition = made["fieldDefinitionCreate"]["fieldDefinition"]["id"]
    await api.admin(
        "mutation($id: ID!) { fieldDefinitionDelete(id: $id) { errors { code } } }",
        {"id": definition},
    )
    assert (await checkout(api, "after"))["errors"] == []


async def test_the_order_is_in_the_buyers_currency(api: Api) -> None:
    await api.admin(
        'mutation { currencyCreate(input: {code: "EUR", name: "Euro", exchangeRate: "0.9", '
        'format: "€{price}"}) { errors { code } } }'
    )
    band = await tax_band(api, "20")
    tee = await product(api, "TEE", price=333, taxBandId=band)
    post = await shipping_method(api, "post", 500, taxBandId=band)
    await add(api, "eur", tee, 3)
    euro = {"X-Currency": "EUR"}
    cart = (await api.storefront(CART, {"reference": "eur"}, headers=euro))["cart"]
    order = (await checkout(api, "eur", {"shippingMethodId": post}, headers=euro))["order"]
    assert (order["currency"], order["exchangeRate"]) == ("EUR", "0.9")
    assert order["items"][0]["linePrice"] == cart["items"][0]["linePrice"]
    totals = order["totals"]
    assert totals["subtotal"] == {"amount": 899, "currency": "EUR", "formatted": "€8.99"}
    assert totals["shipping"]["amount"] == 450  # 500 at 0.9
    assert totals["tax"]["amount"] == 180 + 90
    assert totals["total"]["amount"] == 899 + 450 + 270
    in_use = await api.admin('{ currency(code: "EUR") { id } }')
    refused = await api.admin(
        "mutation($id: ID!) { currencyDelete(id: $id) { errors { code } } }",
        {"id": in_use["currency"]["id"]},
    )
    assert refused["currencyDelete"]["errors"] == [{"code": "IN_USE"}]
    bad = await api.gql(CART, {"reference": "eur"}, as_="storefront", headers={"X-Currency": "XYZ"})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"


async def test_a_signed_in_customer_owns_the_order(api: Api) -> None:
    alice, alice_token = await register(api, "alice@example.com")
    bob, _ = await register(api, "bob@example.com")
    ebook = await product(api, "EBOOK", requiresShipping=False)
    as_alice = {"X-Customer-Token": alice_token}

    await add(api, "a1", ebook, 1)
    own = await checkout(api, "a1", {"customer": None, "customerId": alice}, headers=as_alice)
    assert own["order"]["customer"] == {"id": alice, "name": "alice", "email": "alice@example.com"}

    await add(api, "a2", ebook, 1)
    contact = {"email": "Alice.Work@Example.com", "name": "Alice at work"}
    linked = await checkout(api, "a2", {"customer": contact}, headers=as_alice)
    assert linked["order"]["customer"] == {
        "id": alice,
        "name": "Alice at work",
        "email": "alice.work@example.com",
    }

    await add(api, "a3", ebook, 1)
    for headers in (as_alice, {}):
        other = await checkout(api, "a3", {"customer": None, "customerId": bob}, headers=headers)
        assert codes(other) == [("NOT_FOUND", ["input", "customerId"])]
    by_admin = await checkout(api, "a3", {"customer": None, "customerId": bob}, as_="admin")
    assert by_admin["order"]["customer"]["id"] == bob

    mine = await api.storefront(
        "{ me { orders { totalCount edges { node { number customer { id } } } } } }",
        headers=as_alice,
    )
    assert mine["me"]["orders"]["totalCount"] == 2


async def test_a_guest_using_a_registered_email_sees_nothing_of_that_customer(api: Api) -> None:
    alice, alice_token = await register(api, "alice@example.com")
    await api.storefront(
        "mutation($input: AddressInput!) { customerAddressCreate(input: $input) "
        "{ errors { code } } }",
        {"input": {**ADDRESS, "line1": "Alice's secret street"}},
        headers={"X-Customer-Token": alice_token},
    )
    ebook = await product(api, "EBOOK", requiresShipping=False)
    await add(api, "m", ebook, 1)
    guest = {"email": "ALICE@example.com", "name": "Mallory"}
    order = (await checkout(api, "m", {"customer": guest}, as_="admin"))["order"]
    assert order["customer"] == {"id": None, "name": "Mallory", "email": "alice@example.com"}
    assert "secret" not in str(order)
    mine = await api.storefront(
        "{ me { orders { totalCount } } }", headers={"X-Customer-Token": alice_token}
    )
    assert mine["me"]["orders"]["totalCount"] == 0
    assert alice  # the account exists, yet the guest's order is not linked to it


async def test_concurrent_checkouts_get_distinct_sequential_numbers(api: Api) -> None:
    ebook = await product(api, "EBOOK", requiresShipping=False)
    for i in range(10):
        await add(api, f"cart-{i}", ebook, 1)
    results = await asyncio.gather(*(checkout(api, f"cart-{i}") for i in range(10)))
    assert all(r["errors"] == [] for r in results)
    assert sorted(r["order"]["number"] for r in results) == list(range(1001, 1011))


async def test_one_cart_checked_out_twice_at_once_makes_one_order(api: Api, db: Database) -> None:
    ebook = await product(api, "EBOOK", requiresShipping=False)
    await add(api, "twice", ebook, 1)
    results = await asyncio.gather(*(checkout(api, "twice") for _ in range(4)))
    assert sorted(len(r["errors"]) for r in results) == [0, 1, 1, 1]
    assert {c for r in results for c, _ in codes(r)} == {"CART_EMPTY"}
    assert await order_count(db) == 1


CONFIGURED = {"STOCKROOM_CLIENT_ID": "orders-e2e", "STOCKROOM_CLIENT_SECRET": "orders-e2e-secret"}


async def _post(
    client: httpx.AsyncClient, base: str, token: str, query: str, variables: Any
) -> Any:
    response = await client.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.mark.slow
async def test_order_numbers_stay_unique_across_server_processes(db_url: str) -> None:
    """20 checkouts at once against 2 server processes sharing one database."""
    async with (
        running_server(db_url, workers=2, **CONFIGURED) as server,
        httpx.AsyncClient(timeout=60) as client,
    ):
        token_response = await client.post(
            f"{server.base}/oauth/access_token",
            data={
                "grant_type": "client_credentials",
                "client_id": CONFIGURED["STOCKROOM_CLIENT_ID"],
                "client_secret": CONFIGURED["STOCKROOM_CLIENT_SECRET"],
            },
        )
        token = token_response.json()["access_token"]
        created = await _post(
            client,
            server.base,
            token,
            'mutation { productCreate(input: {sku: "E", name: "E", price: 100, status: LIVE, '
            "requiresShipping: false}) { product { id } } }",
            {},
        )
        product_id = created["productCreate"]["product"]["id"]
        add_item = "mutation($r: String!, $p: ID!) { cartItemAdd(reference: $r, productId: $p, quantity: 1) { errors { code } } }"
        for i in range(20):
            await _post(client, server.base, token, add_item, {"r": f"w{i}", "p": product_id})
        checkout_doc = (
            "mutation($r: String!, $input: CheckoutInput!) { cartCheckout(reference: $r, "
            "input: $input) { order { number } errors { code } } }"
        )
        buyer = {"customer": {"email": "e2e@example.com", "name": "E2E"}, "billingAddress": ADDRESS}
        results = await asyncio.gather(
            *(
                _post(client, server.base, token, checkout_doc, {"r": f"w{i}", "input": buyer})
                for i in range(20)
            )
        )
    numbers = sorted(r["cartCheckout"]["order"]["number"] for r in results)
    assert numbers == list(range(1001, 1021))
