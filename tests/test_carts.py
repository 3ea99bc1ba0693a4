"""Carts (API.md section 6): made on first use, merged lines, live prices in any currency,
stock and LIVE checks, custom items for admins only, expiry and the sweep, concurrency."""

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from domain.carts import expired_cart_sweeper, sweep_expired_carts
from models.base import utcnow
from models.carts import Cart, CartItem
from models.engine import Database, StatementCounter
from models.settings import Settings
from tests.cart_helpers import (
    CART,
    CART_CUSTOM_ITEM_ADD,
    CART_DELETE,
    CART_ITEM_ADD,
    CART_ITEM_REMOVE,
    CART_ITEM_UPDATE,
    add,
    product,
    shipping_method,
    tax_band,
)
from tests.conftest import Api


def amounts(price: dict[str, Any]) -> tuple[int, int, int]:
    """(without tax, tax, with tax) of a DisplayPrice."""
    return price["withoutTax"]["amount"], price["tax"]["amount"], price["withTax"]["amount"]


async def read(api: Api, reference: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("as_", "storefront")
    return dict((await api.data(CART, {"reference": reference}, **kw))["cart"])


async def test_unknown_reference_reads_as_an_empty_cart(api: Api) -> None:
    cart = await read(api, "never-used_1")
    assert cart["reference"] == "never-used_1"
    assert cart["items"] == [] and cart["itemCount"] == 0
    assert amounts(cart["subtotal"]) == (0, 0, 0)
    assert cart["createdAt"] is None and cart["expiresAt"] is None
    assert cart["requiresShipping"] is False and cart["currency"] == "USD"


async def test_add_merges_a_product_already_in_the_cart_and_prices_live(api: Api) -> None:
    band = await tax_band(api, "20")
    tee = await product(api, "TEE", price=1999, taxBandId=band, weight=150)
    mug = await product(api, "MUG", price=500, requiresShipping=False)
    first = await add(api, "cart-1", tee, 2)
    assert first["errors"] == []
    created = first["cart"]["createdAt"]
    await add(api, "cart-1", mug, 1)
    cart = (await add(api, "cart-1", tee, 3))["cart"]
    assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [("TEE", 5), ("MUG", 1)]
    tee_line = cart["items"][0]
    assert tee_line["product"]["id"] == tee
    assert amounts(tee_line["unitPrice"]) == (1999, 400, 2399)
    assert amounts(tee_line["linePrice"]) == (9995, 1999, 11994)  # 1999.0 tax: half-up per line
    assert amounts(cart["subtotal"]) == (10495, 1999, 12494)
    assert cart["itemCount"] == 6 and cart["weight"] == 750 and cart["requiresShipping"]
    assert cart["createdAt"] == created and cart["updatedAt"] >= created

    await api.admin(
        "mutation($id: ID!) { productUpdate(id: $id, input: {salePrice: 1500}) { errors { code } } }",
        {"id": tee},
    )
    repriced = await read(api, "cart-1")
    assert amounts(repriced["items"][0]["unitPrice"]) == (1500, 300, 1800)


async def test_prices_show_in_the_requested_currency(api: Api) -> None:
    await api.admin(
        'mutation { currencyCreate(input: {code: "EUR", name: "Euro", exchangeRate: "0.9", '
        'format: "€{price}"}) { errors { code } } }'
    )
    band = await tax_band(api, "20")
    item = await product(api, "ODD", price=333, taxBandId=band)
    await add(api, "eur", item, 3)
    cart = await read(api, "eur", headers={"X-Currency": "EUR"})
    assert cart["currency"] == "EUR"
    line = cart["items"][0]
    assert amounts(line["unitPrice"]) == (300, 60, 360)  # 299.7 -> 300, tax 60
    assert amounts(line["linePrice"]) == (899, 180, 1079)  # the line converted once: 899.1
    assert amounts(cart["subtotal"]) == (899, 180, 1079)

    # Rates are exact decimals: 17.5% of 1999 is 349.825, half-up 350 (a float risks 349).
    vat = await tax_band(api, "17.5")
    item = await product(api, "VAT", price=1999, taxBandId=vat)
    assert amounts((await add(api, "vat", item, 1))["cart"]["subtotal"]) == (1999, 350, 2349)


async def test_update_remove_and_delete(api: Api) -> None:
    tee = await product(api, "TEE")
    mug = await product(api, "MUG")
    await add(api, "c", tee, 2)
    cart = (await add(api, "c", mug, 1))["cart"]
    tee_item, mug_item = (i["id"] for i in cart["items"])

    changed = await api.storefront(
        CART_ITEM_UPDATE, {"reference": "c", "itemId": tee_item, "quantity": 7}
    )
    assert [i["quantity"] for i in changed["cartItemUpdate"]["cart"]["items"]] == [7, 1]
    zero = await api.storefront(
        CART_ITEM_UPDATE, {"reference": "c", "itemId": tee_item, "quantity": 0}
    )
    assert [i["sku"] for i in zero["cartItemUpdate"]["cart"]["items"]] == ["MUG"]

    gone = await api.storefront(CART_ITEM_REMOVE, {"reference": "c", "itemId": mug_item})
    assert gone["cartItemRemove"]["cart"]["items"] == []
    again = await api.storefront(CART_ITEM_REMOVE, {"reference": "c", "itemId": mug_item})
    assert again["cartItemRemove"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["itemId"], "message": "no item with that id in this cart"}
    ]

    yours = (await add(api, "yours", tee, 1))["cart"]["items"][0]["id"]
    for document, variables in (
        (CART_ITEM_UPDATE, {"reference": "c", "itemId": yours, "quantity": 3}),
        (CART_ITEM_REMOVE, {"reference": "c", "itemId": yours}),
    ):
        payload = next(iter((await api.storefront(document, variables)).values()))
        assert payload["errors"][0]["code"] == "NOT_FOUND"  # another cart's item
    assert (await read(api, "yours"))["items"][0]["quantity"] == 1

    await add(api, "c", tee, 1)
    deleted = await api.storefront(CART_DELETE, {"reference": "c"})
    assert deleted["cartDelete"]["errors"] == []
    assert deleted["cartDelete"]["cart"]["items"] == []
    assert (await read(api, "c"))["createdAt"] is None


async def test_bad_input_is_a_user_error_and_changes_nothing(api: Api, db: Database) -> None:
    tee = await product(api, "TEE")
    cases = [
        ("bad reference!", tee, 1, "INVALID", ["reference"]),
        ("x" * 65, tee, 1, "INVALID", ["reference"]),
        ("ok", tee, 0, "INVALID", ["quantity"]),
        ("ok", tee, -2, "INVALID", ["quantity"]),
        ("ok", tee, 100_001, "INVALID", ["quantity"]),
        ("ok", "not-an-id", 1, "NOT_FOUND", ["productId"]),
    ]
    for reference, product_id, quantity, code, field in cases:
        result = await add(api, reference, product_id, quantity)
        assert result["cart"] is None
        assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)], reference
    query = await api.gql(CART, {"reference": "no spaces"}, as_="storefront")
    assert query["errors"][0]["extensions"]["code"] == "INVALID"
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Cart)) == 0

    item = (await add(api, "ok", tee, 1))["cart"]["items"][0]["id"]
    negative = await api.storefront(
        CART_ITEM_UPDATE, {"reference": "ok", "itemId": item, "quantity": -1}
    )
    assert negative["cartItemUpdate"]["errors"][0]["field"] == ["quantity"]
    assert (await read(api, "ok"))["items"][0]["quantity"] == 1


async def test_only_live_products_can_be_added(api: Api) -> None:
    draft = await product(api, "DRAFT", status="DRAFT")
    doomed = await product(api, "DOOMED")
    await api.admin(
        "mutation($id: ID!) { productDelete(id: $id) { errors { code } } }", {"id": doomed}
    )
    parent = await product(api, "SHIRT")
    variation = await api.admin(
        'mutation($id: ID!) { productVariationCreate(productId: $id, input: {name: "Size"}) '
        "{ variation { id } errors { code } } }",
        {"id": parent},
    )
    variation_id = variation["productVariationCreate"]["variation"]["id"]
    await api.admin(
        'mutation($id: ID!) { variationOptionCreate(variationId: $id, input: {name: "S", '
        'skuSuffix: "-S", slugSuffix: "-s"}) { errors { code } } }',
        {"id": variation_id},
    )
    built = await api.admin(
        "mutation($id: ID!) { productChildrenBuild(productId: $id) "
        "{ product { children { id status } } errors { code } } }",
        {"id": parent},
    )
    child = built["productChildrenBuild"]["product"]["children"][0]
    for product_id in (draft, doomed, parent):
        for role in ("storefront", "admin"):
            result = await add(api, "live-only", product_id, 1, as_=role)
            assert [(e["code"], e["field"]) for e in result["errors"]] == [
                ("PRODUCT_UNAVAILABLE", ["productId"])
            ]
    assert child["status"] == "LIVE"  # children are sold, their parent is not
    assert (await add(api, "live-only", child["id"], 1))["errors"] == []


async def test_managed_stock_must_cover_the_cart_quantity(api: Api) -> None:
    scarce = await product(api, "SCARCE", manageStock=True, stock=3)
    plenty = await product(api, "PLENTY", manageStock=False)
    assert (await add(api, "s", scarce, 2))["errors"] == []
    raised = await add(api, "s", scarce, 2)
    assert [(e["code"], e["field"]) for e in raised["errors"]] == [
        ("INSUFFICIENT_STOCK", ["quantity"])
    ]
    item = (await read(api, "s"))["items"][0]
    assert item["quantity"] == 2
    too_many = await api.storefront(
        CART_ITEM_UPDATE, {"reference": "s", "itemId": item["id"], "quantity": 4}
    )
    assert too_many["cartItemUpdate"]["errors"][0]["code"] == "INSUFFICIENT_STOCK"
    exact = await api.storefront(
        CART_ITEM_UPDATE, {"reference": "s", "itemId": item["id"], "quantity": 3}
    )
    assert exact["cartItemUpdate"]["errors"] == []
    assert (await add(api, "s", plenty, 50_000))["errors"] == []
    # Carts hold nothing: another cart may hold the same units.
    assert (await add(api, "other", scarce, 3))["errors"] == []


async def test_custom_items_are_for_admins_only(api: Api, db: Database) -> None:
    band = await tax_band(api, "10")
    item = {"sku": "GIFT-WRAP", "name": "Gift wrap", "price": 250, "quantity": 2, "taxBandId": band}
    refused = await api.gql(
        CART_CUSTOM_ITEM_ADD, {"reference": "gift", "input": item}, as_="storefront"
    )
    assert refused["data"] == {"cartCustomItemAdd": None}
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Cart)) == 0

    added = (await api.admin(CART_CUSTOM_ITEM_ADD, {"reference": "gift", "input": item}))[
        "cartCustomItemAdd"
    ]
    assert added["errors"] == []
    line = added["cart"]["items"][0]
    assert (line["sku"], line["name"], line["quantity"], line["product"]) == (
        "GIFT-WRAP",
        "Gift wrap",
        2,
        None,
    )
    assert amounts(line["linePrice"]) == (500, 50, 550)
    assert added["cart"]["requiresShipping"] is False and added["cart"]["weight"] == 0

    bad = {"sku": " ", "name": "", "price": -1, "quantity": 0, "taxBandId": "nope"}
    errors = (await api.admin(CART_CUSTOM_ITEM_ADD, {"reference": "gift", "input": bad}))[
        "cartCustomItemAdd"
    ]["errors"]
    assert errors[0]["code"] == "NOT_FOUND" and errors[0]["field"] == ["input", "taxBandId"]
    bad["taxBandId"] = None
    errors = (await api.admin(CART_CUSTOM_ITEM_ADD, {"reference": "gift", "input": bad}))[
        "cartCustomItemAdd"
    ]["errors"]
    assert {(e["code"], e["field"][-1]) for e in errors} == {
        ("REQUIRED", "sku"),
        ("REQUIRED", "name"),
        ("INVALID", "price"),
        ("INVALID", "quantity"),
    }
    in_use = await api.admin(
        "mutation($id: ID!) { taxBandDelete(id: $id) { errors { code } } }", {"id": band}
    )
    assert in_use["taxBandDelete"]["errors"] == [{"code": "IN_USE"}]
    # A storefront may change the quantity of a custom line, never its price.
    changed = await api.storefront(
        CART_ITEM_UPDATE, {"reference": "gift", "itemId": line["id"], "quantity": 1}
    )
    assert amounts(changed["cartItemUpdate"]["cart"]["items"][0]["linePrice"]) == (250, 25, 275)


async def test_shipping_methods_are_the_eligible_ones(api: Api) -> None:
    light = await shipping_method(api, "light", 300, maxWeight=1000)
    big_spender = await shipping_method(api, "free-over-50", 0, minSubtotal=5000)
    await shipping_method(api, "off", 100, enabled=False)
    tee = await product(api, "TEE", price=2000, weight=400)
    cart = (await add(api, "ship", tee, 2))["cart"]
    assert [m["id"] for m in cart["shippingMethods"]] == [light]
    cart = (await add(api, "ship", tee, 1))["cart"]  # 1200 g, 6000 subtotal
    assert [m["id"] for m in cart["shippingMethods"]] == [big_spender]


async def test_concurrent_first_adds_of_one_reference_share_one_cart(api: Api) -> None:
    tee = await product(api, "TEE")
    mug = await product(api, "MUG")
    results = await asyncio.gather(*(add(api, "race", tee if i % 2 else mug, 1) for i in range(12)))
    assert all(r["errors"] == [] for r in results)
    cart = await read(api, "race")
    assert sorted((i["sku"], i["quantity"]) for i in cart["items"]) == [("MUG", 6), ("TEE", 6)]


async def test_expired_carts_are_invisible_replaced_and_swept(api: Api, db: Database) -> None:
    tee = await product(api, "TEE")
    mug = await product(api, "MUG")
    await add(api, "old", tee, 2)
    await add(api, "older", tee, 1)
    fresh = (await add(api, "fresh", tee, 1))["cart"]
    expires = fresh["expiresAt"]
    assert expires[:10] == (utcnow() + timedelta(days=7)).date().isoformat()
    async with db.transaction() as session:
        await session.execute(
            update(Cart)
            .where(Cart.reference.in_(["old", "older"]))
            .values(updated_at=utcnow() - timedelta(days=7, minutes=1))
        )
    assert (await read(api, "old"))["items"] == []
    assert (await read(api, "old"))["createdAt"] is None
    revived = (await add(api, "old", mug, 1))["cart"]
    assert [i["sku"] for i in revived["items"]] == ["MUG"]  # a fresh cart, not the old lines

    assert await sweep_expired_carts(db, timedelta(days=7), batch=1) == 1
    async with db.reader() as session:
        references = set((await session.scalars(select(Cart.reference))).all())
        items = await session.scalar(select(func.count()).select_from(CartItem))
    assert references == {"old", "fresh"} and items == 2


async def test_the_background_sweeper_removes_expired_carts(
    api: Api, db: Database, settings: Settings
) -> None:
    tee = await product(api, "TEE")
    await add(api, "stale", tee, 1)
    async with db.transaction() as session:
        await session.execute(update(Cart).values(updated_at=utcnow() - timedelta(days=8)))
    job = asyncio.create_task(expired_cart_sweeper(db, settings, interval=0.05))
    try:
        for _ in range(100):
            async with db.reader() as session:
                if await session.scalar(select(func.count()).select_from(Cart)) == 0:
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the sweeper did not remove the expired cart")
    finally:
        job.cancel()


async def test_reading_a_cart_costs_the_same_statements_whatever_its_size(api: Api) -> None:
    band = await tax_band(api, "20")
    products = [await product(api, f"P{i}", taxBandId=band, weight=10) for i in range(8)]
    query = """query($reference: String!) { cart(reference: $reference) {
        items { product { id name price { withTax { amount } } } linePrice { tax { amount } } }
        shippingMethods { id } } }"""

    async def statements(reference: str) -> int:
        with StatementCounter() as counter:
            await api.storefront(query, {"reference": reference})
        return counter.count

    await add(api, "small", products[0], 1)
    for product_id in products:
        await add(api, "large", product_id, 2)
    await statements("small")  # warm the token cache
    assert await statements("large") == await statements("small")


async def test_cart_mutations_run_a_fixed_number_of_statements(api: Api) -> None:
    """Issue 11: each cart mutation is one write transaction whose answer (lines, products,
    prices, shipping methods, gateways) is built from what it read and wrote; reference data
    (currencies, tax rates, promotions, shipping methods, gateways) is kept by the process."""
    band = await tax_band(api, "20")
    tee = await product(api, "TEE", taxBandId=band, weight=10)
    mug = await product(api, "MUG", taxBandId=band, weight=10)
    await add(api, "warm-up", tee)  # the token and the kept reference data
    counts: dict[str, int] = {}

    async def counted(name: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        with StatementCounter() as counter:
            body = await api.data(query, variables, as_="storefront")
        counts[name] = counter.count
        (payload,) = body.values()
        assert payload["errors"] == [], payload
        return dict(payload["cart"])

    item = {"reference": "counted", "quantity": 1}
    await counted("add, new cart", CART_ITEM_ADD, {**item, "productId": tee})
    await counted("add, new line", CART_ITEM_ADD, {**item, "productId": mug})
    cart = await counted("add, merged", CART_ITEM_ADD, {**item, "productId": tee})
    assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [("TEE", 2), ("MUG", 1)]
    tee_line, mug_line = (i["id"] for i in cart["items"])
    await counted("update", CART_ITEM_UPDATE, {**item, "itemId": tee_line, "quantity": 3})
    await counted("remove", CART_ITEM_REMOVE, {"reference": "counted", "itemId": mug_line})
    await counted("delete", CART_DELETE, {"reference": "counted"})
    # add: the cart upsert, the line upsert, the cart's lines; update: the cart's touch, the
    # line, the product's check, the line's UPDATE, the lines; remove: touch, line, DELETE, lines
    assert counts == {
        "add, new cart": 3,
        "add, new line": 3,
        "add, merged": 3,
        "update": 5,
        "remove": 4,
        "delete": 1,
    }
