"""Orders (API.md section 7): who may read and change them, listings (filters, sorting,
keyset pages, no N+1), me.orders, orderCreate, orderUpdate, cancel and fulfil with their stock
effects, and racing transitions on one order."""

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from domain.inventory import allocate_order
from domain.orders import OrderAction, transition
from models.catalog import Product
from models.engine import Database, StatementCounter
from resolvers.ids import parse_id
from tests.cart_helpers import (
    ADDRESS,
    ERRORS,
    ORDER,
    ORDER_FIELDS,
    add,
    checkout,
    product,
    register,
    shipping_method,
    tax_band,
)
from tests.conftest import Api

ORDERS = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: OrderFilter,
      $sortBy: OrderSort) {
  orders(first: $first, after: $after, last: $last, before: $before, filter: $filter,
         sortBy: $sortBy) {
    totalCount
    edges { cursor node { number customer { email } totals { total { amount } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
ORDER_CREATE = f"""
mutation($input: OrderCreateInput!) {{
  orderCreate(input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
ORDER_UPDATE = f"""
mutation($id: ID!, $input: OrderUpdateInput!) {{
  orderUpdate(id: $id, input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
ORDER_CANCEL = f"""
mutation($id: ID!) {{ orderCancel(id: $id) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }} }}"""
ORDER_FULFILL = f"""
mutation($id: ID!) {{ orderFulfill(id: $id) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }} }}"""
STOCK = "query($id: ID!) { product(id: $id) { stock { total available allocated } } }"
GUEST = {"email": "guest@example.com", "name": "Guest"}


async def order_of(
    api: Api, product_id: str, quantity: int = 1, email: str = "guest@example.com", **kw: Any
) -> dict[str, Any]:
    """A new order for `quantity` units of a product that needs no shipping."""
    reference = f"r{uuid.uuid4().hex[:10]}"
    assert (await add(api, reference, product_id, quantity))["errors"] == []
    buyer = {"customer": {"email": email, "name": email.split("@")[0]}}
    kw.setdefault("as_", "admin")  # the payload shows the buyer's data to readers only
    result = await checkout(api, reference, buyer, **kw)
    assert result["errors"] == [], result
    return dict(result["order"])


async def pay(db: Database, order_id: str, gateway: str = "card", authorize: bool = False) -> None:
    """What orderPay does to an order: allocate its stock, then mark it paid (or authorized)."""
    found = parse_id(order_id)
    assert found is not None
    pk = found[1]
    action = OrderAction.AUTHORIZE if authorize else OrderAction.PURCHASE
    async with db.transaction() as session:
        await allocate_order(session, pk)
        await transition(session, pk, action, message="paid in a test", gateway=gateway)


async def stock(api: Api, product_id: str) -> tuple[int, int, int]:
    figures = (await api.admin(STOCK, {"id": product_id}))["product"]["stock"]
    return figures["total"], figures["available"], figures["allocated"]


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


# --- who may do what -------------------------------------------------------------------


async def test_reading_an_order_by_role(api: Api) -> None:
    alice, alice_token = await register(api, "alice@example.com")
    _, bob_token = await register(api, "bob@example.com")
    ebook = await product(api, "EBOOK", requiresShipping=False)
    as_alice = {"X-Customer-Token": alice_token}
    order = await order_of(api, ebook, email="alice@example.com", headers=as_alice)
    assert order["customer"]["id"] == alice
    variables = {"id": order["id"]}
    node = "query($id: ID!) { node(id: $id) { ... on Order { number } } }"

    assert (await api.admin(ORDER, variables))["order"]["number"] == order["number"]
    assert (await api.storefront(ORDER, variables, headers=as_alice))["order"]["id"] == order["id"]
    assert (await api.storefront(node, variables, headers=as_alice))["node"] == {
        "number": order["number"]
    }
    assert (await api.admin(node, variables))["node"] == {"number": order["number"]}

    as_bob = {"X-Customer-Token": bob_token}
    assert (await api.storefront(ORDER, variables, headers=as_bob))["order"] is None
    assert (await api.storefront(node, variables, headers=as_bob))["node"] is None
    assert (await api.storefront(node, variables))["node"] is None
    anonymous = await api.gql(ORDER, variables, as_="storefront")
    assert anonymous["data"] == {"order": None}
    assert anonymous["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    guest_order = await order_of(api, ebook)
    assert (await api.storefront(ORDER, {"id": guest_order["id"]}, headers=as_alice))[
        "order"
    ] is None
    assert (await api.admin(ORDER, {"id": "garbage"}))["order"] is None


async def test_back_office_operations_are_admin_only(api: Api) -> None:
    _, token = await register(api, "carol@example.com")
    ebook = await product(api, "EBOOK", requiresShipping=False)
    order = await order_of(
        api, ebook, email="carol@example.com", headers={"X-Customer-Token": token}
    )
    operations = {
        "orders": (ORDERS, {}),
        "orderCreate": (
            ORDER_CREATE,
            {
                "input": {
                    "customer": GUEST,
                    "billingAddress": ADDRESS,
                    "items": [{"productId": ebook, "quantity": 1}],
                }
            },
        ),
        "orderUpdate": (ORDER_UPDATE, {"id": order["id"], "input": {"billingAddress": ADDRESS}}),
        "orderCancel": (ORDER_CANCEL, {"id": order["id"]}),
        "orderFulfill": (ORDER_FULFILL, {"id": order["id"]}),
    }
    for headers in ({}, {"X-Customer-Token": token}):
        for field, (document, variables) in operations.items():
            body = await api.gql(document, variables, as_="storefront", headers=headers)
            assert body["data"] == {field: None}, field
            assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], field
    after = (await api.admin(ORDER, {"id": order["id"]}))["order"]
    assert after == order
    listed = await api.admin(ORDERS)
    assert listed["orders"]["totalCount"] == 1


# --- listings --------------------------------------------------------------------------


async def test_orders_are_filtered_sorted_and_paged(api: Api, db: Database) -> None:
    cheap = await product(api, "CHEAP", price=100, requiresShipping=False)
    dear = await product(api, "DEAR-ONE", price=5000, requiresShipping=False)
    await order_of(api, cheap, 3, email="ann@example.com")
    second = await order_of(api, dear, 1, email="ben@example.com")
    third = await order_of(api, cheap, 1, email="ann@example.com")
    await pay(db, second["id"])
    await api.admin(ORDER_CANCEL, {"id": third["id"]})

    async def numbers(**variables: Any) -> list[int]:
        listed = (await api.admin(ORDERS, variables))["orders"]
        return [e["node"]["number"] for e in listed["edges"]]

    assert await numbers() == [1003, 1002, 1001]  # newest first by default
    assert await numbers(sortBy={"field": "NUMBER", "direction": "ASC"}) == [1001, 1002, 1003]
    assert await numbers(sortBy={"field": "TOTAL", "direction": "DESC"}) == [1002, 1001, 1003]
    assert await numbers(filter={"status": "CANCELLED"}) == [1003]
    assert await numbers(filter={"payment": "PAID"}) == [1002]
    assert await numbers(filter={"shipping": "UNFULFILLED", "status": "INCOMPLETE"}) == [1001]
    assert await numbers(filter={"customerEmail": "ANN@example.com"}) == [1003, 1001]
    assert await numbers(filter={"search": "dear"}) == [1002]
    assert await numbers(filter={"search": "#1001"}) == [1001]
    assert await numbers(filter={"search": "ben@"}) == [1002]
    assert await numbers(filter={"search": "100%"}) == []
    assert await numbers(filter={"createdAfter": second["createdAt"]}) == [1003, 1002]
    assert await numbers(filter={"createdBefore": second["createdAt"]}) == [1001]

    page = (
        await api.admin(ORDERS, {"first": 2, "sortBy": {"field": "NUMBER", "direction": "ASC"}})
    )["orders"]
    assert [e["node"]["number"] for e in page["edges"]] == [1001, 1002]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    rest = (
        await api.admin(
            ORDERS,
            {
                "first": 2,
                "after": page["pageInfo"]["endCursor"],
                "sortBy": {"field": "NUMBER", "direction": "ASC"},
            },
        )
    )["orders"]
    assert [e["node"]["number"] for e in rest["edges"]] == [1003]
    assert not rest["pageInfo"]["hasNextPage"] and rest["pageInfo"]["hasPreviousPage"]
    back = (
        await api.admin(
            ORDERS,
            {
                "last": 1,
                "before": rest["edges"][0]["cursor"],
                "sortBy": {"field": "NUMBER", "direction": "ASC"},
            },
        )
    )["orders"]
    assert [e["node"]["number"] for e in back["edges"]] == [1002]
    too_many = await api.gql(ORDERS, {"first": 101})
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID"


async def test_listing_orders_costs_the_same_statements_whatever_the_page_size(
    api: Api,
) -> None:
    band = await tax_band(api, "20")
    ebook = await product(api, "EBOOK", requiresShipping=False, taxBandId=band)
    query = f"""query($first: Int) {{ orders(first: $first) {{ edges {{ node {{
        {ORDER_FIELDS} items {{ product {{ name }} }} }} }} }} }}"""

    async def statements(first: int) -> int:
        with StatementCounter() as counter:
            await api.admin(query, {"first": first})
        return counter.count

    for _ in range(6):
        await order_of(api, ebook, 2)
    await statements(1)  # warm the token cache
    assert await statements(6) == await statements(1)


async def test_me_orders_lists_only_the_customers_own(api: Api) -> None:
    _, dana_token = await register(api, "dana@example.com")
    ebook = await product(api, "EBOOK", requiresShipping=False)
    as_dana = {"X-Customer-Token": dana_token}
    for _ in range(3):
        await order_of(api, ebook, email="dana@example.com", headers=as_dana)
    await order_of(api, ebook)  # a guest's
    query = """query($first: Int, $after: String, $filter: OrderFilter) { me { orders(first: $first,
        after: $after, filter: $filter) { totalCount edges { node { number } }
        pageInfo { hasNextPage endCursor } } } }"""
    page = (await api.storefront(query, {"first": 2}, headers=as_dana))["me"]["orders"]
    assert page["totalCount"] == 3
    assert [e["node"]["number"] for e in page["edges"]] == [1003, 1002]
    rest = (
        await api.storefront(
            query, {"first": 2, "after": page["pageInfo"]["endCursor"]}, headers=as_dana
        )
    )["me"]["orders"]
    assert [e["node"]["number"] for e in rest["edges"]] == [1001]
    filtered = await api.storefront(query, {"filter": {"search": "1004"}}, headers=as_dana)
    assert filtered["me"]["orders"]["totalCount"] == 0
    anonymous = await api.gql("{ me { orders { totalCount } } }", as_="storefront")
    assert anonymous["data"]["me"] is None


# --- orderCreate -----------------------------------------------------------------------


async def test_admins_create_orders_without_a_cart(api: Api) -> None:
    band = await tax_band(api, "10")
    tee = await product(api, "TEE", price=1000, taxBandId=band, weight=300)
    post = await shipping_method(api, "post", 400)
    bob, _ = await register(api, "bob@example.com")
    items = [
        {"productId": tee, "quantity": 2},
        {"sku": "ENGRAVING", "name": "Engraving", "price": 750, "quantity": 1, "taxBandId": band},
        {"productId": tee, "quantity": 1},
    ]
    body = {"customerId": bob, "billingAddress": ADDRESS, "shippingMethodId": post, "items": items}
    created = (await api.admin(ORDER_CREATE, {"input": body}))["orderCreate"]
    assert created["errors"] == []
    order = created["order"]
    assert order["customer"]["id"] == bob and order["number"] == 1001
    assert [(i["sku"], i["quantity"], i["product"] is None) for i in order["items"]] == [
        ("TEE", 3, False),
        ("ENGRAVING", 1, True),
    ]
    assert order["totals"]["subtotal"]["amount"] == 3750
    assert order["totals"]["tax"]["amount"] == 375
    assert order["totals"]["total"]["amount"] == 3750 + 375 + 400
    assert order["events"][0]["message"] == "Order created by an admin"


async def test_order_create_rejects_bad_items(api: Api) -> None:
    scarce = await product(api, "SCARCE", manageStock=True, stock=1, requiresShipping=False)
    draft = await product(api, "DRAFT", status="DRAFT", requiresShipping=False)

    async def errors(items: list[dict[str, Any]], **extra: Any) -> list[tuple[str, list[str]]]:
        body = {"customer": GUEST, "billingAddress": ADDRESS, "items": items, **extra}
        payload = (await api.admin(ORDER_CREATE, {"input": body}))["orderCreate"]
        assert payload["order"] is None
        return [(e["code"], e["field"]) for e in payload["errors"]]

    assert await errors([]) == [("REQUIRED", ["input", "items"])]
    assert await errors([{"quantity": 1}]) == [("INVALID", ["input", "items", "0"])]
    assert await errors([{"productId": scarce, "sku": "X", "quantity": 1}]) == [
        ("INVALID", ["input", "items", "0"])
    ]
    assert await errors([{"productId": scarce}]) == [
        ("REQUIRED", ["input", "items", "0", "quantity"])
    ]
    assert await errors([{"productId": scarce, "quantity": 0}]) == [
        ("INVALID", ["input", "items", "0", "quantity"])
    ]
    assert await errors([{"sku": "C", "name": "", "price": -5, "quantity": 1}]) == [
        ("REQUIRED", ["input", "items", "0", "name"]),
        ("INVALID", ["input", "items", "0", "price"]),
    ]
    assert await errors([{"productId": draft, "quantity": 1}]) == [
        ("PRODUCT_UNAVAILABLE", ["input", "items", "0"])
    ]
    assert await errors([{"productId": "nonsense", "quantity": 1}]) == [
        ("NOT_FOUND", ["input", "items", "0", "productId"])
    ]
    assert await errors(
        [{"productId": scarce, "quantity": 1}, {"productId": scarce, "quantity": 1}]
    ) == [("INSUFFICIENT_STOCK", ["input", "items", "0"])]
    assert await errors([{"productId": draft, "quantity": 1}], customer=None) == [
        ("INVALID", ["input", "customer"]),
        ("PRODUCT_UNAVAILABLE", ["input", "items", "0"]),
    ]
    assert (await api.admin(ORDERS))["orders"]["totalCount"] == 0


# --- orderUpdate -----------------------------------------------------------------------


async def test_update_changes_addresses_and_custom_fields_only_while_open(api: Api) -> None:
    await api.admin(
        'mutation { fieldDefinitionCreate(input: {entity: ORDER, slug: "po", name: "PO", '
        "type: STRING}) { errors { code } } }"
    )
    ebook = await product(api, "EBOOK", requiresShipping=False)
    order = await order_of(api, ebook)
    moved = {**ADDRESS, "city": "Manchester", "postcode": "M1 1AA"}
    updated = (
        await api.admin(
            ORDER_UPDATE,
            {"id": order["id"], "input": {"shippingAddress": moved, "customFields": {"po": "77"}}},
        )
    )["orderUpdate"]
    assert updated["errors"] == []
    changed = updated["order"]
    assert changed["shippingAddress"]["city"] == "Manchester"
    assert changed["billingAddress"] == order["billingAddress"]
    assert changed["customFields"] == {"po": "77"}
    assert changed["totals"] == order["totals"] and changed["items"] == order["items"]
    assert [e["type"] for e in changed["events"]] == ["created", "updated"]
    assert changed["updatedAt"] > order["updatedAt"]

    for bad, field in (
        (
            {"billingAddress": {**ADDRESS, "country": "Narnia"}},
            ["input", "billingAddress", "country"],
        ),
        ({"customFields": {"unknown": 1}}, ["input", "customFields", "unknown"]),
        ({}, ["input"]),
    ):
        refused = (await api.admin(ORDER_UPDATE, {"id": order["id"], "input": bad}))["orderUpdate"]
        assert refused["errors"][0]["field"] == field
    assert (await api.admin(ORDER, {"id": order["id"]}))["order"] == changed

    await api.admin(ORDER_CANCEL, {"id": order["id"]})
    closed = (
        await api.admin(ORDER_UPDATE, {"id": order["id"], "input": {"billingAddress": moved}})
    )["orderUpdate"]
    assert error_codes(closed) == ["INVALID_TRANSITION"]
    unknown = await api.admin(
        ORDER_UPDATE,
        {
            "id": "T3JkZXI6MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA",
            "input": {"billingAddress": moved},
        },
    )
    assert error_codes(unknown["orderUpdate"]) == ["NOT_FOUND"]


# --- cancel and fulfil -----------------------------------------------------------------


async def test_cancel_and_fulfil_follow_the_rules_and_move_stock(api: Api, db: Database) -> None:
    tee = await product(api, "TEE", manageStock=True, stock=10, requiresShipping=False)

    unpaid = await order_of(api, tee, 2)
    assert error_codes((await api.admin(ORDER_FULFILL, {"id": unpaid["id"]}))["orderFulfill"]) == [
        "INVALID_TRANSITION"
    ]
    cancelled = (await api.admin(ORDER_CANCEL, {"id": unpaid["id"]}))["orderCancel"]["order"]
    assert (cancelled["status"], cancelled["payment"]) == ("CANCELLED", "UNPAID")
    assert await stock(api, tee) == (10, 10, 0)  # nothing was allocated, nothing released
    for document in (ORDER_CANCEL, ORDER_FULFILL):
        again = next(iter((await api.admin(document, {"id": unpaid["id"]})).values()))
        assert error_codes(again) == ["INVALID_TRANSITION"]

    paid = await order_of(api, tee, 3)
    await pay(db, paid["id"])
    assert await stock(api, tee) == (10, 7, 3)
    shipped = (await api.admin(ORDER_FULFILL, {"id": paid["id"]}))["orderFulfill"]["order"]
    assert (shipped["status"], shipped["payment"], shipped["shipping"]) == (
        "COMPLETE",
        "PAID",
        "FULFILLED",
    )
    assert [e["type"] for e in shipped["events"]] == ["created", "paid", "fulfilled"]
    assert await stock(api, tee) == (7, 7, 0)
    late = (await api.admin(ORDER_CANCEL, {"id": paid["id"]}))["orderCancel"]
    assert error_codes(late) == ["INVALID_TRANSITION"]

    refunded_later = await order_of(api, tee, 4)
    await pay(db, refunded_later["id"])
    assert await stock(api, tee) == (7, 3, 4)
    cancelled = (await api.admin(ORDER_CANCEL, {"id": refunded_later["id"]}))["orderCancel"]
    assert cancelled["order"]["payment"] == "PAID"  # cancelling never refunds
    assert await stock(api, tee) == (7, 7, 0)

    on_delivery = await order_of(api, tee, 1)
    await pay(db, on_delivery["id"], gateway="manual", authorize=True)
    delivered = (await api.admin(ORDER_FULFILL, {"id": on_delivery["id"]}))["orderFulfill"]
    assert delivered["order"]["shipping"] == "FULFILLED"
    assert delivered["order"]["payment"] == "AUTHORIZED"
    by_card = await order_of(api, tee, 1)
    await pay(db, by_card["id"], gateway="card", authorize=True)
    refused = (await api.admin(ORDER_FULFILL, {"id": by_card["id"]}))["orderFulfill"]
    assert error_codes(refused) == ["INVALID_TRANSITION"]
    assert await stock(api, tee) == (6, 5, 1)


async def test_racing_transitions_on_one_order_have_one_winner(api: Api, db: Database) -> None:
    tee = await product(api, "TEE", manageStock=True, stock=20, requiresShipping=False)
    orders = [await order_of(api, tee, 2) for _ in range(4)]
    for order in orders:
        await pay(db, order["id"])
    results = await asyncio.gather(
        *(
            api.admin(document, {"id": order["id"]})
            for order in orders
            for document in (ORDER_CANCEL, ORDER_FULFILL)
        )
    )
    fulfilled = 0
    for cancel, fulfil in zip(results[::2], results[1::2], strict=True):
        outcomes = sorted([error_codes(cancel["orderCancel"]), error_codes(fulfil["orderFulfill"])])
        assert outcomes == [[], ["INVALID_TRANSITION"]]
        fulfilled += not fulfil["orderFulfill"]["errors"]
    assert await stock(api, tee) == (20 - 2 * fulfilled, 20 - 2 * fulfilled, 0)

    target = await order_of(api, tee, 1)
    many = await asyncio.gather(*(api.admin(ORDER_CANCEL, {"id": target["id"]}) for _ in range(6)))
    assert sorted(len(r["orderCancel"]["errors"]) for r in many) == [0, 1, 1, 1, 1, 1]
    events = (await api.admin(ORDER, {"id": target["id"]}))["order"]["events"]
    assert [e["type"] for e in events] == ["created", "cancelled"]
    async with db.reader() as session:
        totals = (await session.execute(select(Product.stock_total, Product.stock_allocated))).one()
    assert totals == (20 - 2 * fulfilled, 0)
