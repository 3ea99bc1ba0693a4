"""productBulkCreate (API.md section 15): all or nothing, productCreate's checks with the
input's index in every error path, admins only, at most 500 inputs, statements batched."""

from typing import Any

import strawberry
from sqlalchemy import event
from sqlalchemy.engine import Engine
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.arguments import convert_argument

from models.engine import Database, StatementCounter
from models.settings import Settings
from schema import build_schema
from schema.base import input_data
from schema.catalog.enums import ProductStatus
from schema.catalog.inputs import ImageInput, ProductInput
from tests.catalog_helpers import (
    PRODUCT_CREATE,
    PRODUCTS,
    create_category,
    create_group,
    errors_of,
    product_input,
)
from tests.conftest import Api

BULK = """mutation($inputs: [ProductInput!]!) { productBulkCreate(inputs: $inputs) {
  products { id sku slug name status stock { total } categories { slug } brand { slug }
             customFields }
  errors { code field message }
} }"""
STOCK_LEDGER = """query($id: ID!) { stockTransactions(productId: $id) {
  edges { node { action quantity } } } }"""


async def _bulk(api: Api, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return (await api.admin(BULK, {"inputs": inputs}))["productBulkCreate"]


async def _count(api: Api) -> int:
    return (await api.admin(PRODUCTS, {"first": 1}))["products"]["totalCount"]


async def test_bulk_creates_every_product_like_product_create(api: Api) -> None:
    lights = await create_category(api, "Lights")
    acme = await create_group(api, "brand", "Acme")
    inputs = [
        product_input("B1", name="Desk Lamp", categoryIds=[lights["id"]], brandId=acme["id"]),
        product_input("B2", name="Desk Lamp", manageStock=True, stock=7),
        product_input("B3", name="Chair", slug="the-chair", status="DRAFT"),
    ]
    result = await _bulk(api, inputs)
    assert result["errors"] == []
    products = result["products"]
    assert [p["sku"] for p in products] == ["B1", "B2", "B3"]
    assert [p["slug"] for p in products] == ["desk-lamp", "desk-lamp-2", "the-chair"]
    assert products[0]["categories"] == [{"slug": "lights"}]
    assert products[0]["brand"] == {"slug": "acme"}
    assert products[1]["stock"] == {"total": 7}
    assert products[2]["status"] == "DRAFT"
    ledger = await api.admin(STOCK_LEDGER, {"id": products[1]["id"]})
    nodes = [e["node"] for e in ledger["stockTransactions"]["edges"]]
    assert nodes == [{"action": "INCREMENT", "quantity": 7}]
    found = await api.storefront(PRODUCTS, {"filter": {"search": "desk lamp"}})
    assert {e["node"]["sku"] for e in found["products"]["edges"]} == {"B1", "B2"}  # indexed


async def test_one_bad_input_creates_nothing_and_every_error_names_its_input(api: Api) -> None:
    await api.admin(PRODUCT_CREATE, {"input": product_input("TAKEN")})
    field = """mutation { fieldDefinitionCreate(input: {entity: PRODUCT, slug: "origin",
        name: "Origin", type: STRING, required: true}) { errors { code } } }"""
    assert (await api.admin(field))["fieldDefinitionCreate"]["errors"] == []
    good = {"customFields": {"origin": "PT"}}
    inputs = [
        product_input("OK-1", **good),
        product_input("TAKEN", **good),  # exists already
        product_input("OK-2", price=-1, **good),
        product_input("DUP", **good),
        product_input("DUP", categoryIds=["Q2F0ZWdvcnk6bm9wZQ=="], **good),  # repeated in batch
        product_input("OK-3", manageStock=False, stock=3),  # and the required field missing
    ]
    result = await _bulk(api, inputs)
    assert result["products"] == []
    assert errors_of(result) == {
        ("DUPLICATE", ("inputs", "1", "sku")),
        ("INVALID", ("inputs", "2", "price")),
        ("DUPLICATE", ("inputs", "4", "sku")),
        ("NOT_FOUND", ("inputs", "4", "categoryIds", "0")),
        ("INVALID", ("inputs", "5", "stock")),
        ("REQUIRED", ("inputs", "5", "customFields", "origin")),
    }
    assert await _count(api) == 1  # only TAKEN, made before


async def test_bulk_is_for_admins_and_at_most_500(api: Api) -> None:
    denied = await api.gql(BULK, {"inputs": [product_input("S1")]}, as_="storefront")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    too_many = await _bulk(api, [product_input(f"M{i}") for i in range(501)])
    assert errors_of(too_many) == {("INVALID", ("inputs",))}
    assert (await _bulk(api, []))["errors"] == []
    assert await _count(api) == 0


async def test_bulk_statements_do_not_grow_with_the_batch(api: Api) -> None:
    lights = await create_category(api, "Lights")

    async def statements(prefix: str, size: int) -> int:
        inputs = [
            product_input(f"{prefix}{i}", categoryIds=[lights["id"]], manageStock=True, stock=1)
            for i in range(size)
        ]
        with StatementCounter() as counter:
            result = await _bulk(api, inputs)
        assert result["errors"] == [] and len(result["products"]) == size
        return counter.count

    small = await statements("S", 2)
    assert await statements("L", 60) <= small + 4  # insertmanyvalues batches, not per product


def test_product_inputs_convert_as_strawberry_converts_them() -> None:
    """schema.base.quick_input (ProductInput, ImageInput): the fields sent, each converted as
    Strawberry's own conversion would (enums, IDs, lists, nested inputs, JSON, nulls), the
    others UNSET; the SDL is the committed one (test_schema_guard)."""
    schema = build_schema(Settings(database_url="sqlite+aiosqlite://"))
    inputs = StrawberryAnnotation(list[ProductInput]).resolve()
    sent = {
        "sku": "L-1",
        "name": "Lamp",
        "status": ProductStatus.LIVE,
        "price": 1000,
        "salePrice": None,
        "categoryIds": ["Q2F0ZWdvcnk6MQ=="],
        "images": [{"url": "https://img.example/1.jpg", "alt": None}],
        "customFields": {"origin": "PT", "tags": [1, 2]},
        "manageStock": True,
        "stock": 5,
    }
    converted = convert_argument(
        [sent, {"sku": "L-2"}],
        inputs,
        schema.schema_converter.scalar_registry,
        schema.config,
    )
    assert isinstance(converted, list)
    first, second = converted
    assert isinstance(first, ProductInput)
    assert isinstance(first.images[0], ImageInput)
    assert input_data(first) == {
        "sku": "L-1",
        "name": "Lamp",
        "status": ProductStatus.LIVE,
        "price": 1000,
        "sale_price": None,
        "category_ids": ["Q2F0ZWdvcnk6MQ=="],
        "images": [{"url": "https://img.example/1.jpg", "alt": None}],
        "custom_fields": {"origin": "PT", "tags": [1, 2]},
        "manage_stock": True,
        "stock": 5,
    }
    assert first.category_ids is not sent["categoryIds"]  # lists are copied, as Strawberry does
    assert input_data(second) == {"sku": "L-2"}
    assert second.description is strawberry.UNSET


async def test_bulk_products_go_in_as_one_insert(api: Api, db: Database) -> None:
    """PostgreSQL: the product rows go in as one multi-row INSERT, not one execution per row:
    statement triggers on product (search_word, migration b8c9d0e1f2a3) then fire once per
    batch (per row they cost about 70 ms per 500 products at 1M). SQLite: executemany."""
    inserts: list[int] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PRODUCT "):
            inserts.append(statement.count("), (") + 1)  # the rows it carries

    event.listen(Engine, "before_cursor_execute", seen)  # (the app's own engines)
    try:
        result = await _bulk(api, [product_input(f"ONE{i}", name=f"Quokka {i}") for i in range(5)])
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert result["errors"] == [] and len(result["products"]) == 5
    assert inserts == [1 if db.is_sqlite else 5]  # (PostgreSQL: one statement of five rows)


async def test_many_inputs_of_one_name_get_the_next_free_numbers(api: Api) -> None:
    """Slugs made from one name across a batch: the first free numbers, past the existing
    ones (looked up by index for as many as the batch needs: domain/catalog.py taken_slugs)."""
    for slug in ("desk-lamp", "desk-lamp-3"):
        await api.admin(PRODUCT_CREATE, {"input": product_input(slug.upper(), slug=slug)})
    inputs = [product_input(f"D{i}", name="Desk Lamp") for i in range(30)]
    result = await _bulk(api, inputs)
    assert result["errors"] == []
    numbers = [2, *range(4, 33)]
    assert [p["slug"] for p in result["products"]] == [f"desk-lamp-{n}" for n in numbers]
