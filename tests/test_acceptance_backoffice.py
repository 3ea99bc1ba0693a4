"""Acceptance: back-office flows across areas, through the public API only (API.md).

Catalogue CRUD with a category tree, variations and children sold through a cart; order
listings with filters; admin orders without a cart; refunds (partial, full, never beyond what
was captured); cancellation releasing stock; voided authorizations; stock transactions.
"""

from typing import Any

from tests.acceptance_helpers import (
    ERRORS,
    ORDER_CANCEL,
    ORDER_FULFILL,
    TRANSACTION_CANCEL,
    TRANSACTION_REFUND,
    Shop,
    codes,
)
from tests.conftest import Api

VARIATION_CREATE = f"""mutation($productId: ID!, $name: String!) {{
  productVariationCreate(productId: $productId, input: {{name: $name}}) {{
    variation {{ id name }} {ERRORS} }} }}"""
OPTION_CREATE = f"""mutation($variationId: ID!, $input: VariationOptionInput!) {{
  variationOptionCreate(variationId: $variationId, input: $input) {{
    variationOption {{ id name priceChange skuSuffix slugSuffix }} {ERRORS} }} }}"""
CHILDREN_BUILD = f"""mutation($productId: ID!) {{ productChildrenBuild(productId: $productId) {{
  product {{ id children {{ id sku slug name status price {{ withoutTax {{ amount }} }}
                           parent {{ id }} }} }} {ERRORS} }} }}"""
CATEGORY_TREE = """{ categories { slug position children { slug position parent { slug }
                     children { slug } } } }"""
REORDER = f"""mutation($input: [CategoryMoveInput!]!) {{
  categoriesReorder(input: $input) {{ categories {{ slug }} {ERRORS} }} }}"""
PRODUCT_UPDATE = f"""mutation($id: ID!, $input: ProductInput!) {{
  productUpdate(id: $id, input: $input) {{
    product {{ id sku name price {{ withoutTax {{ amount }} }} salePrice {{ withoutTax {{ amount }} }}
              brand {{ slug }} categories {{ slug }} collections {{ slug }} }} {ERRORS} }} }}"""
PRODUCT_DELETE = f"mutation($id: ID!) {{ productDelete(id: $id) {{ product {{ sku }} {ERRORS} }} }}"
ORDERS = """
query($first: Int, $after: String, $filter: OrderFilter, $sortBy: OrderSort) {
  orders(first: $first, after: $after, filter: $filter, sortBy: $sortBy) {
    totalCount edges { cursor node { number customer { email } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
STOCK_CREATE = f"""mutation($productId: ID!, $input: StockTransactionInput!) {{
  stockTransactionCreate(productId: $productId, input: $input) {{
    stock {{ total available allocated }} transaction {{ id action quantity orderId createdAt }}
    {ERRORS} }} }}"""


async def _option(api: Api, variation_id: str, name: str, **fields: Any) -> None:
    variables = {"variationId": variation_id, "input": {"name": name, **fields}}
    created = (await api.admin(OPTION_CREATE, variables))["variationOptionCreate"]
    assert created["errors"] == [], created["errors"]


async def _variation(api: Api, product_id: str, name: str, options: list[str]) -> str:
    created = (await api.admin(VARIATION_CREATE, {"productId": product_id, "name": name}))[
        "productVariationCreate"
    ]
    assert created["errors"] == [], created["errors"]
    variation_id = str(created["variation"]["id"])
    for option in options:
        await _option(api, variation_id, option)
    return variation_id


async def test_catalogue_tree_crud(api: Api) -> None:
    shop = Shop(api)
    clothing = await shop.create("categoryCreate", "CategoryInput", {"name": "Clothing"})
    tops = await shop.create(
        "categoryCreate", "CategoryInput", {"name": "Tops", "parentId": clothing}
    )
    await shop.create("categoryCreate", "CategoryInput", {"name": "Bottoms", "parentId": clothing})
    hats = await shop.create(
        "categoryCreate", "CategoryInput", {"name": "Hats", "parentId": clothing, "position": 0}
    )
    tree = (await api.storefront(CATEGORY_TREE))["categories"]
    assert [(c["slug"], c["position"]) for c in tree] == [("clothing", 0)]
    assert [(c["slug"], c["position"]) for c in tree[0]["children"]] == [
        ("hats", 0),
        ("tops", 1),
        ("bottoms", 2),
    ]
    by_parent = await api.storefront(
        "query($p: ID) { categories(parentId: $p) { slug } }", {"p": clothing}
    )
    assert [c["slug"] for c in by_parent["categories"]] == ["hats", "tops", "bottoms"]

    moved = (
        await api.admin(
            REORDER,
            {
                "input": [
                    {"id": hats, "parentId": None, "position": 0},
                    {"id": tops, "position": 1},
                ]
            },
        )
    )["categoriesReorder"]
    assert moved["errors"] == []
    tree = (await api.storefront(CATEGORY_TREE))["categories"]
    assert [c["slug"] for c in tree] == ["hats", "clothing"]
    assert [c["slug"] for c in tree[1]["children"]] == ["bottoms", "tops"]

    cycle = await api.admin(REORDER, {"input": [{"id": clothing, "parentId": tops}]})
    assert [e["code"] for e in cycle["categoriesReorder"]["errors"]] == ["INVALID"]
    assert (await api.storefront(CATEGORY_TREE))["categories"] == tree  # nothing changed

    by_slug = (
        '{ category(slug: "tops") { id name parent { slug } products(first: 5) { totalCount } } }'
    )
    assert (await api.storefront(by_slug))["category"]["parent"] == {"slug": "clothing"}
    in_use = (
        await api.admin(
            f"mutation($id: ID!) {{ categoryDelete(id: $id) {{ category {{ id }} {ERRORS} }} }}",
            {"id": clothing},
        )
    )["categoryDelete"]
    assert [e["code"] for e in in_use["errors"]] == ["IN_USE"]


async def test_products_with_variations_and_children_are_sold_one_child_at_a_time(
    api: Api,
) -> None:
    shop = Shop(api)
    brand = await shop.create("brandCreate", "BrandInput", {"name": "Nimbus"})
    sale = await shop.create("collectionCreate", "CollectionInput", {"name": "Sale"})
    tops = await shop.create("categoryCreate", "CategoryInput", {"name": "Tops"})
    hoodie = await shop.product(
        "HOOD",
        4000,
        name="Hoodie",
        slug="hoodie",
        brandId=brand,
        collectionIds=[sale],
        categoryIds=[tops],
    )
    await _variation(api, hoodie, "Size", ["S", "M"])
    colour = await _variation(api, hoodie, "Colour", ["Grey"])
    await _option(api, colour, "Red", priceChange=500, skuSuffix="-RD", slugSuffix="-rd")

    built = (await api.admin(CHILDREN_BUILD, {"productId": hoodie}))["productChildrenBuild"]
    assert built["errors"] == []
    children = {c["sku"]: c for c in built["product"]["children"]}
    assert sorted(children) == ["HOOD-M-GREY", "HOOD-M-RD", "HOOD-S-GREY", "HOOD-S-RD"]
    red_s = children["HOOD-S-RD"]
    assert (red_s["name"], red_s["slug"]) == ("Hoodie (S, Red)", "hoodie-s-rd")
    assert red_s["price"]["withoutTax"]["amount"] == 4500
    assert red_s["parent"] == {"id": hoodie}
    again = (await api.admin(CHILDREN_BUILD, {"productId": hoodie}))["productChildrenBuild"]
    assert len(again["product"]["children"]) == 4  # rebuilding never duplicates

    # a child is a product in its own right: its own stock, bought through a cart
    added = await shop.add("hoodie-cart", red_s["id"], 1)
    assert added["errors"] == [] and added["cart"]["items"][0]["sku"] == "HOOD-S-RD"
    parent = await shop.add("hoodie-cart", hoodie, 1)
    assert [e["code"] for e in parent["errors"]] == ["PRODUCT_UNAVAILABLE"]

    updated = (
        await api.admin(
            PRODUCT_UPDATE,
            {
                "id": hoodie,
                "input": {
                    "name": "Hoodie 2",
                    "salePrice": 3000,
                    "brandId": None,
                    "collectionIds": [],
                },
            },
        )
    )["productUpdate"]
    assert updated["errors"] == []
    product = updated["product"]
    assert (product["name"], product["brand"], product["collections"]) == ("Hoodie 2", None, [])
    assert product["salePrice"]["withoutTax"]["amount"] == 3000
    assert product["categories"] == [{"slug": "tops"}]  # omitted fields stay

    duplicate = await api.admin(PRODUCT_UPDATE, {"id": hoodie, "input": {"sku": "HOOD-S-RD"}})
    assert codes(duplicate["productUpdate"]) == {("DUPLICATE", ("input", "sku"))}

    deleted = (await api.admin(PRODUCT_DELETE, {"id": hoodie}))["productDelete"]
    assert deleted["errors"] == []
    gone = await api.admin("{ products(first: 10) { totalCount } }")
    assert gone["products"]["totalCount"] == 0  # its children went with it
    missing = (await api.admin(PRODUCT_DELETE, {"id": hoodie}))["productDelete"]
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]


async def test_orders_listing_with_filters_and_pages(api: Api) -> None:
    shop = Shop(api)
    pen = await shop.product("PEN", 250, requiresShipping=False)
    ink = await shop.product("INK", 900, name="Blue ink", requiresShipping=False)
    first = await shop.order("c1", [(pen, 1)], customer={"email": "Ann@Example.com", "name": "Ann"})
    second = await shop.order(
        "c2", [(ink, 2)], customer={"email": "ben@example.com", "name": "Ben"}
    )
    await shop.order("c3", [(pen, 3)], customer={"email": "cy@example.com", "name": "Cy"})
    assert (await shop.pay(second["id"]))["errors"] == []
    cancelled = (await api.admin(ORDER_CANCEL, {"id": first["id"]}))["orderCancel"]
    assert cancelled["order"]["status"] == "CANCELLED"

    async def numbers(**variables: Any) -> list[int]:
        page = (await api.admin(ORDERS, {"first": 10, **variables}))["orders"]
        assert page["totalCount"] == len(page["edges"])
        return [e["node"]["number"] for e in page["edges"]]

    assert await numbers() == [1003, 1002, 1001]  # newest first
    assert await numbers(sortBy={"field": "NUMBER", "direction": "ASC"}) == [1001, 1002, 1003]
    assert await numbers(filter={"payment": "PAID"}) == [1002]
    assert await numbers(filter={"status": "CANCELLED"}) == [1001]
    assert await numbers(filter={"status": "COMPLETE", "shipping": "UNFULFILLED"}) == [1002]
    assert await numbers(filter={"status": "INCOMPLETE"}) == [1003]
    assert await numbers(filter={"customerEmail": "ANN@example.com"}) == [1001]
    assert await numbers(filter={"search": "blue INK"}) == [1002]
    assert await numbers(filter={"search": "#1003"}) == [1003]
    created = second["createdAt"]
    assert await numbers(filter={"createdAfter": created}) == [1003, 1002]
    assert await numbers(filter={"createdBefore": created}) == [1001]
    assert await numbers(sortBy={"field": "TOTAL", "direction": "DESC"}) == [1002, 1003, 1001]

    page = (await api.admin(ORDERS, {"first": 2}))["orders"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await api.admin(ORDERS, {"first": 2, "after": page["pageInfo"]["endCursor"]})
    assert [e["node"]["number"] for e in rest["orders"]["edges"]] == [1001]
    misspelt = await api.gql(ORDERS, {"filter": {"payment": "PAYED"}})
    assert misspelt.get("data") is None and "PAYED" in misspelt["errors"][0]["message"]


async def test_admin_creates_an_order_without_a_cart(api: Api) -> None:
    shop = Shop(api)
    vat = await shop.tax_band("VAT", "10")
    lamp = await shop.stocked("LAMP", 3000, 2, weight=500)
    post = await shop.shipping_method("post", 400)
    create = f"""mutation($input: OrderCreateInput!) {{
      orderCreate(input: $input) {{ order {{ number items {{ sku quantity
        linePrice {{ withTax {{ amount }} }} }} totals {{ total {{ amount }} }}
        customer {{ email }} }} {ERRORS} }} }}"""
    base = {
        "customer": {"email": "phone@example.com", "name": "Phone Order"},
        "billingAddress": {
            "firstName": "A",
            "lastName": "B",
            "line1": "1 Road",
            "city": "C",
            "postcode": "D1",
            "country": "GB",
        },
        "shippingMethodId": post,
    }
    items = [
        {"productId": lamp, "quantity": 2},
        {"sku": "GIFT-WRAP", "name": "Gift wrap", "price": 300, "quantity": 1, "taxBandId": vat},
    ]
    made = (await api.admin(create, {"input": {**base, "items": items}}))["orderCreate"]
    assert made["errors"] == []
    order = made["order"]
    assert [(i["sku"], i["quantity"]) for i in order["items"]] == [("LAMP", 2), ("GIFT-WRAP", 1)]
    assert order["items"][1]["linePrice"]["withTax"]["amount"] == 330
    assert order["totals"]["total"]["amount"] == 6000 + 330 + 400

    too_many = [{"productId": lamp, "quantity": 3}]
    refused = (await api.admin(create, {"input": {**base, "items": too_many}}))["orderCreate"]
    assert [e["code"] for e in refused["errors"]] == ["INSUFFICIENT_STOCK"]
    forbidden = await api.gql(create, {"input": {**base, "items": items}}, as_="storefront")
    assert forbidden["data"] == {"orderCreate": None}
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = await api.admin("{ orders(first: 5) { totalCount } }")
    assert listed["orders"]["totalCount"] == 1


async def test_refunds_partial_and_full_never_beyond_what_was_captured(api: Api) -> None:
    shop = Shop(api)
    vase = await shop.stocked("VASE", 2500, 5, requiresShipping=False)
    order = await shop.order("vase-cart", [(vase, 2)])
    oid = order["id"]
    purchase = (await shop.pay(oid))["transaction"]
    refund = {"orderId": oid, "transactionId": purchase["id"]}

    storefront = await api.gql(TRANSACTION_REFUND, {**refund, "amount": 100}, as_="storefront")
    assert storefront["data"] == {"transactionRefund": None}
    for amount, expected in [(0, "INVALID"), (-5, "INVALID"), (5001, "INVALID_TRANSITION")]:
        refused = await api.admin(TRANSACTION_REFUND, {**refund, "amount": amount})
        payload = refused["transactionRefund"]
        assert [e["code"] for e in payload["errors"]] == [expected], amount
    assert (await shop.admin_order(oid))["payment"] == "PAID"  # nothing changed

    part = (await api.admin(TRANSACTION_REFUND, {**refund, "amount": 1500}))["transactionRefund"]
    assert part["errors"] == []
    assert (part["transaction"]["method"], part["transaction"]["amount"]["amount"]) == (
        "REFUND",
        1500,
    )
    assert part["order"]["payment"] == "PARTIALLY_REFUNDED"
    beyond = await api.admin(TRANSACTION_REFUND, {**refund, "amount": 3501})
    assert codes(beyond["transactionRefund"]) == {("INVALID_TRANSITION", ("amount",))}

    rest = (await api.admin(TRANSACTION_REFUND, refund))["transactionRefund"]
    assert rest["errors"] == [] and rest["transaction"]["amount"]["amount"] == 3500
    assert (rest["order"]["status"], rest["order"]["payment"]) == ("COMPLETE", "REFUNDED")
    more = (await api.admin(TRANSACTION_REFUND, {**refund, "amount": 1}))["transactionRefund"]
    assert [e["code"] for e in more["errors"]] == ["INVALID_TRANSITION"]

    stored = await shop.admin_order(oid)
    assert [(t["method"], t["amount"]["amount"]) for t in stored["transactions"]] == [
        ("PURCHASE", 5000),
        ("REFUND", 1500),
        ("REFUND", 3500),
    ]
    assert [e["type"] for e in stored["events"]] == [
        "created",
        "paid",
        "partially_refunded",
        "refunded",
    ]
    # refunds never restock: the goods are still allocated to the order
    assert await shop.stock(vase) == {"total": 5, "available": 3, "allocated": 2}


async def test_cancellation_releases_stock_and_never_refunds(api: Api) -> None:
    shop = Shop(api)
    drum = await shop.stocked("DRUM", 10000, 4, requiresShipping=False)
    paid = await shop.order("paid-cart", [(drum, 1)])
    held = await shop.order("held-cart", [(drum, 2)])
    shipped = await shop.order("shipped-cart", [(drum, 1)])
    purchase = (await shop.pay(paid["id"]))["transaction"]
    authorization = (await shop.pay(held["id"], method="AUTHORIZE"))["transaction"]
    await shop.pay(shipped["id"])
    assert await shop.stock(drum) == {"total": 4, "available": 0, "allocated": 4}
    assert (await api.admin(ORDER_FULFILL, {"id": shipped["id"]}))["orderFulfill"]["errors"] == []
    assert await shop.stock(drum) == {"total": 3, "available": 0, "allocated": 3}

    cancelled = (await api.admin(ORDER_CANCEL, {"id": paid["id"]}))["orderCancel"]
    assert cancelled["errors"] == []
    assert (cancelled["order"]["status"], cancelled["order"]["payment"]) == ("CANCELLED", "PAID")
    assert await shop.stock(drum) == {"total": 3, "available": 1, "allocated": 2}
    for mutation in (ORDER_CANCEL, ORDER_FULFILL):
        payload = next(iter((await api.admin(mutation, {"id": paid["id"]})).values()))
        assert [e["code"] for e in payload["errors"]] == ["INVALID_TRANSITION"]
    repay = await shop.pay(paid["id"])
    assert [e["code"] for e in repay["errors"]] == ["INVALID_TRANSITION"]
    refund = {"orderId": paid["id"], "transactionId": purchase["id"]}
    refunded = (await api.admin(TRANSACTION_REFUND, refund))["transactionRefund"]
    assert refunded["errors"] == [] and refunded["order"]["payment"] == "REFUNDED"

    not_shipped_twice = (await api.admin(ORDER_CANCEL, {"id": shipped["id"]}))["orderCancel"]
    assert [e["code"] for e in not_shipped_twice["errors"]] == ["INVALID_TRANSITION"]

    void = {"orderId": held["id"], "transactionId": authorization["id"]}
    voided = (await api.admin(TRANSACTION_CANCEL, void))["transactionCancel"]
    assert voided["errors"] == [] and voided["transaction"]["method"] == "CANCEL"
    assert (voided["order"]["status"], voided["order"]["payment"]) == ("INCOMPLETE", "UNPAID")
    assert await shop.stock(drum) == {"total": 3, "available": 3, "allocated": 0}
    assert (await shop.pay(held["id"]))["order"]["payment"] == "PAID"  # payable again
    assert await shop.stock(drum) == {"total": 3, "available": 1, "allocated": 2}
    assert [a for a, _, _ in await shop.ledger(drum)] == [
        "INCREMENT",
        "ALLOCATE",
        "ALLOCATE",
        "ALLOCATE",
        "DECREMENT",
        "DEALLOCATE",
        "DEALLOCATE",
        "ALLOCATE",
    ]


async def test_stock_transactions_by_hand(api: Api) -> None:
    shop = Shop(api)
    box = await shop.product("BOX", 100, manageStock=True)

    async def change(action: str, quantity: int) -> Any:
        variables = {"productId": box, "input": {"action": action, "quantity": quantity}}
        return (await api.admin(STOCK_CREATE, variables))["stockTransactionCreate"]

    made = await change("INCREMENT", 10)
    assert made["errors"] == [] and made["stock"] == {"total": 10, "available": 10, "allocated": 0}
    assert (made["transaction"]["action"], made["transaction"]["quantity"]) == ("INCREMENT", 10)
    assert made["transaction"]["orderId"] is None
    assert (await change("ALLOCATE", 4))["stock"] == {"total": 10, "available": 6, "allocated": 4}
    for action, quantity in [("DECREMENT", 7), ("ALLOCATE", 7), ("DEALLOCATE", 5)]:
        refused = await change(action, quantity)
        assert codes(refused) == {("INSUFFICIENT_STOCK", ("input", "quantity"))}, action
        assert refused["stock"] is None and refused["transaction"] is None
    for quantity in (0, -3):
        assert codes(await change("INCREMENT", quantity)) == {("INVALID", ("input", "quantity"))}
    assert (await change("DEALLOCATE", 4))["stock"]["allocated"] == 0
    assert (await change("DECREMENT", 10))["stock"] == {"total": 0, "available": 0, "allocated": 0}
    status = await api.storefront('{ product(sku: "BOX") { stockStatus } }')
    assert status["product"]["stockStatus"] == "OUT_OF_STOCK"
    assert await shop.ledger(box) == [
        ("INCREMENT", 10, False),
        ("ALLOCATE", 4, False),
        ("DEALLOCATE", 4, False),
        ("DECREMENT", 10, False),
    ]
    unknown = await api.gql(
        STOCK_CREATE, {"productId": "nope", "input": {"action": "INCREMENT", "quantity": 1}}
    )
    assert [e["code"] for e in unknown["data"]["stockTransactionCreate"]["errors"]] == ["NOT_FOUND"]
    misspelt = await api.gql(
        STOCK_CREATE, {"productId": box, "input": {"action": "ADD", "quantity": 1}}
    )
    assert misspelt.get("data") is None and "ADD" in misspelt["errors"][0]["message"]


async def test_each_mutation_of_a_document_sees_the_ones_before_it(api: Api) -> None:
    """Mutations of one document run in turn; each payload shows the order as it is after
    that mutation, never what an earlier one of the same request had loaded."""
    shop = Shop(api)
    stool = await shop.stocked("STOOL", 1500, 2, requiresShipping=False)
    order = await shop.order("one-go", [(stool, 1)])
    fields = "payment shipping events { type } items { product { stock { allocated total } } }"
    document = f"""mutation($id: ID!, $pay: OrderPayInput!) {{
      pay: orderPay(orderId: $id, input: $pay) {{ order {{ {fields} }} {ERRORS} }}
      ship: orderFulfill(id: $id) {{ order {{ {fields} }} {ERRORS} }}
    }}"""
    pay = {"gateway": "manual", "method": "AUTHORIZE"}
    both = await api.admin(document, {"id": order["id"], "pay": pay})
    paid, shipped = both["pay"]["order"], both["ship"]["order"]
    assert [e["type"] for e in paid["events"]] == ["created", "authorized"]
    assert paid["items"][0]["product"]["stock"] == {"allocated": 1, "total": 2}
    assert shipped["shipping"] == "FULFILLED"
    assert [e["type"] for e in shipped["events"]] == ["created", "authorized", "fulfilled"]
    assert shipped["items"][0]["product"]["stock"] == {"allocated": 0, "total": 1}
