"""Custom fields: definitions (create, update, delete, validation) and typed values on
products, each error naming its key; `validate_custom_fields` as other areas call it."""

from typing import Any

import pytest

from domain.customfields import validate_custom_fields
from domain.errors import DomainError, DomainErrors
from models.engine import Database
from tests.catalog_helpers import (
    PRODUCT_CREATE,
    PRODUCT_UPDATE,
    create_product,
    errors_of,
    product_input,
)
from tests.conftest import Api

DEFINE = """mutation($input: FieldDefinitionInput!) {
  fieldDefinitionCreate(input: $input) {
    fieldDefinition { id entity slug name type required choices } errors { code field message }
  } }"""
UPDATE = """mutation($id: ID!, $input: FieldDefinitionInput!) {
  fieldDefinitionUpdate(id: $id, input: $input) {
    fieldDefinition { name required choices } errors { code field message } } }"""
DELETE = """mutation($id: ID!) {
  fieldDefinitionDelete(id: $id) { fieldDefinition { slug } errors { code field } } }"""


async def _define(api: Api, slug: str, type_: str, **fields: Any) -> str:
    input = {"entity": "PRODUCT", "slug": slug, "name": slug.title(), "type": type_, **fields}
    result = (await api.admin(DEFINE, {"input": input}))["fieldDefinitionCreate"]
    assert result["errors"] == [], result["errors"]
    return str(result["fieldDefinition"]["id"])


async def _every_type(api: Api) -> None:
    await _define(api, "material", "STRING", required=True)
    await _define(api, "pieces", "INTEGER")
    await _define(api, "rating", "FLOAT")
    await _define(api, "organic", "BOOLEAN")
    await _define(api, "launch", "DATE")
    await _define(api, "fit", "CHOICE", choices=["slim", "regular"])


GOOD = {
    "material": "cotton",
    "pieces": 2,
    "rating": 4.5,
    "organic": True,
    "launch": "2024-02-29",
    "fit": "slim",
}


async def test_typed_values_are_stored_and_shown(api: Api) -> None:
    await _every_type(api)
    product = await create_product(api, "CF-1", customFields=GOOD)
    assert product["customFields"] == GOOD
    shop = await api.storefront('{ product(sku: "CF-1") { customFields } }')
    assert shop["product"]["customFields"] == GOOD
    whole_number = await create_product(api, "CF-2", customFields={**GOOD, "rating": 4})
    assert whole_number["customFields"]["rating"] == 4  # a FLOAT takes any number


async def test_every_wrong_value_names_its_key(api: Api) -> None:
    await _every_type(api)
    bad = {
        "material": 5,
        "pieces": 2.5,
        "rating": "high",
        "organic": "yes",
        "launch": "2023-02-29",
        "fit": "baggy",
        "colour": "red",
    }
    result = (await api.admin(PRODUCT_CREATE, {"input": product_input("X", customFields=bad)}))[
        "productCreate"
    ]
    assert result["product"] is None
    assert errors_of(result) == {("INVALID", ("input", "customFields", key)) for key in bad}
    messages = " ".join(e["message"] for e in result["errors"])
    for key in bad:
        assert repr(key) in messages


NEAR_MISSES = [
    ("pieces", True),  # a boolean is not an integer
    ("rating", False),
    ("launch", "29/02/2024"),
    ("launch", 20240229),
    ("material", ["a"]),
    ("fit", {"slim": True}),
]


async def test_near_misses_are_invalid(api: Api) -> None:
    await _every_type(api)
    for key, value in NEAR_MISSES:
        values = {**GOOD, key: value}
        input = product_input("X", customFields=values)
        result = (await api.admin(PRODUCT_CREATE, {"input": input}))["productCreate"]
        assert errors_of(result) == {("INVALID", ("input", "customFields", key))}, value


async def test_required_fields_on_create_and_update(api: Api) -> None:
    await _every_type(api)
    missing = (await api.admin(PRODUCT_CREATE, {"input": product_input("X")}))["productCreate"]
    assert errors_of(missing) == {("REQUIRED", ("input", "customFields", "material"))}
    product = await create_product(api, "CF-1", customFields={"material": "wool", "pieces": 1})

    merged = (
        await api.admin(
            PRODUCT_UPDATE, {"id": product["id"], "input": {"customFields": {"pieces": 3}}}
        )
    )["productUpdate"]
    assert merged["product"]["customFields"] == {"material": "wool", "pieces": 3}
    cleared = (
        await api.admin(
            PRODUCT_UPDATE, {"id": product["id"], "input": {"customFields": {"pieces": None}}}
        )
    )["productUpdate"]
    assert cleared["product"]["customFields"] == {"material": "wool"}
    removed = (
        await api.admin(
            PRODUCT_UPDATE, {"id": product["id"], "input": {"customFields": {"material": None}}}
        )
    )["productUpdate"]
    assert errors_of(removed) == {("REQUIRED", ("input", "customFields", "material"))}
    not_object = (
        await api.admin(PRODUCT_UPDATE, {"id": product["id"], "input": {"customFields": [1]}})
    )["productUpdate"]
    assert errors_of(not_object) == {("INVALID", ("input", "customFields"))}


async def test_definition_validation(api: Api) -> None:
    await _define(api, "material", "STRING")
    cases = [
        ({}, {("REQUIRED", ("input", f)) for f in ("entity", "type", "slug", "name")}),
        (
            {"entity": "ORDER", "slug": "Gift Note", "name": "Gift", "type": "STRING"},
            {("INVALID", ("input", "slug"))},
        ),
        (
            {"entity": "PRODUCT", "slug": "fit", "name": "Fit", "type": "CHOICE"},
            {("REQUIRED", ("input", "choices"))},
        ),
        (
            {
                "entity": "PRODUCT",
                "slug": "fit",
                "name": "Fit",
                "type": "CHOICE",
                "choices": ["a", "a"],
            },
            {("INVALID", ("input", "choices"))},
        ),
        (
            {"entity": "PRODUCT", "slug": "size", "name": "S", "type": "STRING", "choices": ["a"]},
            {("INVALID", ("input", "choices"))},
        ),
        (
            {"entity": "PRODUCT", "slug": "material", "name": "Again", "type": "STRING"},
            {("DUPLICATE", ("input", "slug"))},
        ),
    ]
    for input, expected in cases:
        result = (await api.admin(DEFINE, {"input": input}))["fieldDefinitionCreate"]
        assert errors_of(result) == expected, input
    other_entity = {"entity": "CUSTOMER", "slug": "material", "name": "M", "type": "STRING"}
    assert (await api.admin(DEFINE, {"input": other_entity}))["fieldDefinitionCreate"][
        "errors"
    ] == []
    misspelt = await api.gql(DEFINE, {"input": {**other_entity, "type": "TEXT"}})
    assert "TEXT" in misspelt["errors"][0]["message"]


async def test_update_and_delete_definitions(api: Api) -> None:
    fit = await _define(api, "fit", "CHOICE", choices=["slim"])
    changed = (
        await api.admin(
            UPDATE,
            {"id": fit, "input": {"name": "Cut", "required": True, "choices": ["slim", "loose"]}},
        )
    )["fieldDefinitionUpdate"]
    assert changed == {
        "fieldDefinition": {"name": "Cut", "required": True, "choices": ["slim", "loose"]},
        "errors": [],
    }
    fixed = await api.admin(UPDATE, {"id": fit, "input": {"type": "STRING", "slug": "cut"}})
    assert errors_of(fixed["fieldDefinitionUpdate"]) == {
        ("INVALID", ("input", "type")),
        ("INVALID", ("input", "slug")),
    }
    product = await create_product(api, "CF", customFields={"fit": "loose"})

    listed = await api.storefront("{ fieldDefinitions(entity: PRODUCT) { slug required } }")
    assert listed["fieldDefinitions"] == [{"slug": "fit", "required": True}]
    deleted = (await api.admin(DELETE, {"id": fit}))["fieldDefinitionDelete"]
    assert deleted == {"fieldDefinition": {"slug": "fit"}, "errors": []}
    shown = await api.admin(
        "query($id: ID!) { product(id: $id) { customFields } }", {"id": product["id"]}
    )
    assert shown["product"]["customFields"] == {}  # values of a deleted field vanish
    assert errors_of((await api.admin(DELETE, {"id": fit}))["fieldDefinitionDelete"]) == {
        ("NOT_FOUND", ("id",))
    }
    body = await api.gql(DELETE, {"id": fit}, as_="storefront")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_validate_custom_fields_for_other_entities(api: Api, db: Database) -> None:
    await api.admin(
        DEFINE,
        {
            "input": {
                "entity": "ORDER",
                "slug": "gift",
                "name": "Gift",
                "type": "BOOLEAN",
                "required": True,
            }
        },
    )
    async with db.reader() as session:
        assert await validate_custom_fields(session, "ORDER", {"gift": True}) == {"gift": True}
        assert await validate_custom_fields(session, "CUSTOMER", None) == {}
        merged = await validate_custom_fields(session, "ORDER", {}, existing={"gift": False})
        assert merged == {"gift": False}
        with pytest.raises(DomainError) as missing:
            await validate_custom_fields(session, "ORDER", None)
        assert (missing.value.code.value, missing.value.field) == (
            "REQUIRED",
            ["input", "customFields", "gift"],
        )
        with pytest.raises(DomainErrors) as many:
            await validate_custom_fields(session, "ORDER", {"gift": 1, "note": "x"})
        assert {tuple(e.field or ()) for e in many.value.errors} == {
            ("input", "customFields", "gift"),
            ("input", "customFields", "note"),
        }
