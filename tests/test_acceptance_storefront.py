"""Acceptance: a storefront's flows across areas, through the public API only (API.md).

Browsing LIVE products in another currency, a cart with stock and LIVE checks, guest and
signed-in checkout with shipping eligibility, paying by card and on delivery with the stock
figures after every step, and concurrent buyers of the last units.
"""

import asyncio
import uuid

from tests.acceptance_helpers import (
    ADDRESS,
    CART_DELETE,
    CART_ITEM_REMOVE,
    CART_ITEM_UPDATE,
    DECLINED_CARD,
    ERRORS,
    GOOD_CARD,
    NO_FUNDS_CARD,
    ORDER,
    ORDER_FULFILL,
    ORDER_PAY,
    PRICE,
    TRANSACTION_CAPTURE,
    Shop,
    codes,
    error_codes,
)
from tests.conftest import Api

LISTING = f"""
query($first: Int, $after: String, $filter: ProductFilter, $sortBy: ProductSort) {{
  products(first: $first, after: $after, filter: $filter, sortBy: $sortBy) {{
    totalCount
    edges {{ cursor node {{ id sku slug name status stockStatus price {PRICE}
                            salePrice {PRICE} categories {{ slug }} }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}"""
PRODUCT_BY = f"""
query($id: ID, $slug: String, $sku: String) {{
  product(id: $id, slug: $slug, sku: $sku) {{ id sku name price {PRICE} }}
}}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Product { sku } } }"


async def test_browsing_live_products_in_another_currency(api: Api) -> None:
    shop = Shop(api)
    vat = await shop.tax_band("VAT", "20")
    await shop.currency("EUR", "0.9", "{price} €", decimalPoint=",", thousandSeparator=".")
    shirts = await shop.create("categoryCreate", "CategoryInput", {"name": "Shirts"})
    tee = await shop.product("TEE", 1999, taxBandId=vat, categoryIds=[shirts], slug="tee")
    await shop.product("COAT", 123456, categoryIds=[shirts], salePrice=100000)
    draft = await shop.product("SECRET", 500, status="DRAFT", categoryIds=[shirts])

    as_shopper = {"as_": "storefront"}
    usd = (await api.storefront(PRODUCT_BY, {"sku": "TEE"}))["product"]["price"]
    assert usd["withoutTax"] == {"amount": 1999, "currency": "USD", "formatted": "$19.99"}
    assert (usd["tax"]["amount"], usd["withTax"]["formatted"]) == (400, "$23.99")  # 399.8 up

    euro = {"X-Currency": "EUR"}
    page = (
        await api.data(
            LISTING,
            {"first": 10, "sortBy": {"field": "PRICE", "direction": "DESC"}},
            headers=euro,
            **as_shopper,
        )
    )["products"]
    assert page["totalCount"] == 2  # the DRAFT product is not for shoppers
    coat, shirt = (e["node"] for e in page["edges"])
    assert (coat["sku"], shirt["sku"]) == ("COAT", "TEE")
    # 123456 x 0.9 = 111110.4 -> 111110, untaxed; the sale price 100000 -> 90000
    assert coat["price"]["withTax"] == {
        "amount": 111110,
        "currency": "EUR",
        "formatted": "1.111,10 €",
    }
    assert coat["salePrice"]["withTax"]["amount"] == 90000
    # 1999 x 0.9 = 1799.1 -> 1799, then 20 % = 359.8 -> 360, rounded once
    assert shirt["price"]["withoutTax"]["amount"] == 1799
    assert shirt["price"]["tax"]["amount"] == 360
    assert shirt["price"]["withTax"]["formatted"] == "21,59 €"
    assert shirt["salePrice"] is None and shirt["stockStatus"] == "IN_STOCK"

    # product(id | slug | sku) agree; DRAFT stays hidden by every key and by node(id:)
    for key in ({"id": tee}, {"slug": "tee"}, {"sku": "TEE"}):
        assert (await api.storefront(PRODUCT_BY, key))["product"]["id"] == tee
    for key in ({"id": draft}, {"sku": "SECRET"}):
        assert (await api.storefront(PRODUCT_BY, key))["product"] is None
    assert (await api.storefront(NODE, {"id": draft}))["node"] is None
    assert (await api.admin(NODE, {"id": draft}))["node"]["sku"] == "SECRET"
    drafts = {"first": 5, "filter": {"status": "DRAFT"}}
    assert (await api.storefront(LISTING, drafts))["products"]["totalCount"] == 0

    # ids are opaque, never integers
    assert not tee.isdigit() and not draft.isdigit()
    assert len({tee, draft, shirts}) == 3


async def test_listing_pages_filters_and_limits(api: Api) -> None:
    shop = Shop(api)
    brand = await shop.create("brandCreate", "BrandInput", {"name": "Acme"})
    for i, price in enumerate([300, 100, 500, 200, 400]):
        await shop.product(f"P{i}", price, name=f"Widget {i}", brandId=brand if i % 2 else None)
    await shop.stocked("SOLD-OUT", 50, 0, name="Gadget")

    walk = {"first": 2, "sortBy": {"field": "PRICE", "direction": "ASC"}}
    seen: list[int] = []
    while True:
        page = (await api.storefront(LISTING, walk))["products"]
        seen += [e["node"]["price"]["withoutTax"]["amount"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        walk["after"] = page["pageInfo"]["endCursor"]
    assert seen == [50, 100, 200, 300, 400, 500]

    async def skus(filter: dict[str, object]) -> set[str]:
        page = await api.storefront(LISTING, {"first": 20, "filter": filter})
        return {e["node"]["sku"] for e in page["products"]["edges"]}

    assert await skus({"search": "widget", "priceMin": 200, "priceMax": 400}) == {"P0", "P3", "P4"}
    assert await skus({"brandSlug": "acme"}) == {"P1", "P3"}
    assert await skus({"inStock": False}) == {"SOLD-OUT"}
    assert "SOLD-OUT" not in await skus({"inStock": True})

    too_many = await api.gql(LISTING, {"first": 101}, as_="storefront")
    assert too_many["data"] is None and error_codes(too_many) == ["INVALID"]
    misspelt = await api.gql(LISTING, {"first": 1, "sortBy": {"field": "PRIZE"}})
    assert misspelt.get("data") is None and "PRIZE" in misspelt["errors"][0]["message"]


async def test_cart_add_update_remove_with_stock_and_live_checks(api: Api) -> None:
    shop = Shop(api)
    mug = await shop.stocked("MUG", 800, 5, weight=300)
    draft = await shop.product("DRAFT", 100, status="DRAFT")
    pen = await shop.product("PEN", 150)
    ref = f"cart-{uuid.uuid4().hex[:8]}"

    empty = await shop.cart(ref)
    assert (empty["items"], empty["itemCount"], empty["createdAt"]) == ([], 0, None)

    added = await shop.add(ref, mug, 3)
    assert added["errors"] == []
    cart = added["cart"]
    assert (cart["itemCount"], cart["weight"], cart["requiresShipping"]) == (3, 900, True)
    assert cart["subtotal"]["withTax"]["amount"] == 2400 and cart["currency"] == "USD"
    assert {g["slug"] for g in cart["gateways"]} == {"card", "manual"}
    assert cart["expiresAt"] is not None

    # the cart's whole quantity must be available: 3 + 3 > 5
    too_many = await shop.add(ref, mug, 3)
    assert codes(too_many) == {("INSUFFICIENT_STOCK", ("quantity",))}
    assert too_many["cart"] is None
    assert (await shop.add(ref, mug, 2))["cart"]["items"][0]["quantity"] == 5

    for product_id, quantity, expected in [
        (draft, 1, "PRODUCT_UNAVAILABLE"),
        (mug, -1, "INVALID"),
        (mug, 0, "INVALID"),
        ("UHJvZHVjdDpub3BlCg", 1, "NOT_FOUND"),
    ]:
        refused = await shop.add(ref, product_id, quantity)
        assert [e["code"] for e in refused["errors"]] == [expected], (product_id, quantity)
    bad_ref = await shop.add("no spaces allowed", pen, 1)
    assert codes(bad_ref) == {("INVALID", ("reference",))}

    cart = (await shop.add(ref, pen, 2))["cart"]
    assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [("MUG", 5), ("PEN", 2)]
    mug_line, pen_line = (i["id"] for i in cart["items"])

    update = {"reference": ref, "itemId": mug_line, "quantity": 6}
    raised = (await api.storefront(CART_ITEM_UPDATE, update))["cartItemUpdate"]
    assert codes(raised) == {("INSUFFICIENT_STOCK", ("quantity",))}
    lowered = await api.storefront(CART_ITEM_UPDATE, {**update, "quantity": 1})
    assert lowered["cartItemUpdate"]["cart"]["itemCount"] == 3
    negative = await api.storefront(CART_ITEM_UPDATE, {**update, "quantity": -2})
    assert codes(negative["cartItemUpdate"]) == {("INVALID", ("quantity",))}
    zero = (await api.storefront(CART_ITEM_UPDATE, {**update, "quantity": 0}))["cartItemUpdate"]
    assert [i["sku"] for i in zero["cart"]["items"]] == ["PEN"]

    removed = await api.storefront(CART_ITEM_REMOVE, {"reference": ref, "itemId": pen_line})
    assert removed["cartItemRemove"]["cart"]["items"] == []
    again = await api.storefront(CART_ITEM_REMOVE, {"reference": ref, "itemId": pen_line})
    assert [e["code"] for e in again["cartItemRemove"]["errors"]] == ["NOT_FOUND"]

    await shop.add(ref, pen, 1)
    deleted = (await api.storefront(CART_DELETE, {"reference": ref}))["cartDelete"]
    assert deleted["errors"] == [] and deleted["cart"]["items"] == []
    assert (await shop.cart(ref))["createdAt"] is None

    # carts hold nothing: the stock is untouched by all of this
    assert await shop.stock(mug) == {"total": 5, "available": 5, "allocated": 0}


async def test_guest_checkout_with_shipping_eligibility(api: Api) -> None:
    shop = Shop(api)
    vat = await shop.tax_band("VAT", "20")
    lamp = await shop.stocked("LAMP", 2500, 4, taxBandId=vat, weight=1200)
    standard = await shop.shipping_method("standard", 500, taxBandId=vat, maxWeight=5000)
    express = await shop.shipping_method("express", 1500, minSubtotal=10000)
    await shop.shipping_method("closed", 100, enabled=False)
    ref = "guest-cart"
    cart = (await shop.add(ref, lamp, 2))["cart"]
    assert [m["slug"] for m in cart["shippingMethods"]] == ["standard"]

    # every failure changes nothing: the cart stays, no order is made
    required = await shop.checkout(ref)
    assert codes(required) == {("SHIPPING_METHOD_REQUIRED", ("input", "shippingMethodId"))}
    not_eligible = await shop.checkout(ref, shippingMethodId=express)
    assert [e["code"] for e in not_eligible["errors"]] == ["SHIPPING_METHOD_NOT_ELIGIBLE"]
    bad_email = await shop.checkout(
        ref, shippingMethodId=standard, customer={"email": "not-an-email", "name": "X"}
    )
    assert codes(bad_email) == {("INVALID", ("input", "customer", "email"))}
    no_address = await shop.checkout(
        ref, shippingMethodId=standard, billingAddress={"firstName": "Only"}
    )
    assert ("REQUIRED", ("input", "billingAddress", "city")) in codes(no_address)
    bad_country = await shop.checkout(
        ref, shippingMethodId=standard, billingAddress={**ADDRESS, "country": "XX"}
    )
    assert codes(bad_country) == {("INVALID", ("input", "billingAddress", "country"))}
    assert (await shop.cart(ref))["itemCount"] == 2
    orders = await api.admin("{ orders(first: 5) { totalCount } }")
    assert orders["orders"]["totalCount"] == 0

    placed = await shop.checkout(ref, shippingMethodId=standard)
    assert placed["errors"] == []
    order = placed["order"]
    assert (order["number"], order["status"], order["payment"], order["shipping"]) == (
        1001,
        "INCOMPLETE",
        "UNPAID",
        "UNFULFILLED",
    )
    # the storefront that checked out may not read the order: no personal data (API.md 8)
    assert (order["customer"], order["billingAddress"], order["shippingAddress"]) == (None,) * 3
    as_admin = await shop.admin_order(order["id"])
    assert as_admin["customer"] == {"id": None, "name": "A Buyer", "email": "buyer@example.com"}
    assert as_admin["shippingAddress"]["city"] == "Arlington"  # defaults to the billing address
    assert as_admin["billingAddress"]["country"] == "US"
    line = order["items"][0]
    assert (line["sku"], line["quantity"], line["product"]) == ("LAMP", 2, {"id": lamp})
    assert line["linePrice"]["withoutTax"]["amount"] == 5000
    assert line["linePrice"]["tax"]["amount"] == 1000
    assert order["shippingMethod"]["price"]["withTax"]["amount"] == 600
    totals = {k: v["amount"] for k, v in order["totals"].items()}
    assert totals == {"subtotal": 5000, "shipping": 500, "tax": 1100, "total": 6600}
    assert order["totals"]["total"]["formatted"] == "$66.00"
    assert [e["type"] for e in as_admin["events"]] == ["created"]

    # the cart is gone, checkout reserved nothing, and a second checkout finds no cart
    assert (await shop.cart(ref))["items"] == []
    assert await shop.stock(lamp) == {"total": 4, "available": 4, "allocated": 0}
    assert [e["code"] for e in (await shop.checkout(ref))["errors"]] == ["CART_EMPTY"]

    # the order is a copy: catalogue changes never alter it
    await api.admin(
        'mutation($id: ID!) { productUpdate(id: $id, input: {price: 9999, name: "New"}) '
        "{ errors { code } } }",
        {"id": lamp},
    )
    again = await shop.admin_order(order["id"])
    assert again["items"][0]["name"] == "Product LAMP"
    assert again["totals"]["total"]["amount"] == 6600


async def test_signed_in_checkout_and_customers_see_only_their_own_orders(api: Api) -> None:
    shop = Shop(api)
    book = await shop.product("BOOK", 1200, requiresShipping=False)
    ada = await shop.register("Ada@Example.com", "Ada")
    bob = await shop.register("bob@example.com", "Bob")
    as_ada = {"X-Customer-Token": ada}
    as_bob = {"X-Customer-Token": bob}
    me = """{ me { customer { id email name } addresses { id }
                   orders(first: 10) { totalCount edges { node { id number } } } } }"""
    ada_id = (await api.storefront(me, headers=as_ada))["me"]["customer"]["id"]
    bob_id = (await api.storefront(me, headers=as_bob))["me"]["customer"]["id"]

    # a storefront may only name the signed-in customer
    await shop.add("ada-cart", book, 1)
    other = await shop.checkout("ada-cart", customer=None, customerId=bob_id, headers=as_ada)
    assert codes(other) == {("NOT_FOUND", ("input", "customerId"))}
    both = await shop.checkout("ada-cart", customerId=ada_id, headers=as_ada)
    assert [e["code"] for e in both["errors"]] == ["INVALID"]  # exactly one of the two
    mine = await shop.checkout("ada-cart", customer=None, customerId=ada_id, headers=as_ada)
    assert mine["errors"] == []
    order = mine["order"]
    assert order["customer"] == {"id": ada_id, "name": "Ada", "email": "ada@example.com"}
    assert order["shippingMethod"] is None  # nothing to ship

    guest = await shop.order(
        "guest-cart", [(book, 2)], customer={"email": "ada@example.com", "name": "Not Ada"}
    )
    guest = await shop.admin_order(guest["id"])
    assert guest["customer"]["id"] is None  # a guest's email is never matched to an account

    ada_orders = (await api.storefront(me, headers=as_ada))["me"]["orders"]
    assert [e["node"]["id"] for e in ada_orders["edges"]] == [order["id"]]
    assert (await api.storefront(me, headers=as_bob))["me"]["orders"]["totalCount"] == 0

    # reading one order: own only for a customer, FORBIDDEN without a customer token
    read = "query($id: ID!) { order(id: $id) { id number } }"
    assert (await api.storefront(read, {"id": order["id"]}, headers=as_ada))["order"]["number"]
    assert (await api.storefront(read, {"id": order["id"]}, headers=as_bob))["order"] is None
    assert (await api.storefront(read, {"id": guest["id"]}, headers=as_ada))["order"] is None
    anonymous = await api.gql(read, {"id": order["id"]}, as_="storefront")
    assert anonymous["data"] == {"order": None} and error_codes(anonymous) == ["FORBIDDEN"]
    no_me = await api.gql(me, as_="storefront")
    assert no_me["data"] == {"me": None} and error_codes(no_me) == ["FORBIDDEN"]

    # a wrong password and an unknown email look the same
    sign_in = f"""mutation($email: String!, $password: String!) {{
        customerTokenCreate(email: $email, password: $password) {{
          token customer {{ id }} {ERRORS} }} }}"""
    for email, password in [("ada@example.com", "wrong-pass"), ("nobody@example.com", "x" * 9)]:
        failed = (await api.storefront(sign_in, {"email": email, "password": password}))[
            "customerTokenCreate"
        ]
        assert (failed["token"], failed["customer"]) == (None, None)
        assert [e["code"] for e in failed["errors"]] == ["INVALID_CREDENTIALS"]
    expired = await api.post(me, as_="storefront", headers={"X-Customer-Token": "forged"})
    assert expired.status_code == 401
    assert error_codes(expired.json()) == ["UNAUTHENTICATED"]


async def test_paying_by_card(api: Api) -> None:
    shop = Shop(api)
    camera = await shop.stocked("CAM", 40000, 3, requiresShipping=False)
    order = await shop.order("card-cart", [(camera, 2)])
    second = await shop.order("late-cart", [(camera, 2)])  # checkout holds nothing
    oid = order["id"]

    declined = await shop.pay(oid, card=DECLINED_CARD)
    assert [e["code"] for e in declined["errors"]] == ["PAYMENT_DECLINED"]
    assert declined["transaction"]["status"] == "FAILED"
    assert declined["transaction"]["errorMessage"]
    assert declined["order"]["payment"] == "UNPAID"
    no_funds = await shop.pay(oid, card=NO_FUNDS_CARD)
    assert [e["code"] for e in no_funds["errors"]] == ["PAYMENT_DECLINED"]
    assert "insufficient" in no_funds["transaction"]["errorMessage"].lower()
    assert await shop.stock(camera) == {"total": 3, "available": 3, "allocated": 0}

    bad_card = await shop.pay(oid, card={**GOOD_CARD, "number": "4242424242424241", "cvc": "1"})
    assert codes(bad_card) == {
        ("INVALID", ("input", "card", "number")),
        ("INVALID", ("input", "card", "cvc")),
    }
    unknown = await shop.pay(oid, gateway="bitcoin")
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]

    key = f"pay-{uuid.uuid4()}"
    paid = await shop.pay(oid, idempotencyKey=key)
    assert paid["errors"] == []
    tx = paid["transaction"]
    assert (tx["method"], tx["status"], tx["gateway"]) == ("PURCHASE", "SUCCEEDED", "card")
    assert tx["amount"] == {"amount": 80000, "currency": "USD", "formatted": "$800.00"}
    assert tx["card"] == {"brand": "visa", "last4": "4242"}
    assert (paid["order"]["status"], paid["order"]["payment"]) == ("COMPLETE", "PAID")
    assert await shop.stock(camera) == {"total": 3, "available": 1, "allocated": 2}

    replay = await shop.pay(oid, idempotencyKey=key)
    assert replay["errors"] == [] and replay["transaction"]["id"] == tx["id"]
    reused = await shop.pay(oid, idempotencyKey=key, method="AUTHORIZE")
    assert [e["code"] for e in reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    twice = await shop.pay(oid)
    assert [e["code"] for e in twice["errors"]] == ["INVALID_TRANSITION"]

    stored = await shop.admin_order(oid)
    assert [(t["method"], t["status"]) for t in stored["transactions"]] == [
        ("PURCHASE", "FAILED"),
        ("PURCHASE", "FAILED"),
        ("PURCHASE", "SUCCEEDED"),
    ]
    assert "4242424242424242" not in str(stored)
    assert await shop.stock(camera) == {"total": 3, "available": 1, "allocated": 2}
    assert await shop.ledger(camera) == [
        ("INCREMENT", 3, False),
        ("ALLOCATE", 2, True),
        ("DEALLOCATE", 2, True),
        ("ALLOCATE", 2, True),
        ("DEALLOCATE", 2, True),
        ("ALLOCATE", 2, True),
    ]

    # paying needs available stock for every managed line, all or nothing
    short = await shop.pay(second["id"])
    assert [e["code"] for e in short["errors"]] == ["INSUFFICIENT_STOCK"]
    assert short["transaction"] is None
    assert (await shop.admin_order(second["id"]))["transactions"] == []
    assert await shop.stock(camera) == {"total": 3, "available": 1, "allocated": 2}


async def test_pay_on_delivery_with_exact_stock_figures(api: Api) -> None:
    shop = Shop(api)
    chair = await shop.stocked("CHAIR", 7000, 10, weight=8000)
    post = await shop.shipping_method("post", 900)
    order = await shop.order("pod-cart", [(chair, 3)], shippingMethodId=post)
    oid = order["id"]
    manual = {"gateway": "manual", "card": None}

    # a storefront can promise to pay on delivery, never mark its own order paid
    purchase = await shop.pay(oid, method="PURCHASE", **manual)
    assert [e["code"] for e in purchase["errors"]] == ["FORBIDDEN"]
    assert await shop.stock(chair) == {"total": 10, "available": 10, "allocated": 0}

    promised = await shop.pay(oid, method="AUTHORIZE", **manual)
    assert promised["errors"] == []
    authorization = promised["transaction"]
    assert (authorization["method"], authorization["gateway"]) == ("AUTHORIZE", "manual")
    assert authorization["amount"]["amount"] == 21900
    assert (promised["order"]["status"], promised["order"]["payment"]) == (
        "INCOMPLETE",
        "AUTHORIZED",
    )
    assert await shop.stock(chair) == {"total": 10, "available": 7, "allocated": 3}

    capture = {"orderId": oid, "transactionId": authorization["id"]}
    shopper_capture = await api.gql(TRANSACTION_CAPTURE, capture, as_="storefront")
    assert shopper_capture["data"] == {"transactionCapture": None}
    assert error_codes(shopper_capture) == ["FORBIDDEN"]

    fulfilled = (await api.admin(ORDER_FULFILL, {"id": oid}))["orderFulfill"]
    assert fulfilled["errors"] == []
    assert fulfilled["order"]["shipping"] == "FULFILLED"
    assert fulfilled["order"]["payment"] == "AUTHORIZED"
    assert await shop.stock(chair) == {"total": 7, "available": 7, "allocated": 0}

    captured = (await api.admin(TRANSACTION_CAPTURE, capture))["transactionCapture"]
    assert captured["errors"] == []
    assert captured["transaction"]["method"] == "CAPTURE"
    assert captured["transaction"]["amount"]["amount"] == 21900
    assert (captured["order"]["status"], captured["order"]["payment"]) == ("COMPLETE", "PAID")
    assert await shop.stock(chair) == {"total": 7, "available": 7, "allocated": 0}
    again = (await api.admin(TRANSACTION_CAPTURE, capture))["transactionCapture"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_TRANSITION"]

    events = [e["type"] for e in (await shop.admin_order(oid))["events"]]
    assert events == ["created", "authorized", "fulfilled", "captured"]
    assert await shop.ledger(chair) == [
        ("INCREMENT", 10, False),
        ("ALLOCATE", 3, True),
        ("DECREMENT", 3, True),
    ]


async def test_a_card_authorization_is_not_fulfilled_before_capture(api: Api) -> None:
    shop = Shop(api)
    kettle = await shop.stocked("KETTLE", 3000, 2, requiresShipping=False)
    order = await shop.order("auth-cart", [(kettle, 1)])
    held = await shop.pay(order["id"], method="AUTHORIZE")
    assert held["order"]["payment"] == "AUTHORIZED"
    refused = (await api.admin(ORDER_FULFILL, {"id": order["id"]}))["orderFulfill"]
    assert [e["code"] for e in refused["errors"]] == ["INVALID_TRANSITION"]
    assert await shop.stock(kettle) == {"total": 2, "available": 1, "allocated": 1}


async def test_concurrent_buyers_never_pay_for_more_than_exists(api: Api) -> None:
    shop = Shop(api)
    ticket = await shop.stocked("TICKET", 5000, 3, requiresShipping=False)
    orders = [await shop.order(f"buyer-{i}", [(ticket, 1)]) for i in range(8)]

    async def pay(order_id: str) -> list[str]:
        variables = {
            "orderId": order_id,
            "input": {"gateway": "card", "method": "PURCHASE", "card": GOOD_CARD},
        }
        body = (await api.post(ORDER_PAY, variables, as_="storefront")).json()
        return [e["code"] for e in body["data"]["orderPay"]["errors"]]

    results = await asyncio.gather(*(pay(o["id"]) for o in orders))
    assert sorted(map(tuple, results)) == [()] * 3 + [("INSUFFICIENT_STOCK",)] * 5
    assert await shop.stock(ticket) == {"total": 3, "available": 0, "allocated": 3}
    paid = await api.admin("{ orders(first: 20, filter: {payment: PAID}) { totalCount } }")
    assert paid["orders"]["totalCount"] == 3
    detail = (await api.admin(ORDER, {"id": orders[0]["id"]}))["order"]
    assert detail["totals"]["total"]["amount"] == 5000
