"""Payments (API.md section 8) and the stock they move (section 9): gateways, orderPay with
both gateways, decline, capture, refund, cancel, idempotency keys, the stale-payment sweep.
Every step checks the exact stock figures."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from sqlalchemy import select

from domain import gateways
from domain.gateways.base import (
    CardDetails,
    FollowUp,
    GatewayResult,
    Operation,
    PaymentGateway,
    PaymentRequest,
)
from domain.gateways.card import brand_of, card_problems
from domain.ids import encode_id
from domain.inventory import allocate_order
from domain.payments import ensure_gateways, sweep_stale_payments
from models.engine import Database, StatementCounter
from models.payments import IdempotencyKey, PaymentTransaction
from resolvers.ids import decode_id
from tests.conftest import Api, Template, running_server

VISA = {"number": "4242424242424242", "expMonth": 12, "expYear": 2040, "cvc": "123"}
DECLINED = {**VISA, "number": "4000000000000002"}
NO_FUNDS = {**VISA, "number": "4000000000009995"}
ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "line1": "12 Analytical Row",
    "city": "London",
    "postcode": "N1 1AA",
    "country": "GB",
}
ORDER_FIELDS = """
  id status payment shipping totals { total { amount currency } }
  transactions { id gateway method status amount { amount currency formatted } reference
                 card { brand last4 } errorMessage createdAt }
  events { type }
"""
TX_FIELDS = "id gateway method status amount { amount } reference card { brand last4 } errorMessage"
PAY = f"""
mutation($order: ID!, $input: OrderPayInput!) {{
  orderPay(orderId: $order, input: $input) {{
    order {{ {ORDER_FIELDS} }}
    transaction {{ {TX_FIELDS} }}
    errors {{ code message field }}
  }}
}}"""
TX_OPERATION = """
mutation($order: ID!, $tx: ID!) {{
  {name}(orderId: $order, transactionId: $tx) {{
    order {{ {order} }}
    transaction {{ {tx} }}
    errors {{ code message field }}
  }}
}}"""
CAPTURE = TX_OPERATION.format(name="transactionCapture", order=ORDER_FIELDS, tx=TX_FIELDS)
CANCEL = TX_OPERATION.format(name="transactionCancel", order=ORDER_FIELDS, tx=TX_FIELDS)
REFUND = f"""
mutation($order: ID!, $tx: ID!, $amount: Int) {{
  transactionRefund(orderId: $order, transactionId: $tx, amount: $amount) {{
    order {{ {ORDER_FIELDS} }}
    transaction {{ {TX_FIELDS} refunded {{ amount }} parentId }}
    errors {{ code message field }}
  }}
}}"""
ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
STOCK = "query($id: ID!) { product(id: $id) { stock { total available allocated } } }"
LEDGER = """query($id: ID!) { stockTransactions(productId: $id, first: 50) {
  edges { node { action quantity orderId } } } }"""


# --- helpers (also used by tests/test_races.py) ------------------------------------------


async def new_product(api: Api, stock: int | None = 10, price: int = 1000) -> str:
    """A LIVE product without shipping; `stock=None` makes it unmanaged."""
    sku = f"P-{uuid.uuid4().hex[:10]}"
    product: dict[str, Any] = {
        "sku": sku,
        "name": f"Product {sku}",
        "price": price,
        "status": "LIVE",
        "requiresShipping": False,
        "manageStock": stock is not None,
    }
    if stock is not None:
        product["stock"] = stock
    created = (
        await api.admin(
            """mutation($input: ProductInput!) { productCreate(input: $input) {
                product { id } errors { code field message } } }""",
            {"input": product},
        )
    )["productCreate"]
    assert created["errors"] == [], created
    return str(created["product"]["id"])


async def new_order(api: Api, lines: list[tuple[str, int]], custom: int = 0) -> dict[str, Any]:
    """An admin-made order of catalogue lines (and a custom line of `custom` minor units)."""
    items: list[dict[str, Any]] = [{"productId": p, "quantity": q} for p, q in lines]
    if custom:
        items.append({"sku": "GIFT", "name": "Gift wrap", "price": custom, "quantity": 1})
    made = (
        await api.admin(
            f"""mutation($input: OrderCreateInput!) {{ orderCreate(input: $input) {{
                order {{ {ORDER_FIELDS} }} errors {{ code field message }} }} }}""",
            {
                "input": {
                    "customer": {"email": "ada@example.com", "name": "Ada"},
                    "items": items,
                    "billingAddress": ADDRESS,
                }
            },
        )
    )["orderCreate"]
    assert made["errors"] == [], made
    return dict(made["order"])


async def pay(
    api: Api,
    order_id: str,
    gateway: str = "card",
    method: str = "PURCHASE",
    card: dict[str, Any] | None = VISA,
    key: str | None = None,
    as_: str = "storefront",
) -> dict[str, Any]:
    payment: dict[str, Any] = {"gateway": gateway, "method": method}
    if card is not None:
        payment["card"] = card
    if key is not None:
        payment["idempotencyKey"] = key
    body = await api.gql(PAY, {"order": order_id, "input": payment}, as_=as_)
    assert "errors" not in body, body
    return dict(body["data"]["orderPay"])


async def stock(api: Api, product: str) -> tuple[int, int, int]:
    figures = (await api.admin(STOCK, {"id": product}))["product"]["stock"]
    return figures["total"], figures["available"], figures["allocated"]


async def ledger(api: Api, product: str) -> list[tuple[str, int, str | None]]:
    """The product's stock ledger, oldest first."""
    edges = (await api.admin(LEDGER, {"id": product}))["stockTransactions"]["edges"]
    return [(e["node"]["action"], e["node"]["quantity"], e["node"]["orderId"]) for e in edges][::-1]


async def get_order(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.admin(ORDER, {"id": order_id}))["order"])


def codes(result: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in result["errors"]]


# --- gateways ----------------------------------------------------------------------------

GATEWAYS = "{ gateways { slug name enabled } }"
GATEWAY_UPDATE = """
mutation($slug: String!, $input: GatewayInput!) {
  gatewayUpdate(slug: $slug, input: $input) {
    gateway { slug name enabled settings } errors { code field message }
  }
}"""


async def test_gateways_are_seeded_enabled_and_can_be_switched(api: Api) -> None:
    listed = (await api.storefront(GATEWAYS))["gateways"]
    assert [(g["slug"], g["enabled"]) for g in listed] == [("card", True), ("manual", True)]

    off = (await api.admin(GATEWAY_UPDATE, {"slug": "card", "input": {"enabled": False}}))[
        "gatewayUpdate"
    ]
    assert off["errors"] == [] and off["gateway"]["enabled"] is False
    assert [g["slug"] for g in (await api.storefront(GATEWAYS))["gateways"]] == ["manual"]
    assert [g["enabled"] for g in (await api.admin(GATEWAYS))["gateways"]] == [False, True]
    product = await new_product(api)
    add = """mutation($p: ID!) { cartItemAdd(reference: "gw-cart", productId: $p, quantity: 1) {
        cart { gateways { slug } } errors { code } } }"""
    cart = (await api.storefront(add, {"p": product}))["cartItemAdd"]["cart"]
    assert [g["slug"] for g in cart["gateways"]] == ["manual"]  # the enabled ones, as for buyers

    renamed = (
        await api.admin(
            GATEWAY_UPDATE,
            {"slug": "manual", "input": {"name": " Cash ", "settings": {"instructions": "IBAN"}}},
        )
    )["gatewayUpdate"]
    assert renamed["gateway"] == {
        "slug": "manual",
        "name": "Cash",
        "enabled": True,
        "settings": {"instructions": "IBAN"},
    }


async def test_gateway_update_rejects_bad_input(api: Api) -> None:
    cases = [
        ("nope", {"enabled": True}, [("NOT_FOUND", ["slug"])]),
        ("card", {"name": "  "}, [("REQUIRED", ["input", "name"])]),
        ("card", {"enabled": None}, [("INVALID", ["input", "enabled"])]),
        ("card", {"settings": {"apiKey": "x"}}, [("INVALID", ["input", "settings", "apiKey"])]),
        (
            "manual",
            {"settings": {"instructions": 5}},
            [("INVALID", ["input", "settings", "instructions"])],
        ),
        ("manual", {"settings": [1]}, [("INVALID", ["input", "settings"])]),
    ]
    for slug, change, expected in cases:
        result = (await api.admin(GATEWAY_UPDATE, {"slug": slug, "input": change}))["gatewayUpdate"]
        assert codes(result) == expected, (slug, change)
        assert result["gateway"] is None
    assert (await api.admin(GATEWAYS))["gateways"] == [
        {"slug": "card", "name": "Card", "enabled": True},
        {"slug": "manual", "name": "Pay on delivery / bank transfer", "enabled": True},
    ]
    forbidden = await api.gql(
        GATEWAY_UPDATE, {"slug": "card", "input": {"enabled": False}}, as_="storefront"
    )
    assert forbidden["data"]["gatewayUpdate"] is None
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = await api.gql("{ gateways { slug settings } }", as_="storefront")
    assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- the card flows ------------------------------------------------------------------------


async def test_card_purchase_fulfil_and_refunds(api: Api) -> None:
    product = await new_product(api, stock=5, price=1000)
    order = await new_order(api, [(product, 2)])
    total = order["totals"]["total"]["amount"]
    assert total == 2000

    paid = await pay(api, order["id"])
    assert paid["errors"] == []
    assert (paid["order"]["status"], paid["order"]["payment"]) == ("COMPLETE", "PAID")
    tx = paid["transaction"]
    assert (tx["gateway"], tx["method"], tx["status"]) == ("card", "PURCHASE", "SUCCEEDED")
    assert tx["amount"]["amount"] == total and tx["errorMessage"] is None
    assert tx["card"] == {"brand": "visa", "last4": "4242"} and tx["reference"]
    assert [t["id"] for t in paid["order"]["transactions"]] == [tx["id"]]
    assert paid["order"]["transactions"][0]["amount"]["formatted"] == "$20.00"
    assert await stock(api, product) == (5, 3, 2)

    again = await pay(api, order["id"])
    assert codes(again) == [("INVALID_TRANSITION", ["orderId"])]
    assert await stock(api, product) == (5, 3, 2)

    fulfilled = await api.admin(
        "mutation($id: ID!) { orderFulfill(id: $id) { order { shipping } errors { code } } }",
        {"id": order["id"]},
    )
    assert fulfilled["orderFulfill"]["order"]["shipping"] == "FULFILLED"
    assert await stock(api, product) == (3, 3, 0)

    part = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"], "amount": 500}))[
        "transactionRefund"
    ]
    assert part["errors"] == []
    assert part["transaction"]["method"] == "REFUND"
    assert part["transaction"]["amount"] == {"amount": 500}
    assert part["transaction"]["parentId"] == tx["id"]
    assert part["order"]["payment"] == "PARTIALLY_REFUNDED"

    too_much = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"], "amount": 1501}))[
        "transactionRefund"
    ]
    assert codes(too_much) == [("INVALID_TRANSITION", ["amount"])]
    for bad in (0, -5):
        invalid = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"], "amount": bad}))[
            "transactionRefund"
        ]
        assert codes(invalid) == [("INVALID", ["amount"])]

    rest = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"]}))["transactionRefund"]
    assert rest["transaction"]["amount"] == {"amount": 1500}
    assert rest["order"]["payment"] == "REFUNDED"
    nothing_left = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"], "amount": 1}))[
        "transactionRefund"
    ]
    assert codes(nothing_left) == [("INVALID_TRANSITION", ["amount"])]

    final = await get_order(api, order["id"])
    assert [(t["method"], t["amount"]["amount"]) for t in final["transactions"]] == [
        ("PURCHASE", 2000),
        ("REFUND", 500),
        ("REFUND", 1500),
    ]
    assert await stock(api, product) == (3, 3, 0)  # refunds never restock by themselves
    order_gid = order["id"]
    assert await ledger(api, product) == [
        ("INCREMENT", 5, None),
        ("ALLOCATE", 2, order_gid),
        ("DECREMENT", 2, order_gid),
    ]


async def test_card_authorize_then_capture(api: Api) -> None:
    product = await new_product(api, stock=4)
    order = await new_order(api, [(product, 3)])
    authorized = await pay(api, order["id"], method="AUTHORIZE")
    assert authorized["errors"] == []
    assert (authorized["order"]["status"], authorized["order"]["payment"]) == (
        "INCOMPLETE",
        "AUTHORIZED",
    )
    auth = authorized["transaction"]
    assert (auth["method"], auth["status"]) == ("AUTHORIZE", "SUCCEEDED")
    assert await stock(api, product) == (4, 1, 3)

    refund_first = (await api.admin(REFUND, {"order": order["id"], "tx": auth["id"], "amount": 1}))[
        "transactionRefund"
    ]
    assert codes(refund_first) == [("INVALID_TRANSITION", ["transactionId"])]

    captured = (await api.admin(CAPTURE, {"order": order["id"], "tx": auth["id"]}))[
        "transactionCapture"
    ]
    assert captured["errors"] == []
    assert (captured["order"]["status"], captured["order"]["payment"]) == ("COMPLETE", "PAID")
    assert captured["transaction"]["method"] == "CAPTURE"
    assert captured["transaction"]["amount"] == auth["amount"]
    assert captured["transaction"]["card"] == {"brand": "visa", "last4": "4242"}
    assert await stock(api, product) == (4, 1, 3)  # still allocated until fulfilled

    for operation, name in ((CAPTURE, "transactionCapture"), (CANCEL, "transactionCancel")):
        again = (await api.admin(operation, {"order": order["id"], "tx": auth["id"]}))[name]
        assert codes(again) == [("INVALID_TRANSITION", ["transactionId"])]
    # Refunding "the authorization" refunds its capture.
    refunded = (await api.admin(REFUND, {"order": order["id"], "tx": auth["id"], "amount": 100}))[
        "transactionRefund"
    ]
    assert refunded["errors"] == [] and refunded["order"]["payment"] == "PARTIALLY_REFUNDED"
    assert refunded["transaction"]["parentId"] == captured["transaction"]["id"]
    events = [e["type"] for e in refunded["order"]["events"]]
    assert events[-3:] == ["authorized", "captured", "partially_refunded"]


async def test_cancelling_an_authorization_releases_its_stock(api: Api) -> None:
    product = await new_product(api, stock=3)
    order = await new_order(api, [(product, 2)])
    auth = (await pay(api, order["id"], method="AUTHORIZE"))["transaction"]
    assert await stock(api, product) == (3, 1, 2)

    cancelled = (await api.admin(CANCEL, {"order": order["id"], "tx": auth["id"]}))[
        "transactionCancel"
    ]
    assert cancelled["errors"] == []
    assert (cancelled["order"]["status"], cancelled["order"]["payment"]) == (
        "INCOMPLETE",
        "UNPAID",
    )
    assert cancelled["transaction"]["method"] == "CANCEL"
    assert await stock(api, product) == (3, 3, 0)
    capture_void = (await api.admin(CAPTURE, {"order": order["id"], "tx": auth["id"]}))[
        "transactionCapture"
    ]
    assert codes(capture_void) == [("INVALID_TRANSITION", ["transactionId"])]

    repaid = await pay(api, order["id"])  # an UNPAID order may be paid again
    assert repaid["order"]["payment"] == "PAID"
    assert await stock(api, product) == (3, 1, 2)
    assert [(a, q) for a, q, _ in await ledger(api, product)] == [
        ("INCREMENT", 3),
        ("ALLOCATE", 2),
        ("DEALLOCATE", 2),
        ("ALLOCATE", 2),
    ]


async def test_order_cancel_releases_once_and_the_authorization_can_still_be_voided(
    api: Api,
) -> None:
    product = await new_product(api, stock=2)
    order = await new_order(api, [(product, 2)])
    auth = (await pay(api, order["id"], method="AUTHORIZE"))["transaction"]
    assert await stock(api, product) == (2, 0, 2)
    cancelled = await api.admin(
        "mutation($id: ID!) { orderCancel(id: $id) { order { status } errors { code } } }",
        {"id": order["id"]},
    )
    assert cancelled["orderCancel"]["order"]["status"] == "CANCELLED"
    assert await stock(api, product) == (2, 2, 0)
    voided = (await api.admin(CANCEL, {"order": order["id"], "tx": auth["id"]}))[
        "transactionCancel"
    ]
    assert voided["errors"] == [] and voided["order"]["payment"] == "UNPAID"
    assert await stock(api, product) == (2, 2, 0)  # released once, not twice
    assert codes(await pay(api, order["id"])) == [("INVALID_TRANSITION", ["orderId"])]


async def test_a_declined_card_records_a_failed_transaction_and_changes_nothing_else(
    api: Api,
) -> None:
    for card, message in ((DECLINED, "Your card was declined."), (NO_FUNDS, "insufficient funds")):
        product = await new_product(api, stock=5)
        order = await new_order(api, [(product, 5)])
        before = await get_order(api, order["id"])

        declined = await pay(api, order["id"], card=card)
        assert codes(declined) == [("PAYMENT_DECLINED", None)]
        assert message in declined["errors"][0]["message"]
        tx = declined["transaction"]
        assert (tx["method"], tx["status"]) == ("PURCHASE", "FAILED")
        assert message in tx["errorMessage"]
        assert tx["card"] == {"brand": "visa", "last4": card["number"][-4:]}
        assert declined["order"]["payment"] == "UNPAID"

        after = await get_order(api, order["id"])
        assert [t["id"] for t in after["transactions"]] == [tx["id"]]
        assert {k: v for k, v in after.items() if k != "transactions"} == {
            k: v for k, v in before.items() if k != "transactions"
        }
        assert await stock(api, product) == (5, 5, 0)
        assert [(a, q) for a, q, _ in await ledger(api, product)] == [
            ("INCREMENT", 5),
            ("ALLOCATE", 5),
            ("DEALLOCATE", 5),
        ]
        assert (await pay(api, order["id"]))["order"]["payment"] == "PAID"  # another card works
        assert await stock(api, product) == (5, 0, 5)


async def test_bad_card_data_is_refused_before_anything_happens(api: Api) -> None:
    product = await new_product(api, stock=5)
    order = await new_order(api, [(product, 1)])
    cases = [
        ({**VISA, "number": "4242424242424241"}, [("INVALID", ["input", "card", "number"])]),
        ({**VISA, "number": "4242-abc"}, [("INVALID", ["input", "card", "number"])]),
        ({**VISA, "expYear": 2020}, [("INVALID", ["input", "card", "expYear"])]),
        ({**VISA, "expYear": 20}, [("INVALID", ["input", "card", "expYear"])]),
        ({**VISA, "expYear": 3000}, [("INVALID", ["input", "card", "expYear"])]),
        ({**VISA, "expMonth": 13}, [("INVALID", ["input", "card", "expMonth"])]),
        ({**VISA, "cvc": "12"}, [("INVALID", ["input", "card", "cvc"])]),
        ({**VISA, "cvc": "12345"}, [("INVALID", ["input", "card", "cvc"])]),
        (
            {"number": "1234", "expMonth": 0, "expYear": 1999, "cvc": "x"},
            [
                ("INVALID", ["input", "card", "number"]),
                ("INVALID", ["input", "card", "expMonth"]),
                ("INVALID", ["input", "card", "expYear"]),
                ("INVALID", ["input", "card", "cvc"]),
            ],
        ),
    ]
    for card, expected in cases:
        result = await pay(api, order["id"], card=card)
        assert codes(result) == expected, card
        assert result["transaction"] is None and result["order"] is None
    assert codes(await pay(api, order["id"], card=None)) == [("REQUIRED", ["input", "card"])]
    with_spaces = {**VISA, "number": "4242 4242 4242 4242", "expYear": 40}
    assert (await pay(api, order["id"], card=with_spaces))["errors"] == []
    assert len((await get_order(api, order["id"]))["transactions"]) == 1
    assert await stock(api, product) == (5, 4, 1)


def test_card_checks_against_a_fixed_date() -> None:
    today = date(2030, 6, 15)

    def problems(number: str = VISA["number"], month: int = 6, year: int = 2030) -> list[str]:
        card = CardDetails(number=number, exp_month=month, exp_year=year, cvc="123")
        return [e.field[-1] for e in card_problems(card, today) if e.field]

    assert problems() == []  # valid through the end of its month
    assert problems(month=5) == ["expMonth"]
    assert problems(year=29, month=12) == ["expYear"]
    assert problems(year=30, month=7) == []
    assert [brand_of(n) for n in ("4242424242424242", "5555555555554444", "378282246310005")] == [
        "visa",
        "mastercard",
        "amex",
    ]
    assert brand_of("6011111111111117") == "discover" and brand_of("9999") == "unknown"
    assert "4242" not in repr(
        CardDetails(number="4242424242424242", exp_month=1, exp_year=1, cvc="1")
    )


async def change_stock(api: Api, product: str, action: str, quantity: int) -> None:
    result = await api.admin(
        """mutation($id: ID!, $action: StockAction!, $q: Int!) { stockTransactionCreate(
            productId: $id, input: {action: $action, quantity: $q}) { errors { code } } }""",
        {"id": product, "action": action, "q": quantity},
    )
    assert result["stockTransactionCreate"]["errors"] == []


async def test_insufficient_stock_is_all_or_nothing_and_charges_nothing(api: Api) -> None:
    plenty = await new_product(api, stock=10)
    scarce = await new_product(api, stock=2)
    unmanaged = await new_product(api, stock=None)
    order = await new_order(api, [(plenty, 3), (scarce, 2), (unmanaged, 50)], custom=300)
    await change_stock(api, scarce, "ALLOCATE", 1)  # checkout holds nothing: stock moved on
    result = await pay(api, order["id"])
    assert codes(result) == [("INSUFFICIENT_STOCK", ["orderId"])]
    assert result["order"] is None and result["transaction"] is None
    assert await stock(api, plenty) == (10, 10, 0)
    assert await stock(api, scarce) == (2, 1, 1)
    assert (await get_order(api, order["id"]))["transactions"] == []

    await change_stock(api, scarce, "DEALLOCATE", 1)
    paid = await pay(api, order["id"])
    assert paid["errors"] == [] and paid["transaction"]["amount"]["amount"] == (
        3 * 1000 + 2 * 1000 + 50 * 1000 + 300
    )
    assert await stock(api, plenty) == (10, 7, 3)
    assert await stock(api, scarce) == (2, 0, 2)
    assert await stock(api, unmanaged) == (0, 0, 0)  # unmanaged stock is never touched


async def test_orders_release_and_ship_only_what_they_hold(api: Api) -> None:
    """An order paid while its product was unmanaged holds nothing: after the product starts
    managing stock and another order allocates, cancelling or fulfilling the first one never
    takes the other's units."""
    product = await new_product(api, stock=None)
    early = [await new_order(api, [(product, 2)]) for _ in range(2)]
    for order in early:
        assert (await pay(api, order["id"]))["errors"] == []
    updated = await api.admin(
        """mutation($id: ID!) { productUpdate(id: $id, input: {manageStock: true, stock: 5}) {
            errors { code } } }""",
        {"id": product},
    )
    assert updated["productUpdate"]["errors"] == []
    late = await new_order(api, [(product, 2)])
    assert (await pay(api, late["id"]))["errors"] == []
    assert await stock(api, product) == (5, 3, 2)
    for mutation, order in (("orderCancel", early[0]), ("orderFulfill", early[1])):
        done = await api.admin(
            f"mutation($id: ID!) {{ {mutation}(id: $id) {{ errors {{ code }} }} }}",
            {"id": order["id"]},
        )
        assert done[mutation]["errors"] == []
        assert await stock(api, product) == (5, 3, 2)
    await api.admin(
        "mutation($id: ID!) { orderFulfill(id: $id) { errors { code } } }", {"id": late["id"]}
    )
    assert await stock(api, product) == (3, 3, 0)


async def test_orders_that_cannot_be_paid(api: Api) -> None:
    product = await new_product(api, stock=5)
    order = await new_order(api, [(product, 1)])
    await api.admin(
        "mutation($id: ID!) { orderCancel(id: $id) { errors { code } } }", {"id": order["id"]}
    )
    assert codes(await pay(api, order["id"])) == [("INVALID_TRANSITION", ["orderId"])]
    unknown = encode_id("Order", uuid.uuid4())
    assert codes(await pay(api, unknown)) == [("NOT_FOUND", ["orderId"])]
    assert codes(await pay(api, "garbage")) == [("NOT_FOUND", ["orderId"])]
    assert codes(await pay(api, order["id"], gateway="paypal")) == [
        ("NOT_FOUND", ["input", "gateway"])
    ]
    assert await stock(api, product) == (5, 5, 0)

    payable = await new_order(api, [(product, 1)])
    await api.admin(GATEWAY_UPDATE, {"slug": "card", "input": {"enabled": False}})
    assert codes(await pay(api, payable["id"])) == [("GATEWAY_DISABLED", ["input", "gateway"])]
    assert await stock(api, product) == (5, 5, 0)
    await api.admin(GATEWAY_UPDATE, {"slug": "card", "input": {"enabled": True}})
    assert (await pay(api, payable["id"]))["errors"] == []
    assert await stock(api, product) == (5, 4, 1)


# --- the manual gateway: pay on delivery ----------------------------------------------------


async def test_pay_on_delivery_end_to_end(api: Api) -> None:
    """A storefront checks out and promises to pay; the admin ships, then captures."""
    product = await new_product(api, stock=3, price=1250)
    added = await api.storefront(
        """mutation($p: ID!) { cartItemAdd(reference: "cod", productId: $p, quantity: 2) {
            errors { code } } }""",
        {"p": product},
    )
    assert added["cartItemAdd"]["errors"] == []
    checkout = (
        await api.storefront(
            """mutation($input: CheckoutInput!) { cartCheckout(reference: "cod", input: $input) {
                order { id totals { total { amount } } } errors { code field message } } }""",
            {
                "input": {
                    "customer": {"email": "bob@example.com", "name": "Bob"},
                    "billingAddress": ADDRESS,
                }
            },
        )
    )["cartCheckout"]
    assert checkout["errors"] == [], checkout
    order_id = checkout["order"]["id"]
    assert await stock(api, product) == (3, 3, 0)  # checkout holds nothing

    refused = await pay(api, order_id, gateway="manual", method="PURCHASE", card=None)
    assert codes(refused) == [("FORBIDDEN", ["input", "method"])]
    with_card = await pay(api, order_id, gateway="manual", method="AUTHORIZE")
    assert codes(with_card) == [("INVALID", ["input", "card"])]

    promised = await pay(api, order_id, gateway="manual", method="AUTHORIZE", card=None)
    assert promised["errors"] == []
    assert promised["order"]["payment"] == "AUTHORIZED"
    auth = promised["transaction"]
    assert (auth["gateway"], auth["card"], auth["reference"]) == ("manual", None, None)
    assert auth["amount"]["amount"] == 2500
    assert await stock(api, product) == (3, 1, 2)

    fulfilled = await api.admin(
        "mutation($id: ID!) { orderFulfill(id: $id) { order { shipping } errors { code } } }",
        {"id": order_id},
    )
    assert fulfilled["orderFulfill"]["errors"] == []
    assert await stock(api, product) == (1, 1, 0)

    cancel_after_shipping = (await api.admin(CANCEL, {"order": order_id, "tx": auth["id"]}))[
        "transactionCancel"
    ]
    assert codes(cancel_after_shipping) == [("INVALID_TRANSITION", ["orderId"])]

    captured = (await api.admin(CAPTURE, {"order": order_id, "tx": auth["id"]}))[
        "transactionCapture"
    ]
    assert captured["errors"] == []
    final = captured["order"]
    assert (final["status"], final["payment"], final["shipping"]) == (
        "COMPLETE",
        "PAID",
        "FULFILLED",
    )
    assert [t["method"] for t in final["transactions"]] == ["AUTHORIZE", "CAPTURE"]
    assert await stock(api, product) == (1, 1, 0)

    counter_sale = await new_order(api, [(product, 1)])  # an admin may mark an order paid
    paid = await pay(api, counter_sale["id"], "manual", "PURCHASE", card=None, as_="admin")
    assert paid["errors"] == [] and paid["order"]["payment"] == "PAID"
    assert await stock(api, product) == (1, 0, 1)


async def test_transaction_operations_are_admin_only(api: Api) -> None:
    product = await new_product(api, stock=2)
    order = await new_order(api, [(product, 1)])
    tx = (await pay(api, order["id"], method="AUTHORIZE"))["transaction"]
    for operation, name in (
        (CAPTURE, "transactionCapture"),
        (CANCEL, "transactionCancel"),
        (REFUND, "transactionRefund"),
    ):
        body = await api.gql(operation, {"order": order["id"], "tx": tx["id"]}, as_="storefront")
        assert body["data"][name] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    node = "query($id: ID!) { node(id: $id) { ... on Transaction { method status } } }"
    assert (await api.storefront(node, {"id": tx["id"]}))["node"] is None
    assert (await api.admin(node, {"id": tx["id"]}))["node"] == {
        "method": "AUTHORIZE",
        "status": "SUCCEEDED",
    }
    assert await stock(api, product) == (2, 1, 1)


async def test_transaction_ids_must_belong_to_the_order(api: Api) -> None:
    product = await new_product(api, stock=5)
    first = await new_order(api, [(product, 1)])
    second = await new_order(api, [(product, 1)])
    tx = (await pay(api, first["id"], method="AUTHORIZE"))["transaction"]
    for operation, name in ((CAPTURE, "transactionCapture"), (CANCEL, "transactionCancel")):
        result = (await api.admin(operation, {"order": second["id"], "tx": tx["id"]}))[name]
        assert codes(result) == [("NOT_FOUND", ["transactionId"])]
        garbage = (await api.admin(operation, {"order": first["id"], "tx": "nope"}))[name]
        assert codes(garbage) == [("NOT_FOUND", ["transactionId"])]
    assert (await get_order(api, first["id"]))["payment"] == "AUTHORIZED"


# --- idempotency keys ------------------------------------------------------------------------


async def test_a_replayed_key_returns_the_first_result_and_charges_once(
    api: Api, db: Database
) -> None:
    product = await new_product(api, stock=5)
    order = await new_order(api, [(product, 2)])
    key = f"key-{uuid.uuid4()}"
    first = await pay(api, order["id"], key=key)
    second = await pay(api, order["id"], key=key)
    assert first["errors"] == second["errors"] == []
    assert second["transaction"]["id"] == first["transaction"]["id"]
    assert len(second["order"]["transactions"]) == 1
    assert await stock(api, product) == (5, 3, 2)

    other_card = await pay(api, order["id"], key=key, card={**VISA, "cvc": "999"})
    assert codes(other_card) == [("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])]
    other_order = await new_order(api, [(product, 1)])
    assert codes(await pay(api, other_order["id"], key=key)) == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]
    assert codes(await pay(api, order["id"], key="")) == [("INVALID", ["input", "idempotencyKey"])]
    assert codes(await pay(api, order["id"], key="k" * 256)) == [
        ("INVALID", ["input", "idempotencyKey"])
    ]
    async with db.reader() as session:
        stored = (await session.scalars(select(IdempotencyKey))).all()
    assert [(r.key, r.state) for r in stored] == [(key, "DONE")]
    assert VISA["number"] not in repr(vars(stored[0]))


async def test_replays_of_failures_return_the_same_failure(api: Api) -> None:
    product = await new_product(api, stock=2)
    order = await new_order(api, [(product, 2)])
    await change_stock(api, product, "DECREMENT", 1)
    assert codes(await pay(api, order["id"], key="short")) == [("INSUFFICIENT_STOCK", ["orderId"])]
    await change_stock(api, product, "INCREMENT", 1)
    assert codes(await pay(api, order["id"], key="short")) == [
        ("INSUFFICIENT_STOCK", ["orderId"])
    ]  # the first result, though stock has arrived: a new attempt takes a new key

    declined = await pay(api, order["id"], key="declined", card=DECLINED)
    replay = await pay(api, order["id"], key="declined", card=DECLINED)
    assert codes(replay) == [("PAYMENT_DECLINED", None)]
    assert replay["transaction"]["id"] == declined["transaction"]["id"]
    assert len(replay["order"]["transactions"]) == 1
    assert (await pay(api, order["id"], key="fresh"))["errors"] == []
    assert await stock(api, product) == (2, 0, 2)


async def test_concurrent_payments_of_one_order_charge_once(api: Api) -> None:
    product = await new_product(api, stock=5)
    order = await new_order(api, [(product, 2)])
    results = await asyncio.gather(*(pay(api, order["id"], key="double-click") for _ in range(8)))
    assert all(r["errors"] == [] for r in results), results
    assert len({r["transaction"]["id"] for r in results}) == 1
    assert len((await get_order(api, order["id"]))["transactions"]) == 1
    assert await stock(api, product) == (5, 3, 2)

    # Without a key, concurrent payments of one order still charge once: the others find the
    # payment in progress (one PENDING transaction per order) or the order paid.
    second = await new_order(api, [(product, 2)])
    results = await asyncio.gather(*(pay(api, second["id"]) for _ in range(6)))
    assert sum(1 for r in results if r["errors"] == []) == 1
    assert sorted(c for r in results for c, _ in codes(r)) == ["INVALID_TRANSITION"] * 5
    assert len((await get_order(api, second["id"]))["transactions"]) == 1
    assert await stock(api, product) == (5, 1, 4)


# --- plugins: unsupported operations, refusals, lost answers --------------------------------


class LimitedGateway(PaymentGateway):
    """A provider that can only purchase and refund, and refuses refunds above 1000."""

    slug = "limited"
    default_name = "Limited"
    operations = frozenset({Operation.PURCHASE, Operation.REFUND})
    setting_types: ClassVar = {}

    async def purchase(self, request: PaymentRequest) -> GatewayResult:
        return GatewayResult(succeeded=True, reference="lim-1")

    async def refund(self, follow_up: FollowUp) -> GatewayResult:
        if follow_up.amount > 1000:
            return GatewayResult(succeeded=False, error_message="refund limit exceeded")
        return GatewayResult(succeeded=True, reference="lim-r")


class LostAnswerGateway(PaymentGateway):
    """A provider whose answer never arrives (the connection drops); `recover` may know."""

    slug = "flaky"
    default_name = "Flaky"
    operations = frozenset({Operation.PURCHASE, Operation.REFUND})
    takes_card = True
    knows: ClassVar[bool] = False
    refunded: ClassVar[list[str | None]] = []

    async def purchase(self, request: PaymentRequest) -> GatewayResult:
        raise ConnectionError(f"connection reset while sending {request!r}")

    async def refund(self, follow_up: FollowUp) -> GatewayResult:
        self.refunded.append(follow_up.reference)
        return GatewayResult(succeeded=True)

    async def recover(self, request: PaymentRequest) -> GatewayResult | None:
        return GatewayResult(succeeded=True, reference="found") if self.knows else None


@pytest.fixture
def plugins() -> Iterator[None]:
    added = [LimitedGateway(), LostAnswerGateway()]
    for plugin in added:
        gateways.register(plugin)
    yield
    for plugin in added:
        gateways.REGISTRY.pop(plugin.slug)


async def _seed(db: Database) -> None:
    async with db.transaction() as session:
        await ensure_gateways(session)


async def test_unsupported_operations_and_a_refused_refund(
    api: Api, db: Database, plugins: None
) -> None:
    await _seed(db)
    product = await new_product(api, stock=5)
    order = await new_order(api, [(product, 2)])
    authorize = await pay(api, order["id"], gateway="limited", method="AUTHORIZE", card=None)
    assert codes(authorize) == [("UNSUPPORTED_GATEWAY_OPERATION", ["input", "method"])]
    tx = (await pay(api, order["id"], gateway="limited", card=None))["transaction"]
    assert tx["status"] == "SUCCEEDED" and tx["reference"] == "lim-1"

    refused = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"], "amount": 1500}))[
        "transactionRefund"
    ]
    assert codes(refused) == [("PAYMENT_DECLINED", None)]
    assert refused["transaction"]["status"] == "FAILED"
    assert refused["transaction"]["errorMessage"] == "refund limit exceeded"
    assert refused["order"]["payment"] == "PAID"
    ok = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"], "amount": 1000}))[
        "transactionRefund"
    ]
    assert ok["errors"] == [] and ok["order"]["payment"] == "PARTIALLY_REFUNDED"
    assert ok["transaction"]["refunded"] == {"amount": 0}
    rest = (await api.admin(REFUND, {"order": order["id"], "tx": tx["id"], "amount": 1001}))[
        "transactionRefund"
    ]
    assert codes(rest) == [("INVALID_TRANSITION", ["amount"])]  # only 1000 left


@pytest.mark.parametrize("gateway_knows", [False, True])
async def test_a_lost_gateway_answer_is_resolved_by_the_sweep(
    api: Api, db: Database, plugins: None, gateway_knows: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway call dies after the allocation was committed: the stock stays with a PENDING
    transaction (and blocks a second payment) until the sweep resolves it. The logged failure
    shows no card number."""
    await _seed(db)
    LostAnswerGateway.knows = gateway_knows
    product = await new_product(api, stock=3)
    order = await new_order(api, [(product, 2)])
    payment = {"gateway": "flaky", "method": "PURCHASE", "idempotencyKey": "k1", "card": VISA}
    body = (await api.post(PAY, {"order": order["id"], "input": payment}, as_="storefront")).json()
    assert body["errors"][0]["message"] == "Internal server error"
    assert "connection reset while sending" in caplog.text
    assert "exp_month=12" in caplog.text and VISA["number"] not in caplog.text
    assert await stock(api, product) == (3, 1, 2)
    assert (await get_order(api, order["id"]))["transactions"] == []  # in flight: not shown
    assert codes(await pay(api, order["id"])) == [("INVALID_TRANSITION", ["orderId"])]

    assert await sweep_stale_payments(db, timedelta(minutes=10)) == 0  # not stale yet
    assert await sweep_stale_payments(db, timedelta(0)) == 1
    async with db.reader() as session:
        assert (
            await session.scalar(
                select(PaymentTransaction).where(PaymentTransaction.status == "PENDING")
            )
        ) is None
    replay = await pay(api, order["id"], gateway="flaky", key="k1")
    if gateway_knows:
        assert replay["errors"] == [] and replay["order"]["payment"] == "PAID"
        assert replay["transaction"]["reference"] == "found"
        assert await stock(api, product) == (3, 1, 2)
    else:
        assert codes(replay) == [("PAYMENT_DECLINED", None)]
        assert "nothing was charged" in replay["transaction"]["errorMessage"]
        assert await stock(api, product) == (3, 3, 0)
        assert (await pay(api, order["id"]))["errors"] == []  # the order can be paid again
        assert await stock(api, product) == (3, 1, 2)


async def test_a_payment_found_after_the_order_was_cancelled_is_given_back(
    api: Api, db: Database, plugins: None
) -> None:
    """An admin cancels the order while its payment is in flight (UNPAID: the cancel releases
    nothing); when the sweep learns the charge succeeded, the order can no longer take it: the
    payment is FAILED, its allocation released and the charge refunded at the gateway."""
    await _seed(db)
    LostAnswerGateway.knows, LostAnswerGateway.refunded = True, []
    product = await new_product(api, stock=3)
    order = await new_order(api, [(product, 2)])
    payment = {"gateway": "flaky", "method": "PURCHASE", "card": VISA}
    await api.post(PAY, {"order": order["id"], "input": payment}, as_="storefront")
    cancelled = await api.admin(
        "mutation($id: ID!) { orderCancel(id: $id) { order { status } errors { code } } }",
        {"id": order["id"]},
    )
    assert cancelled["orderCancel"]["order"]["status"] == "CANCELLED"
    assert await stock(api, product) == (3, 1, 2)
    assert await sweep_stale_payments(db, timedelta(0)) == 1
    final = await get_order(api, order["id"])
    assert (final["status"], final["payment"]) == ("CANCELLED", "UNPAID")
    assert [(t["status"], t["reference"]) for t in final["transactions"]] == [("FAILED", "found")]
    assert LostAnswerGateway.refunded == ["found"]
    assert await stock(api, product) == (3, 3, 0)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the sweep itself runs on both, above
async def test_a_server_resolves_a_payment_left_pending_by_a_crash(
    db_url: str, template: Template
) -> None:
    """Step 1 of orderPay committed (allocation + PENDING transaction) and the process died:
    a running server's sweep job releases the stock once the payment is older than the
    timeout, and the order can be paid again."""
    env = {
        "STOCKROOM_PAYMENT_PENDING_TIMEOUT_SECONDS": "1",
        "STOCKROOM_PAYMENT_SWEEP_INTERVAL_SECONDS": "1",
    }
    async with (
        running_server(db_url, **env) as server,
        httpx.AsyncClient(base_url=server.base, timeout=30) as http,
    ):
        api = Api(http, template)
        product = await new_product(api, stock=4)
        order = await new_order(api, [(product, 3)])
        db = Database(db_url)
        try:
            async with db.transaction() as session:  # what the dead request had committed
                pk = decode_id(order["id"], "Order")
                await allocate_order(session, pk)
                session.add(
                    PaymentTransaction(
                        order_id=pk,
                        gateway="card",
                        method="PURCHASE",
                        status="PENDING",
                        amount=3000,
                        currency="USD",
                        card_brand="visa",
                        card_last4="4242",
                    )
                )
        finally:
            await db.dispose()
        assert await stock(api, product) == (4, 1, 3)
        deadline = time.monotonic() + 15
        while (transactions := (await get_order(api, order["id"]))["transactions"]) == []:
            assert time.monotonic() < deadline, "the sweep did not resolve the payment"
            await asyncio.sleep(0.2)
        assert [(t["status"], t["card"]["last4"]) for t in transactions] == [("FAILED", "4242")]
        assert await stock(api, product) == (4, 4, 0)
        assert (await pay(api, order["id"]))["order"]["payment"] == "PAID"


# --- reads -------------------------------------------------------------------------------------


async def test_order_transactions_load_without_n_plus_one(api: Api) -> None:
    product = await new_product(api, stock=100)
    query = """query($n: Int!) { orders(first: $n) { edges { node {
        transactions { method amount { formatted } } } } } }"""
    for _ in range(4):
        order = await new_order(api, [(product, 1)])
        await pay(api, order["id"], card=DECLINED)
        await pay(api, order["id"])
    await api.admin(query, {"n": 1})  # the process loads its price tables
    counts = []
    for first in (1, 4):
        with StatementCounter() as counter:
            listed = (await api.admin(query, {"n": first}))["orders"]["edges"]
        assert [len(e["node"]["transactions"]) for e in listed] == [2] * first
        counts.append(counter.count)
    assert counts[0] == counts[1]


async def test_card_numbers_are_never_stored(api: Api, db: Database) -> None:
    product = await new_product(api, stock=5)
    order = await new_order(api, [(product, 1)])
    await pay(api, order["id"], card=DECLINED, key="a")
    await pay(api, order["id"], key="b")
    async with db.reader() as session:
        rows = [
            *(await session.scalars(select(PaymentTransaction))).all(),
            *(await session.scalars(select(IdempotencyKey))).all(),
        ]
    dumped = " ".join(repr(vars(r)) for r in rows)
    for number in (VISA["number"], DECLINED["number"], "424242424242"):
        assert number not in dumped
    assert "4242" in dumped and "0002" in dumped  # the last four are kept
