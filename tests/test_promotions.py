"""Promotions and discount codes (API.md section 10), on both backends: admin CRUD and its
validation, role refusals, codes on carts and every reason one does not apply, discounts
computed live (tax per discounted line, display currency), checkout's snapshot and use counts,
limits per buyer, FREE_SHIPPING, orderCreate, and uses given back by a cancel, once."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from domain.promotions import cart_candidates
from models.carts import Cart
from models.engine import Database, StatementCounter
from models.orders import Order
from models.promotions import PromotionUse
from resolvers.ids import parse_id
from tests.cart_helpers import ADDRESS, add, product, register, shipping_method, tax_band
from tests.catalog_helpers import create_category
from tests.conftest import Api
from tests.promotion_helpers import (
    ORDER_CANCEL,
    PROMO_ORDER_CREATE,
    PROMOTION_CREATE,
    PROMOTION_DELETE,
    PROMOTION_UPDATE,
    PROMOTIONS,
    apply,
    cart,
    checkout,
    create_promotion,
    error_codes,
    promotion,
    remove,
)


def amounts(price: dict[str, Any]) -> tuple[int, int, int]:
    """(without tax, tax, with tax) of a DisplayPrice."""
    return price["withoutTax"]["amount"], price["tax"]["amount"], price["withTax"]["amount"]


def pk(global_id: str) -> uuid.UUID:
    parsed = parse_id(global_id)
    assert parsed is not None
    return parsed[1]


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def order_count(db: Database) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def use_count(db: Database) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(PromotionUse)) or 0)


# --- admin ---------------------------------------------------------------------------------


async def test_create_read_update_list_and_delete(api: Api) -> None:
    category = await create_category(api, "Shirts")
    tee = await product(api, "TEE")
    made = await create_promotion(
        api,
        name="Summer",
        description="Summer sale",
        code="Summer10",
        kind="PERCENT_OFF",
        value=10,
        minSubtotal=500,
        productIds=[tee],
        categoryIds=[category["id"]],
        usageLimit=5,
        perCustomerLimit=1,
        startsAt="2020-01-01T00:00:00Z",
    )
    assert made["code"] == "Summer10" and made["enabled"] is True and made["usageCount"] == 0
    assert made["products"] == [{"id": tee}] and made["categories"] == [{"id": category["id"]}]
    assert made["startsAt"].startswith("2020-01-01T00:00:00")
    assert await promotion(api, made["id"]) == made

    changed = await api.admin(
        PROMOTION_UPDATE,
        {"id": made["id"], "input": {"code": None, "productIds": [], "usageLimit": None}},
    )
    updated = changed["promotionUpdate"]["promotion"]
    assert changed["promotionUpdate"]["errors"] == []
    assert (updated["code"], updated["products"], updated["usageLimit"]) == (None, [], None)
    assert updated["categories"] == [{"id": category["id"]}] and updated["value"] == 10

    await create_promotion(api, name="Ship", code="SHIPFREE", kind="FREE_SHIPPING", enabled=False)
    listed = (await api.admin(PROMOTIONS, {"filter": {"search": "ship"}}))["promotions"]
    assert [e["node"]["code"] for e in listed["edges"]] == ["SHIPFREE"]
    disabled = (await api.admin(PROMOTIONS, {"filter": {"enabled": False}}))["promotions"]
    assert [e["node"]["name"] for e in disabled["edges"]] == ["Ship"]
    page = (await api.admin(PROMOTIONS, {"first": 1}))["promotions"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"] is True
    rest = await api.admin(PROMOTIONS, {"first": 5, "after": page["pageInfo"]["endCursor"]})
    assert len(rest["promotions"]["edges"]) == 1

    deleted = (await api.admin(PROMOTION_DELETE, {"id": made["id"]}))["promotionDelete"]
    assert deleted["errors"] == [] and deleted["promotion"]["id"] == made["id"]
    assert (await api.admin("query($id: ID!) { promotion(id: $id) { id } }", {"id": made["id"]}))[
        "promotion"
    ] is None


async def test_bad_input_is_refused_and_changes_nothing(api: Api) -> None:
    async def refused(fields: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
        payload = (await api.admin(PROMOTION_CREATE, {"input": fields}))["promotionCreate"]
        assert payload["promotion"] is None
        return {(e["code"], tuple(e["field"])) for e in payload["errors"]}

    assert await refused({"kind": "PERCENT_OFF", "value": 10}) == {("REQUIRED", ("input", "name"))}
    assert await refused({"name": "X", "value": 10}) == {("REQUIRED", ("input", "kind"))}
    for value in (0, 101, None):
        fields = {"name": "X", "kind": "PERCENT_OFF", "value": value}
        assert await refused(fields) == {("INVALID", ("input", "value"))}
    assert await refused({"name": "X", "kind": "AMOUNT_OFF", "value": -5}) == {
        ("INVALID", ("input", "value"))
    }
    assert await refused({"name": "X", "kind": "FREE_SHIPPING", "value": 3}) == {
        ("INVALID", ("input", "value"))
    }
    assert await refused({"name": "X", "kind": "FREE_SHIPPING", "code": "NO SPACES"}) == {
        ("INVALID", ("input", "code"))
    }
    window = {"startsAt": "2030-01-02T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"}
    assert await refused({"name": "X", "kind": "FREE_SHIPPING", **window}) == {
        ("INVALID", ("input", "endsAt"))
    }
    for name in ("usageLimit", "perCustomerLimit", "minSubtotal"):
        fields = {"name": "X", "kind": "FREE_SHIPPING", name: -1}
        assert await refused(fields) == {("INVALID", ("input", name))}
    tee = await product(api, "TEE")
    await api.admin(
        "mutation($id: ID!) { productDelete(id: $id) { errors { code } } }", {"id": tee}
    )
    fields = {"name": "X", "kind": "FREE_SHIPPING", "productIds": [tee]}
    assert await refused(fields) == {("NOT_FOUND", ("input", "productIds", "0"))}

    await create_promotion(api, code="Welcome", kind="FREE_SHIPPING")
    assert await refused({"name": "Y", "kind": "FREE_SHIPPING", "code": "WELCOME"}) == {
        ("DUPLICATE", ("input", "code"))
    }
    listed = (await api.admin(PROMOTIONS))["promotions"]
    assert listed["totalCount"] == 1


async def test_storefronts_never_read_or_write_promotions(api: Api) -> None:
    made = await create_promotion(api, code="SECRET", kind="PERCENT_OFF", value=50)
    for document, variables in (
        ("{ promotions { totalCount } }", {}),
        ("query($id: ID!) { promotion(id: $id) { id } }", {"id": made["id"]}),
        (PROMOTION_CREATE, {"input": {"name": "Mine", "kind": "PERCENT_OFF", "value": 100}}),
        (PROMOTION_UPDATE, {"id": made["id"], "input": {"value": 100}}),
        (PROMOTION_DELETE, {"id": made["id"]}),
    ):
        body = await api.gql(document, variables, as_="storefront")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", document
        assert set(body["data"].values()) == {None}
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await api.storefront(node, {"id": made["id"]}))["node"] is None
    assert (await api.admin(node, {"id": made["id"]}))["node"] == {"id": made["id"]}
    assert (await promotion(api, made["id"]))["value"] == 50


# --- carts -----------------------------------------------------------------------------------


async def test_a_code_spreads_its_discount_and_taxes_each_discounted_line(api: Api) -> None:
    band = await tax_band(api, "20")
    a = await product(api, "A", price=999, taxBandId=band, requiresShipping=False)
    b = await product(api, "B", price=333, requiresShipping=False)
    await create_promotion(api, code="TENOFF", kind="AMOUNT_OFF", value=1000)
    await add(api, "c", a, 2)  # 1998, tax 400
    await add(api, "c", b, 1)  # 333, untaxed
    applied = await apply(api, "c", "tenoff")
    assert applied["errors"] == []
    shown = applied["cart"]
    assert shown["promotionCodes"] == ["TENOFF"]
    # 1000 over 1998 : 333 -> 857.1 : 142.8 -> 857 + 143 (largest remainder)
    (discount,) = shown["discounts"]
    assert discount["promotion"] == {"name": "Promo", "code": "TENOFF"}
    assert discount["applies"] is True and discount["reason"] is None
    # line A: 1998 - 857 = 1141, tax 228.2 -> 228 (was 400); line B: 333 - 143 = 190
    assert amounts(discount["amount"]) == (1000, 172, 1172)
    assert amounts(shown["subtotal"]) == (2331, 400, 2731)
    assert amounts(shown["discount"]) == (1000, 172, 1172)
    assert amounts(shown["total"]) == (1331, 228, 1559)
    assert await cart(api, "c") == shown  # computed the same way on every read

    again = await apply(api, "c", " TenOff ")
    assert again["errors"] == [] and again["cart"]["promotionCodes"] == ["TENOFF"]
    removed = await remove(api, "c", "TENOFF")
    assert removed["errors"] == [] and removed["cart"]["discounts"] == []
    assert amounts(removed["cart"]["total"]) == (2331, 400, 2731)
    missing = await remove(api, "c", "TENOFF")
    assert (error_codes(missing), missing["cart"]) == (["NOT_FOUND"], None)


async def test_discounts_show_in_the_display_currency(api: Api) -> None:
    await api.admin(
        'mutation { currencyCreate(input: {code: "EUR", name: "Euro", exchangeRate: "0.5", '
        'format: "€{price}", enabled: true}) { errors { code } } }'
    )
    a = await product(api, "A", price=1000, requiresShipping=False)
    await create_promotion(api, code="FIVE", kind="AMOUNT_OFF", value=500)
    await add(api, "c", a, 1)
    euro = {"X-Currency": "EUR"}
    shown = (await apply(api, "c", "FIVE", headers=euro))["cart"]
    assert shown["currency"] == "EUR"
    assert amounts(shown["discount"]) == (250, 0, 250)
    assert amounts(shown["total"]) == (250, 0, 250)
    assert shown["total"]["withTax"]["formatted"] == "€2.50"


async def test_every_reason_a_code_does_not_apply(api: Api) -> None:
    now = datetime.now(UTC)
    parent = await create_category(api, "Clothes")
    child = await create_category(api, "Shirts", parentId=parent["id"])
    tee = await product(api, "TEE", price=1000, requiresShipping=False, categoryIds=[child["id"]])
    mug = await product(api, "MUG", price=400, requiresShipping=False)
    await add(api, "c", mug, 1)
    kinds = {"kind": "PERCENT_OFF", "value": 10}
    await create_promotion(api, code="OFF", enabled=False, **kinds)
    await create_promotion(api, code="LATER", startsAt=iso(now + timedelta(days=1)), **kinds)
    await create_promotion(api, code="GONE", endsAt=iso(now - timedelta(seconds=1)), **kinds)
    await create_promotion(api, code="BIG", minSubtotal=1000, **kinds)
    await create_promotion(api, code="CLOTHES", categoryIds=[parent["id"]], **kinds)
    await create_promotion(api, code="TEES", productIds=[tee], **kinds)
    used = await create_promotion(api, code="USED", usageLimit=1, **kinds)
    expected = {
        "NOPE": ("PROMOTION_INVALID", "no promotion code"),
        "off": ("PROMOTION_INVALID", "disabled"),
        "LATER": ("PROMOTION_INVALID", "not started"),
        "GONE": ("PROMOTION_INVALID", "expired"),
        "BIG": ("PROMOTION_NOT_APPLICABLE", "subtotal of at least $10.00"),
        "CLOTHES": ("PROMOTION_NOT_APPLICABLE", "applies to no item"),
        "TEES": ("PROMOTION_NOT_APPLICABLE", "applies to no item"),
    }
    for code, (error, words) in expected.items():
        result = await apply(api, "c", code)
        assert [(e["code"], e["field"]) for e in result["errors"]] == [(error, ["code"])], code
        assert words in result["errors"][0]["message"], result["errors"]
        assert result["cart"] is None
    # a sub-category's product is eligible for its parent category's promotion
    await add(api, "c", tee, 1)
    for code in ("BIG", "CLOTHES", "TEES"):
        assert (await apply(api, "c", code))["errors"] == [], code
    # one use of USED, by another cart
    await add(api, "other", mug, 1)
    assert (await apply(api, "other", "USED"))["errors"] == []
    assert (await checkout(api, "other"))["errors"] == []
    assert (await promotion(api, used["id"]))["usageCount"] == 1
    assert error_codes(await apply(api, "c", "USED")) == ["PROMOTION_EXHAUSTED"]
    assert (await cart(api, "c"))["promotionCodes"] == ["BIG", "CLOTHES", "TEES"]


async def test_a_code_that_stops_fitting_stops_applying_and_the_cart_says_why(
    api: Api, db: Database
) -> None:
    mug = await product(api, "MUG", price=600, requiresShipping=False)
    made = await create_promotion(api, code="BIG", kind="PERCENT_OFF", value=50, minSubtotal=1000)
    await add(api, "c", mug, 2)
    assert amounts((await apply(api, "c", "BIG"))["cart"]["discount"]) == (600, 0, 600)
    item = (await cart(api, "c"))["items"][0]["id"]
    update = """mutation($r: String!, $i: ID!) { cartItemUpdate(reference: $r, itemId: $i,
      quantity: 1) { errors { code } } }"""
    await api.storefront(update, {"r": "c", "i": item})
    shown = await cart(api, "c")
    assert shown["promotionCodes"] == ["BIG"]
    (discount,) = shown["discounts"]
    assert (discount["applies"], discount["reasonCode"]) == (False, "PROMOTION_NOT_APPLICABLE")
    assert "$10.00" in discount["reason"]
    assert amounts(discount["amount"]) == (0, 0, 0)
    assert amounts(shown["total"]) == (600, 0, 600)
    failed = await checkout(api, "c")
    assert [(e["code"], e["field"]) for e in failed["errors"]] == [
        ("PROMOTION_NOT_APPLICABLE", ["reference"])
    ]
    assert await order_count(db) == 0
    # the admin lowers the minimum: it fits again
    await api.admin(PROMOTION_UPDATE, {"id": made["id"], "input": {"minSubtotal": 500}})
    assert [d["applies"] for d in (await cart(api, "c"))["discounts"]] == [True]
    await api.admin(PROMOTION_UPDATE, {"id": made["id"], "input": {"enabled": False}})
    assert (await cart(api, "c"))["discounts"][0]["reasonCode"] == "PROMOTION_INVALID"
    await remove(api, "c", "big")
    assert (await checkout(api, "c"))["errors"] == []


async def test_automatic_promotions_apply_by_themselves_after_percentages(api: Api) -> None:
    a = await product(api, "A", price=1000, requiresShipping=False)
    b = await product(api, "B", price=500, requiresShipping=False)
    await create_promotion(api, name="Five off A", kind="AMOUNT_OFF", value=500, productIds=[a])
    await create_promotion(api, name="Tenth", kind="PERCENT_OFF", value=10)
    await create_promotion(api, name="Not yet", kind="PERCENT_OFF", value=90, enabled=False)
    await add(api, "c", a, 1)
    await add(api, "c", b, 1)
    shown = await cart(api, "c")
    assert shown["promotionCodes"] == []
    names = [
        (d["promotion"]["name"], d["amount"]["withoutTax"]["amount"]) for d in shown["discounts"]
    ]
    # 10% of 1500 first, then 500 off what is left of A (900)
    assert names == [("Tenth", 150), ("Five off A", 500)]
    assert amounts(shown["total"]) == (850, 0, 850)


async def test_amount_off_never_takes_a_line_below_zero(api: Api) -> None:
    a = await product(api, "A", price=300, requiresShipping=False)
    await create_promotion(api, code="HUGE", kind="AMOUNT_OFF", value=100_000)
    await create_promotion(api, name="More", kind="AMOUNT_OFF", value=100)
    await add(api, "c", a, 1)
    shown = (await apply(api, "c", "HUGE"))["cart"]
    assert amounts(shown["discount"]) == (300, 0, 300)
    assert amounts(shown["total"]) == (0, 0, 0)
    order = (await checkout(api, "c"))["order"]
    assert order["totals"]["total"]["amount"] == 0


async def test_reading_a_cart_costs_the_same_statements_whatever_the_number_of_promotions(
    api: Api, db: Database
) -> None:
    """Codes and candidate promotions (with their products and categories) come in one
    statement; the lines' categories in one more once a promotion is narrowed; a cart
    without codes reads none (the automatic promotions are kept by the process)."""
    home = await create_category(api, "Home")
    kitchen = await create_category(api, "Kitchen", parentId=home["id"])
    mug = await product(api, "MUG", categoryIds=[kitchen["id"]], requiresShipping=False)
    tee = await product(api, "TEE", requiresShipping=False)

    async def statements(reference: str) -> int:
        with StatementCounter() as counter:
            await cart(api, reference)
        return counter.count

    for reference in ("few", "many"):
        await add(api, reference, mug, 1)
        await add(api, reference, tee, 1)
    await statements("few")  # warm the token cache
    without = await statements("few")

    async def promotions(n: int) -> None:
        await create_promotion(
            api, code=f"HOME{n}", kind="PERCENT_OFF", value=5, categoryIds=[home["id"]]
        )
        await create_promotion(api, name=f"Tee {n}", kind="AMOUNT_OFF", value=10, productIds=[tee])
        await create_promotion(api, name=f"All {n}", kind="PERCENT_OFF", value=1)

    await promotions(0)
    assert (await apply(api, "few", "HOME0"))["errors"] == []
    few = await statements("few")
    for n in range(1, 6):
        await promotions(n)
        assert (await apply(api, "many", f"HOME{n}"))["errors"] == []
    shown = await cart(api, "many")
    assert len(shown["promotionCodes"]) == 5
    assert [d["applies"] for d in shown["discounts"]] == [True] * 17
    # without codes a cart reads no promotion (the process keeps the automatic ones); with
    # codes, one statement for them and every candidate, one for the lines' categories
    assert await statements("many") == few == without + 2

    async with db.reader() as session:
        cart_id = await session.scalar(select(Cart.id).where(Cart.reference == "many"))
        with StatementCounter() as counter:
            candidates, entered = await cart_candidates(session, cart_id)
    assert counter.count == 1
    assert len(candidates) == 17 and len(entered) == 5  # HOME0 is on the other cart only
    home_ids = {pk(home["id"]), pk(kitchen["id"])}
    assert all(c.category_ids == home_ids for c in candidates if c.entered)
    assert sum(c.product_ids == {pk(tee)} for c in candidates) == 6


# --- checkout and orders ---------------------------------------------------------------------


async def test_checkout_keeps_a_snapshot_and_counts_the_use(api: Api, db: Database) -> None:
    band = await tax_band(api, "10")
    a = await product(api, "A", price=1005, taxBandId=band, requiresShipping=False)
    made = await create_promotion(api, name="Third", code="THIRD", kind="PERCENT_OFF", value=33)
    await add(api, "c", a, 1)
    await apply(api, "c", "THIRD")
    shown = await cart(api, "c")
    result = await checkout(api, "c")
    assert result["errors"] == []
    order = result["order"]
    assert order["discounts"] == [
        {
            "code": "THIRD",
            "name": "Third",
            "kind": "PERCENT_OFF",
            "amount": {"amount": 332, "currency": "USD", "formatted": "$3.32"},
        }
    ]
    totals = {k: v["amount"] for k, v in order["totals"].items()}
    assert totals["subtotal"] == 1005 and totals["discount"] == 332
    assert totals["tax"] == 67  # 10% of 673, half-up
    assert (
        totals["total"]
        == totals["subtotal"] - totals["discount"] + totals["shipping"] + totals["tax"]
    )
    assert totals["total"] == shown["total"]["withTax"]["amount"]
    assert order["items"][0]["discount"] == {"withoutTax": {"amount": 332}, "tax": {"amount": 34}}
    assert (await promotion(api, made["id"]))["usageCount"] == 1
    # later changes to the promotion never alter the order
    await api.admin(PROMOTION_UPDATE, {"id": made["id"], "input": {"name": "Renamed"}})
    await api.admin(PROMOTION_DELETE, {"id": made["id"]})
    again = await api.admin(
        "query($id: ID!) { order(id: $id) { discounts { name code } totals { discount { amount } } } }",
        {"id": order["id"]},
    )
    assert again["order"] == {
        "discounts": [{"name": "Third", "code": "THIRD"}],
        "totals": {"discount": {"amount": 332}},
    }


async def test_payment_charges_the_discounted_total(api: Api) -> None:
    a = await product(api, "A", price=2000, requiresShipping=False)
    await create_promotion(api, code="HALF", kind="PERCENT_OFF", value=50)
    await add(api, "c", a, 1)
    await apply(api, "c", "HALF")
    order = (await checkout(api, "c"))["order"]
    paid = await api.storefront(
        """mutation($id: ID!) { orderPay(orderId: $id, input: {gateway: "card", method: PURCHASE,
          card: {number: "4242424242424242", expMonth: 12, expYear: 2040, cvc: "123"}}) {
          transaction { amount { amount } } errors { code } } }""",
        {"id": order["id"]},
    )
    assert paid["orderPay"]["errors"] == []
    assert paid["orderPay"]["transaction"]["amount"]["amount"] == 1000


async def test_free_shipping_makes_the_shipping_total_zero(api: Api) -> None:
    band = await tax_band(api, "20")
    tee = await product(api, "TEE", price=1000)
    post = await shipping_method(api, "post", 500, taxBandId=band)
    await create_promotion(
        api, name="Ship free", code="SHIP", kind="FREE_SHIPPING", minSubtotal=1000
    )
    await add(api, "c", tee, 1)
    shown = (await apply(api, "c", "SHIP"))["cart"]
    assert [d["promotion"]["name"] for d in shown["discounts"]] == ["Ship free"]
    assert amounts(shown["discount"]) == (0, 0, 0)
    order = (await checkout(api, "c", shippingMethodId=post))["order"]
    assert order["totals"]["shipping"]["amount"] == 0
    assert order["shippingMethod"]["price"]["withTax"]["amount"] == 0
    assert order["totals"]["total"]["amount"] == 1000
    assert order["discounts"][0]["kind"] == "FREE_SHIPPING"


async def test_per_customer_limit_holds_for_guest_emails_and_customers(
    api: Api, db: Database
) -> None:
    mug = await product(api, "MUG", price=500, requiresShipping=False)
    await create_promotion(api, code="ONCE", kind="PERCENT_OFF", value=10, perCustomerLimit=1)
    await add(api, "a", mug, 1)
    await apply(api, "a", "ONCE")
    assert (await checkout(api, "a", email="Ann@Example.com"))["errors"] == []
    await add(api, "b", mug, 1)
    await apply(api, "b", "ONCE")  # a guest's email is known only at checkout
    failed = await checkout(api, "b", email="ann@example.COM")
    assert error_codes(failed) == ["PROMOTION_EXHAUSTED"] and failed["order"] is None
    assert (await order_count(db), await use_count(db)) == (1, 1)
    assert len((await cart(api, "b"))["items"]) == 1  # the cart is kept
    assert (await checkout(api, "b", email="bob@example.com"))["errors"] == []

    customer, token = await register(api, "cy@example.com")
    signed_in = {"X-Customer-Token": token}
    await add(api, "c1", mug, 1)
    await apply(api, "c1", "ONCE", headers=signed_in)
    result = await api.data(
        "mutation($r: String!, $input: CheckoutInput!) { cartCheckout(reference: $r, "
        "input: $input) { errors { code } } }",
        {"r": "c1", "input": {"customerId": customer, "billingAddress": ADDRESS}},
        as_="storefront",
        headers=signed_in,
    )
    assert result["cartCheckout"]["errors"] == []
    await add(api, "c2", mug, 1)
    refused = await apply(api, "c2", "ONCE", headers=signed_in)
    assert error_codes(refused) == ["PROMOTION_EXHAUSTED"]


async def test_cancelling_an_unpaid_order_gives_its_use_back_once(api: Api, db: Database) -> None:
    mug = await product(api, "MUG", price=500, requiresShipping=False)
    made = await create_promotion(
        api, code="LIMITED", kind="PERCENT_OFF", value=10, usageLimit=1, perCustomerLimit=1
    )
    await add(api, "c", mug, 1)
    await apply(api, "c", "LIMITED")
    order = (await checkout(api, "c"))["order"]
    assert (await promotion(api, made["id"]))["usageCount"] == 1
    cancelled = (await api.admin(ORDER_CANCEL, {"id": order["id"]}))["orderCancel"]
    assert cancelled["errors"] == [] and cancelled["order"]["status"] == "CANCELLED"
    again = (await api.admin(ORDER_CANCEL, {"id": order["id"]}))["orderCancel"]
    assert error_codes(again) == ["INVALID_TRANSITION"]
    assert (await promotion(api, made["id"]))["usageCount"] == 0
    assert await use_count(db) == 0
    # the same buyer may use it again
    await add(api, "d", mug, 1)
    await apply(api, "d", "LIMITED")
    assert (await checkout(api, "d"))["errors"] == []
    assert (await promotion(api, made["id"]))["usageCount"] == 1


async def test_cancelling_a_paid_order_keeps_its_use(api: Api) -> None:
    mug = await product(api, "MUG", price=500, requiresShipping=False)
    made = await create_promotion(api, code="KEEP", kind="PERCENT_OFF", value=10)
    await add(api, "c", mug, 1)
    await apply(api, "c", "KEEP")
    order = (await checkout(api, "c"))["order"]
    await api.admin(
        """mutation($id: ID!) { orderPay(orderId: $id, input: {gateway: "manual",
          method: PURCHASE}) { errors { code } } }""",
        {"id": order["id"]},
    )
    assert (await api.admin(ORDER_CANCEL, {"id": order["id"]}))["orderCancel"]["errors"] == []
    assert (await promotion(api, made["id"]))["usageCount"] == 1


async def test_order_create_applies_codes_and_automatic_promotions(api: Api, db: Database) -> None:
    mug = await product(api, "MUG", price=1000, requiresShipping=False)
    await create_promotion(api, name="Auto", kind="AMOUNT_OFF", value=100)
    await create_promotion(api, name="Coded", code="TEN", kind="PERCENT_OFF", value=10)
    base = {
        "customer": {"email": "x@example.com", "name": "X"},
        "billingAddress": ADDRESS,
        "items": [{"productId": mug, "quantity": 1}],
    }
    made = (await api.admin(PROMO_ORDER_CREATE, {"input": {**base, "promotionCodes": ["ten"]}}))[
        "orderCreate"
    ]
    assert made["errors"] == []
    assert [(d["name"], d["amount"]["amount"]) for d in made["order"]["discounts"]] == [
        ("Coded", 100),
        ("Auto", 100),
    ]
    assert made["order"]["totals"]["total"]["amount"] == 800
    bad = (await api.admin(PROMO_ORDER_CREATE, {"input": {**base, "promotionCodes": ["NOPE"]}}))[
        "orderCreate"
    ]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [
        ("PROMOTION_INVALID", ["input", "promotionCodes", "0"])
    ]
    assert await order_count(db) == 1
