"""Shipping methods (API.md section 5): admin CRUD and its validation, storefront visibility,
prices in the request currency with the method's tax band, and cart eligibility."""

import asyncio
import uuid
from typing import Any

import pytest

from domain.ids import encode_id
from domain.shipping import eligible_methods, is_eligible
from models.engine import Database, StatementCounter
from models.shipping import ShippingMethod as ShippingMethodRow
from resolvers.ids import parse_id
from tests.conftest import Api

FIELDS = """id name slug carrier description minSubtotal maxSubtotal minWeight maxWeight enabled
  price { withTax { amount currency formatted } withoutTax { amount } tax { amount } }
  taxBand { id name rate }"""
CREATE = f"""
mutation($input: ShippingMethodInput!) {{
  shippingMethodCreate(input: $input) {{
    shippingMethod {{ {FIELDS} }} errors {{ code field message }}
  }}
}}"""
UPDATE = f"""
mutation($id: ID!, $input: ShippingMethodInput!) {{
  shippingMethodUpdate(id: $id, input: $input) {{
    shippingMethod {{ {FIELDS} }} errors {{ code field message }}
  }}
}}"""
DELETE = """
mutation($id: ID!) {
  shippingMethodDelete(id: $id) { shippingMethod { id slug } errors { code field message } }
}"""
LIST = "{ shippingMethods { slug enabled price { withTax { amount } } } }"


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    payload = (await api.admin(CREATE, {"input": fields}))["shippingMethodCreate"]
    assert payload["errors"] == [], payload["errors"]
    return dict(payload["shippingMethod"])


async def tax_band(api: Api, rate: str) -> str:
    query = 'mutation($r: Decimal!) { taxBandCreate(input: {name: "VAT", rate: $r}) { taxBand { id } } }'
    return str((await api.admin(query, {"r": rate}))["taxBandCreate"]["taxBand"]["id"])


def codes(errors: list[dict[str, Any]]) -> set[tuple[str, tuple[str, ...]]]:
    return {(e["code"], tuple(e["field"] or ())) for e in errors}


async def test_create_read_update_delete(api: Api) -> None:
    band = await tax_band(api, "20")
    made = await create(
        api,
        name="Next day",
        slug="next-day",
        carrier="DHL",
        description="Order by 3pm",
        price=995,
        minSubtotal=0,
        maxSubtotal=50000,
        minWeight=1,
        maxWeight=20000,
        taxBandId=band,
    )
    kind, pk = parse_id(made["id"]) or ("", None)
    assert kind == "ShippingMethod" and pk is not None and pk.version == 4
    assert made["price"] == {
        "withTax": {"amount": 1194, "currency": "USD", "formatted": "$11.94"},
        "withoutTax": {"amount": 995},
        "tax": {"amount": 199},
    }
    assert made["taxBand"] == {"id": band, "name": "VAT", "rate": "20"}
    assert (made["enabled"], made["carrier"], made["maxWeight"]) == (True, "DHL", 20000)

    node = await api.storefront(
        "query($id: ID!) { node(id: $id) { ... on ShippingMethod { slug } } }", {"id": made["id"]}
    )
    assert node["node"] == {"slug": "next-day"}

    changed = (
        await api.admin(
            UPDATE,
            {"id": made["id"], "input": {"price": 500, "maxSubtotal": None, "taxBandId": None}},
        )
    )["shippingMethodUpdate"]
    assert changed["errors"] == []
    method = changed["shippingMethod"]
    assert method["price"]["withTax"]["amount"] == 500 and method["taxBand"] is None
    assert (method["maxSubtotal"], method["minSubtotal"], method["name"]) == (None, 0, "Next day")

    deleted = (await api.admin(DELETE, {"id": made["id"]}))["shippingMethodDelete"]
    assert deleted == {"shippingMethod": {"id": made["id"], "slug": "next-day"}, "errors": []}
    again = (await api.admin(DELETE, {"id": made["id"]}))["shippingMethodDelete"]
    assert codes(again["errors"]) == {("NOT_FOUND", ("id",))}
    assert (await api.admin(LIST))["shippingMethods"] == []


async def test_bad_input_is_rejected_and_changes_nothing(api: Api) -> None:
    bad = (
        await api.admin(
            CREATE,
            {
                "input": {
                    "name": " ",
                    "slug": "Not A Slug",
                    "price": -1,
                    "minSubtotal": -5,
                    "minWeight": 100,
                    "maxWeight": 99,
                }
            },
        )
    )["shippingMethodCreate"]
    assert bad["shippingMethod"] is None
    assert codes(bad["errors"]) == {
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "slug")),
        ("INVALID", ("input", "price")),
        ("INVALID", ("input", "minSubtotal")),
        ("INVALID", ("input", "maxWeight")),
    }
    no_price = (await api.admin(CREATE, {"input": {"name": "A", "slug": "a"}}))[
        "shippingMethodCreate"
    ]
    assert codes(no_price["errors"]) == {("REQUIRED", ("input", "price"))}

    missing_band = (
        await api.admin(
            CREATE,
            {"input": {"name": "A", "slug": "a", "price": 1, "taxBandId": "not-an-id"}},
        )
    )["shippingMethodCreate"]
    assert codes(missing_band["errors"]) == {("NOT_FOUND", ("input", "taxBandId"))}
    band = await tax_band(api, "5")
    await api.admin(
        "mutation($id: ID!) { taxBandDelete(id: $id) { errors { code } } }", {"id": band}
    )
    deleted_band = (
        await api.admin(
            CREATE, {"input": {"name": "A", "slug": "a", "price": 1, "taxBandId": band}}
        )
    )["shippingMethodCreate"]
    assert codes(deleted_band["errors"]) == {("NOT_FOUND", ("input", "taxBandId"))}
    assert (await api.admin(LIST))["shippingMethods"] == []


async def test_slug_is_unique_and_update_checks_bounds_against_stored_ones(api: Api) -> None:
    first = await create(api, name="Standard", slug="standard", price=300, maxWeight=1000)
    dup = (await api.admin(CREATE, {"input": {"name": "B", "slug": "standard", "price": 1}}))[
        "shippingMethodCreate"
    ]
    assert codes(dup["errors"]) == {("DUPLICATE", ("input", "slug"))}

    other = await create(api, name="Other", slug="other", price=1)
    clash = (await api.admin(UPDATE, {"id": other["id"], "input": {"slug": "standard"}}))[
        "shippingMethodUpdate"
    ]
    assert codes(clash["errors"]) == {("DUPLICATE", ("input", "slug"))}

    above_max = (await api.admin(UPDATE, {"id": first["id"], "input": {"minWeight": 1001}}))[
        "shippingMethodUpdate"
    ]
    assert codes(above_max["errors"]) == {("INVALID", ("input", "minWeight"))}
    cleared = (await api.admin(UPDATE, {"id": first["id"], "input": {"price": None}}))[
        "shippingMethodUpdate"
    ]
    assert codes(cleared["errors"]) == {("REQUIRED", ("input", "price"))}
    unknown = (
        await api.admin(
            UPDATE, {"id": encode_id("ShippingMethod", uuid.uuid4()), "input": {"price": 1}}
        )
    )["shippingMethodUpdate"]
    assert unknown["errors"][0]["code"] == "NOT_FOUND"

    listed = (await api.admin(LIST))["shippingMethods"]
    assert [(m["slug"], m["price"]["withTax"]["amount"]) for m in listed] == [
        ("other", 1),
        ("standard", 300),
    ]


async def test_storefront_sees_enabled_methods_and_cannot_write(api: Api) -> None:
    await create(api, name="Courier", slug="courier", price=1500)
    hidden = await create(api, name="Freight", slug="freight", price=9000, enabled=False)
    await create(api, name="Post", slug="post", price=400)

    assert [m["slug"] for m in (await api.storefront(LIST))["shippingMethods"]] == [
        "post",
        "courier",
    ]
    assert [m["slug"] for m in (await api.admin(LIST))["shippingMethods"]] == [
        "post",
        "courier",
        "freight",
    ]
    one = "query($id: ID!) { shippingMethod(id: $id) { slug } }"
    assert (await api.storefront(one, {"id": hidden["id"]}))["shippingMethod"] is None
    assert (await api.admin(one, {"id": hidden["id"]}))["shippingMethod"] == {"slug": "freight"}

    for mutation, variables in (
        (CREATE, {"input": {"name": "X", "slug": "x", "price": 1}}),
        (UPDATE, {"id": hidden["id"], "input": {"enabled": True}}),
        (DELETE, {"id": hidden["id"]}),
    ):
        body = await api.gql(mutation, variables, as_="storefront")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert list(body["data"].values()) == [None]
    assert len((await api.admin(LIST))["shippingMethods"]) == 3


async def test_price_shows_in_the_request_currency(api: Api) -> None:
    await api.admin(
        'mutation { currencyCreate(input: {code: "EUR", name: "Euro", exchangeRate: "0.5",'
        ' format: "€{price}"}) { errors { code } } }'
    )
    band = await tax_band(api, "17.5")
    await create(api, name="Express", slug="express", price=1001, taxBandId=band)
    shown = await api.storefront(
        "{ shippingMethods { price { withTax { amount currency formatted } tax { amount } } } }",
        headers={"X-Currency": "EUR"},
    )
    price = shown["shippingMethods"][0]["price"]
    # 1001 USD cents -> 500.5 -> 501 EUR cents (half-up); tax 17.5% of 501 = 87.675 -> 88
    assert price == {
        "withTax": {"amount": 589, "currency": "EUR", "formatted": "€5.89"},
        "tax": {"amount": 88},
    }


async def test_tax_band_in_use_by_a_method_cannot_be_deleted(api: Api) -> None:
    band = await tax_band(api, "10")
    await create(api, name="Post", slug="post", price=400, taxBandId=band)
    refused = await api.admin(
        "mutation($id: ID!) { taxBandDelete(id: $id) { errors { code } } }", {"id": band}
    )
    assert refused["taxBandDelete"]["errors"] == [{"code": "IN_USE"}]


async def test_listing_loads_tax_bands_in_one_batch(api: Api) -> None:
    query = "{ shippingMethods { slug taxBand { name } price { withTax { amount } } } }"

    async def statements() -> int:
        with StatementCounter() as counter:
            await api.storefront(query)
        return counter.count

    bands = [await tax_band(api, str(rate)) for rate in (5, 10, 20)]
    await create(api, name="M0", slug="m0", price=100, taxBandId=bands[0])
    await statements()  # the first use of a token verifies it; later ones hit the cache
    few = await statements()
    for i in range(1, 9):
        await create(api, name=f"M{i}", slug=f"m{i}", price=100 + i, taxBandId=bands[i % 3])
    assert await statements() == few


# --- eligibility -----------------------------------------------------------------------


def method(**bounds: Any) -> ShippingMethodRow:
    return ShippingMethodRow(**{"name": "m", "slug": "m", "price": 0, "enabled": True, **bounds})


@pytest.mark.parametrize(
    ("bounds", "subtotal", "weight", "expected"),
    [
        ({}, 0, 0, True),
        ({"min_subtotal": 5000}, 4999, 0, False),
        ({"min_subtotal": 5000}, 5000, 0, True),
        ({"max_subtotal": 5000}, 5000, 0, True),
        ({"max_subtotal": 5000}, 5001, 0, False),
        ({"min_weight": 100, "max_weight": 200}, 0, 100, True),
        ({"min_weight": 100, "max_weight": 200}, 0, 200, True),
        ({"min_weight": 100, "max_weight": 200}, 0, 99, False),
        ({"min_weight": 100, "max_weight": 200}, 0, 201, False),
        ({"min_subtotal": 10, "max_weight": 10}, 10, 11, False),
        ({"enabled": False}, 0, 0, False),
    ],
)
def test_is_eligible_bounds_are_inclusive(
    bounds: dict[str, Any], subtotal: int, weight: int, expected: bool
) -> None:
    assert is_eligible(method(**bounds), subtotal, weight) is expected


async def test_eligible_methods_in_sql_agree_with_is_eligible(db: Database) -> None:
    rows = [
        ShippingMethodRow(name="Free", slug="free", price=0, min_subtotal=5000),
        ShippingMethodRow(name="Letter", slug="letter", price=100, max_weight=500),
        ShippingMethodRow(name="Parcel", slug="parcel", price=700, min_weight=1, max_weight=30000),
        ShippingMethodRow(name="Off", slug="off", price=1, enabled=False),
        ShippingMethodRow(name="Any", slug="any", price=700),
    ]
    async with db.transaction() as session:
        session.add_all(rows)
    cases = [(0, 0), (4999, 500), (5000, 501), (100, 30000), (100, 30001)]
    async with db.reader() as session:
        for subtotal, weight in cases:
            found = [m.slug for m in await eligible_methods(session, subtotal, weight)]
            expected = [
                m.slug
                for m in sorted(rows, key=lambda r: (r.price, r.name))
                if is_eligible(m, subtotal, weight)
            ]
            assert found == expected, (subtotal, weight)
        assert [m.slug for m in await eligible_methods(session, 5000, 0)] == [
            "free",
            "letter",
            "any",
        ]


async def test_concurrent_updates_cannot_cross_the_bounds(api: Api, db: Database) -> None:
    """Each update alone keeps minWeight <= maxWeight; together they would not. The row lock
    makes the second check the first's result, so exactly one wins and the row stays valid."""
    for attempt in range(3):
        made = await create(api, name="P", slug=f"p{attempt}", price=1, maxWeight=1000)
        bodies = await asyncio.gather(
            api.gql(UPDATE, {"id": made["id"], "input": {"minWeight": 500}}),
            api.gql(UPDATE, {"id": made["id"], "input": {"maxWeight": 100}}),
        )
        results = [b["data"]["shippingMethodUpdate"] for b in bodies]
        assert sorted(len(r["errors"]) for r in results) == [0, 1]
        (error,) = next(r["errors"] for r in results if r["errors"])
        assert error["code"] == "INVALID"
        async with db.reader() as session:
            row = await session.get(ShippingMethodRow, parse_id(made["id"])[1])  # type: ignore[index]
        assert row is not None
        assert (row.min_weight, row.max_weight) in {(500, 1000), (None, 100)}
