"""Acceptance: the contract's names and role boundaries, checked over the whole schema.

Every name API.md fixes (operations, arguments, fields, enum values, payload shapes) is read
back by introspection with its nullability; every root field is called by every role
(storefront, storefront with a customer token, admin) to check the table of API.md section 2;
bad input gets a UserError or a validation error and changes nothing; the transport routes
behave as section 1 says.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from domain import delivery
from models.engine import Database
from tests.acceptance_helpers import (
    ADDRESS,
    ERRORS,
    STOCK_LEDGER,
    Shop,
    codes,
    error_codes,
)
from tests.conftest import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, Api, Template, running_server

INTROSPECTION = """
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
query {
  __schema {
    queryType { name } mutationType { name }
    types {
      kind name interfaces { name }
      fields { name type { ...T } args { name type { ...T } defaultValue } }
      inputFields { name type { ...T } defaultValue }
      enumValues { name }
    }
  }
}"""

# Contract names per type (API.md 3-9), some with their type: `T!` must be non-null, `T?`
# nullable (the contract shows it optional, or it is null for some roles), `T` either.
CONTRACT_FIELDS: dict[str, str] = {
    "Money": "amount:Int! currency:String! formatted:String!",
    "DisplayPrice": "withTax:Money! withoutTax:Money! tax:Money!",
    "UserError": "code:ErrorCode! message:String! field:[String!]?",
    "PageInfo": "hasNextPage hasPreviousPage startCursor endCursor",
    "ProductConnection": "edges pageInfo totalCount",
    "ProductEdge": "cursor node",
    "Product": "id sku slug name description status price:DisplayPrice! salePrice:DisplayPrice? "
    "taxBand categories brand collections images weight requiresShipping manageStock "
    "stockStatus stock:Stock? variations parent children customFields:JSON createdAt updatedAt",
    "Image": "url alt",
    "Category": "id name slug description parent children position products",
    "Brand": "id name slug description status products",
    "Collection": "id name slug description status products",
    "TaxBand": "id name rate:Decimal",
    "Currency": "code name exchangeRate format decimalPlaces decimalPoint thousandSeparator "
    "enabled default",
    "ShippingMethod": "id name slug carrier description price:DisplayPrice! minSubtotal:Int? "
    "maxSubtotal:Int? minWeight:Int? maxWeight:Int? taxBand enabled",
    "Address": "firstName lastName companyName phoneNumber line1 line2 city county region "
    "postcode country instructions",
    "Cart": "reference items itemCount subtotal:DisplayPrice! weight requiresShipping currency "
    "shippingMethods gateways createdAt updatedAt expiresAt",
    "CartItem": "id product sku name quantity unitPrice:DisplayPrice! linePrice:DisplayPrice!",
    "Order": "id number:Int! status payment shipping customer billingAddress shippingAddress "
    "items shippingMethod totals currency exchangeRate transactions customFields events "
    "createdAt updatedAt",
    "OrderCustomer": "id name email",
    "OrderItem": "id product sku name quantity unitPrice linePrice",
    "OrderTotals": "subtotal shipping tax total:Money!",
    "OrderEvent": "at type message",
    "Me": "customer orders addresses",
    "Gateway": "slug name enabled",
    "Transaction": "id gateway method status amount:Money reference card errorMessage createdAt",
    "PaymentCard": "brand last4",
    "Stock": "total available allocated",
    "StockTransaction": "id action quantity orderId createdAt",
    # payloads: XPayload { <object in camelCase> errors }
    "ProductPayload": "product errors:[UserError!]!",
    "VariationPayload": "variation errors:[UserError!]!",
    "VariationOptionPayload": "variationOption errors:[UserError!]!",
    "CheckoutPayload": "order errors:[UserError!]!",
    "CustomerTokenPayload": "token expiresAt customer errors:[UserError!]!",
    "CustomerPayload": "customer errors:[UserError!]!",
    "CartPayload": "cart errors:[UserError!]!",
    "OrderPayload": "order errors:[UserError!]!",
    "OrderPayPayload": "order transaction errors:[UserError!]!",
    "TransactionPayload": "order transaction errors:[UserError!]!",
    "StockTransactionPayload": "stock transaction errors:[UserError!]!",
    "ShippingMethodPayload": "shippingMethod errors:[UserError!]!",
    "TaxBandPayload": "taxBand errors:[UserError!]!",
    "CurrencyPayload": "currency errors:[UserError!]!",
    "CategoryPayload": "category errors:[UserError!]!",
    "BrandPayload": "brand errors:[UserError!]!",
    "CollectionPayload": "collection errors:[UserError!]!",
    "FieldDefinitionPayload": "fieldDefinition errors:[UserError!]!",
    "GatewayPayload": "gateway errors:[UserError!]!",
}
CONTRACT_INPUTS: dict[str, str] = {
    "ProductInput": "sku slug name description status price salePrice taxBandId categoryIds "
    "brandId collectionIds images weight requiresShipping manageStock stock customFields",
    "CategoryInput": "name slug description parentId position",
    "CategoryMoveInput": "id parentId position",
    "VariationInput": "name",
    "VariationOptionInput": "name description priceChange:Int skuSuffix slugSuffix",
    "FieldDefinitionInput": "entity slug name type required choices",
    "ShippingMethodInput": "name slug carrier description price minSubtotal maxSubtotal "
    "minWeight maxWeight taxBandId enabled",
    "AddressInput": "firstName lastName companyName phoneNumber line1 line2 city county region "
    "postcode country instructions",
    "CustomerRegisterInput": "email password name",
    "CustomerFilter": "search",
    "CartCustomItemInput": "sku name price quantity taxBandId",
    "CheckoutInput": "customerId customer billingAddress shippingAddress shippingMethodId "
    "customFields",
    "OrderCustomerInput": "email name",
    "OrderUpdateInput": "shippingAddress billingAddress customFields",
    "OrderFilter": "status payment shipping customerEmail createdAfter createdBefore search",
    "OrderCreateInput": "customerId customer items:[OrderItemInput!]! billingAddress "
    "shippingAddress shippingMethodId",
    "OrderItemInput": "productId quantity sku name price taxBandId",
    "GatewayInput": "enabled name",
    "OrderPayInput": "gateway method card idempotencyKey",
    "CardInput": "number expMonth expYear cvc",
    "StockTransactionInput": "action quantity",
    "ProductFilter": "search categorySlug brandSlug collectionSlug status priceMin priceMax "
    "inStock",
    "ProductSort": "field direction",
}
CONTRACT_ENUMS: dict[str, str] = {
    "ProductStatus": "LIVE DRAFT",
    "StockStatus": "IN_STOCK LOW_STOCK OUT_OF_STOCK",
    "ProductSortField": "NAME PRICE CREATED_AT UPDATED_AT",
    "SortDirection": "ASC DESC",
    "CustomFieldEntity": "PRODUCT ORDER CUSTOMER",
    "CustomFieldType": "STRING INTEGER FLOAT BOOLEAN DATE CHOICE",
    "OrderStatus": "INCOMPLETE COMPLETE CANCELLED",
    "OrderPaymentStatus": "UNPAID AUTHORIZED PAID PARTIALLY_REFUNDED REFUNDED",
    "OrderShippingStatus": "UNFULFILLED FULFILLED",
    "PaymentMethod": "PURCHASE AUTHORIZE",
    "TransactionMethod": "PURCHASE AUTHORIZE CAPTURE REFUND CANCEL",
    "TransactionStatus": "SUCCEEDED FAILED",
    "StockAction": "INCREMENT DECREMENT ALLOCATE DEALLOCATE",
    "ErrorCode": "INVALID REQUIRED NOT_FOUND DUPLICATE INSUFFICIENT_STOCK PRODUCT_UNAVAILABLE "
    "CART_EMPTY SHIPPING_METHOD_REQUIRED SHIPPING_METHOD_NOT_ELIGIBLE INVALID_TRANSITION "
    "PAYMENT_DECLINED GATEWAY_DISABLED UNSUPPORTED_GATEWAY_OPERATION IDEMPOTENCY_KEY_REUSED "
    "INVALID_CREDENTIALS FORBIDDEN",
}
# Root fields and their arguments (API.md 4-9).
CONTRACT_QUERIES = {
    "node": "id",
    "products": "first after last before filter sortBy",
    "product": "id slug sku",
    "categories": "parentId",
    "category": "id slug",
    "brands": "",
    "collections": "",
    "taxBands": "",
    "currencies": "",
    "shippingMethods": "",
    "fieldDefinitions": "",
    "customers": "first after filter",
    "cart": "reference",
    "order": "id",
    "orders": "first after filter sortBy",
    "me": "",
    "gateways": "",
    "stockTransactions": "productId first after",
}
CONTRACT_MUTATIONS = {
    "productCreate": "input",
    "productUpdate": "id input",
    "productDelete": "id",
    "productVariationCreate": "productId input",
    "variationOptionCreate": "variationId input",
    "productChildrenBuild": "productId",
    "categoryCreate": "input",
    "categoryUpdate": "id input",
    "categoryDelete": "id",
    "categoriesReorder": "input",
    "brandCreate": "input",
    "brandUpdate": "id input",
    "brandDelete": "id",
    "collectionCreate": "input",
    "collectionUpdate": "id input",
    "collectionDelete": "id",
    "taxBandCreate": "input",
    "taxBandUpdate": "id input",
    "taxBandDelete": "id",
    "currencyCreate": "input",
    "currencyUpdate": "id input",
    "currencyDelete": "id",
    "fieldDefinitionCreate": "input",
    "shippingMethodCreate": "input",
    "shippingMethodUpdate": "id input",
    "shippingMethodDelete": "id",
    "customerRegister": "input",
    "customerTokenCreate": "email password",
    "customerAddressCreate": "input",
    "customerAddressUpdate": "id input",
    "customerAddressDelete": "id",
    "cartItemAdd": "reference productId quantity",
    "cartCustomItemAdd": "reference input",
    "cartItemUpdate": "reference itemId quantity",
    "cartItemRemove": "reference itemId",
    "cartDelete": "reference",
    "cartCheckout": "reference input",
    "orderCreate": "input",
    "orderUpdate": "id input",
    "orderCancel": "id",
    "orderFulfill": "id",
    "gatewayUpdate": "slug input",
    "orderPay": "orderId input",
    "transactionCapture": "orderId transactionId",
    "transactionRefund": "orderId transactionId amount",
    "transactionCancel": "orderId transactionId",
    "stockTransactionCreate": "productId input",
}

# Who may call each root field (API.md 2); everything else is admin-only.
ANY_TOKEN = {
    "node", "products", "product", "categories", "category", "brands", "brand", "collections",
    "collection", "taxBands", "taxBand", "currencies", "currency", "shippingMethods",
    "shippingMethod", "fieldDefinitions", "cart", "gateways", "productFacets",
    "customerRegister", "customerTokenCreate", "cartItemAdd", "cartItemUpdate", "cartItemRemove",
    "cartDelete", "cartCheckout", "orderPay", "cartPromotionCodeApply", "cartPromotionCodeRemove",
}  # fmt: skip
CUSTOMER_TOKEN = {
    "me", "order", "customer", "customerTokenDelete", "customerUpdate", "customerAddressCreate",
    "customerAddressUpdate", "customerAddressDelete",
}  # fmt: skip


def _type_name(ref: dict[str, Any]) -> str:
    """An introspected type reference in SDL notation, e.g. `[UserError!]!`."""
    if ref["kind"] == "NON_NULL":
        return _type_name(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{_type_name(ref['ofType'])}]"
    return str(ref["name"])


async def _schema(api: Api) -> dict[str, dict[str, Any]]:
    body = await api.storefront(INTROSPECTION)
    return {t["name"]: t for t in body["__schema"]["types"]}


def _missing(declared: dict[str, str], actual: dict[str, str], owner: str) -> list[str]:
    """Contract entries `name` or `name:Type` that the schema lacks or types differently."""
    problems = []
    for name, expected in declared.items():
        if name not in actual:
            problems.append(f"{owner}.{name} is missing")
        elif expected and not _same_type(expected, actual[name]):
            problems.append(f"{owner}.{name} is {actual[name]}, the contract says {expected}")
    return problems


def _same_type(expected: str, actual: str) -> bool:
    if expected.endswith("?"):
        return actual == expected[:-1]
    return actual == expected if expected.endswith("!") else actual.rstrip("!") == expected


def _entries(spec: str) -> dict[str, str]:
    """`"price:DisplayPrice! name"` -> `{"price": "DisplayPrice!", "name": ""}`."""
    pairs = (entry.partition(":") for entry in spec.split())
    return {name: kind for name, _, kind in pairs}


@pytest.mark.parametrize("backend", ["sqlite"])  # the schema is the same on both
async def test_every_contract_name_exists_with_its_type(api: Api) -> None:
    types = await _schema(api)
    problems: list[str] = []
    for type_name, spec in CONTRACT_FIELDS.items():
        fields = {f["name"]: _type_name(f["type"]) for f in types[type_name]["fields"]}
        problems += _missing(_entries(spec), fields, type_name)
    for type_name, spec in CONTRACT_INPUTS.items():
        fields = {f["name"]: _type_name(f["type"]) for f in types[type_name]["inputFields"]}
        problems += _missing(_entries(spec), fields, type_name)
    for type_name, values in CONTRACT_ENUMS.items():
        actual = {v["name"] for v in types[type_name]["enumValues"]}
        problems += [f"{type_name}.{v} is missing" for v in values.split() if v not in actual]
    for root, operations in (("Query", CONTRACT_QUERIES), ("Mutation", CONTRACT_MUTATIONS)):
        fields = {f["name"]: f for f in types[root]["fields"]}
        for name, args in operations.items():
            if name not in fields:
                problems.append(f"{root}.{name} is missing")
                continue
            have = {a["name"] for a in fields[name]["args"]}
            problems += [f"{root}.{name}({a}) is missing" for a in args.split() if a not in have]
    assert problems == []


async def test_every_object_with_an_id_is_a_node_with_an_opaque_id(api: Api, db: Database) -> None:
    types = await _schema(api)
    with_ids = [
        t for t in types.values()
        if t["kind"] == "OBJECT" and not t["name"].startswith("__")
        and any(f["name"] == "id" for f in t["fields"] or [])
        and t["name"] != "OrderCustomer" and t["name"] != "OrderShippingMethod"
    ]  # fmt: skip
    assert len(with_ids) > 15
    not_nodes = [t["name"] for t in with_ids if {"name": "Node"} not in t["interfaces"]]
    assert not_nodes == []
    ids = await _one_of_each_node(api, db)
    assert {t["name"] for t in with_ids} == set(ids)
    refetch = "query($id: ID!) { node(id: $id) { __typename id } }"
    for type_name, global_id in ids.items():
        assert not global_id.isdigit()
        found = (await api.admin(refetch, {"id": global_id}))["node"]
        assert found == {"__typename": type_name, "id": global_id}, type_name
    # the storefront sees what its role may: a cart line by its id, never an order's line
    for type_name, visible in (("CartItem", True), ("OrderItem", False), ("Order", False)):
        found = (await api.storefront(refetch, {"id": ids[type_name]}))["node"]
        assert (found is not None) == visible, type_name


async def _one_of_each_node(api: Api, db: Database) -> dict[str, str]:
    """The id of one object of every Node type, made through the API (a webhook delivery by
    the delivery worker's fan-out, which a serving process runs by itself)."""
    shop = Shop(api)
    hook = f"""mutation {{ webhookCreate(input: {{url: "https://example.com/hook",
        events: [ORDER_CREATED]}}) {{ webhook {{ id }} {ERRORS} }} }}"""
    webhook = (await api.admin(hook))["webhookCreate"]["webhook"]["id"]
    band = await shop.tax_band("Band", "5")
    ids = {
        "TaxBand": band,
        "Currency": await shop.currency("EUR", "0.9", "€{price}"),
        "Category": await shop.create("categoryCreate", "CategoryInput", {"name": "C"}),
        "Brand": await shop.create("brandCreate", "BrandInput", {"name": "B"}),
        "Collection": await shop.create("collectionCreate", "CollectionInput", {"name": "K"}),
        "ShippingMethod": await shop.shipping_method("post", 100),
        "FieldDefinition": await shop.create(
            "fieldDefinitionCreate",
            "FieldDefinitionInput",
            {"entity": "ORDER", "slug": "note", "name": "Note", "type": "STRING"},
        ),
    }
    tee = ids["Product"] = await shop.stocked("TEE", 1000, 5)
    variation = f"""mutation($id: ID!) {{ productVariationCreate(productId: $id,
        input: {{name: "Size"}}) {{ variation {{ id }} {ERRORS} }} }}"""
    ids["Variation"] = (await api.admin(variation, {"id": tee}))["productVariationCreate"][
        "variation"
    ]["id"]
    option = f"""mutation($id: ID!) {{ variationOptionCreate(variationId: $id,
        input: {{name: "S"}}) {{ variationOption {{ id }} {ERRORS} }} }}"""
    ids["VariationOption"] = (await api.admin(option, {"id": ids["Variation"]}))[
        "variationOptionCreate"
    ]["variationOption"]["id"]
    pen = await shop.product("PEN", 100)
    ids["CartItem"] = (await shop.add("nodes", pen, 1))["cart"]["items"][0]["id"]
    order = await shop.order("paid", [(tee, 1)], shippingMethodId=ids["ShippingMethod"])
    ids["Order"], ids["OrderItem"] = order["id"], order["items"][0]["id"]
    ids["Transaction"] = (await shop.pay(order["id"]))["transaction"]["id"]
    await delivery.fan_out(db)
    sent = f"""{{ webhookDeliveries(webhookId: "{webhook}") {{
        edges {{ node {{ id event {{ id }} }} }} }} }}"""
    [edge] = (await api.admin(sent))["webhookDeliveries"]["edges"]
    ids["Webhook"], ids["WebhookDelivery"] = webhook, edge["node"]["id"]
    ids["Event"] = edge["node"]["event"]["id"]
    ledger = (await api.admin(STOCK_LEDGER, {"productId": tee}))["stockTransactions"]
    ids["StockTransaction"] = ledger["edges"][0]["node"]["id"]
    token = await shop.register("node@example.com", "Node")
    me = await api.storefront("{ me { customer { id } } }", headers={"X-Customer-Token": token})
    ids["Customer"] = me["me"]["customer"]["id"]
    address = f"""mutation($input: AddressInput!, $customerId: ID) {{
        customerAddressCreate(input: $input, customerId: $customerId) {{
          address {{ id }} {ERRORS} }} }}"""
    made = await api.admin(address, {"input": ADDRESS, "customerId": ids["Customer"]})
    ids["CustomerAddress"] = made["customerAddressCreate"]["address"]["id"]
    ids["Promotion"] = await shop.create(
        "promotionCreate", "PromotionInput", {"name": "P", "kind": "FREE_SHIPPING", "code": "N"}
    )
    return ids


DOCS = """
query {
  __schema {
    types {
      name description
      fields { name description args { name description } }
      inputFields { name description }
      enumValues { name description }
    }
  }
}"""


@pytest.mark.parametrize("backend", ["sqlite"])  # the schema is the same on both
async def test_every_name_is_described_for_the_docs_pane(api: Api) -> None:
    types = (await api.storefront(DOCS))["__schema"]["types"]
    undescribed = []
    for t in types:
        if t["name"].startswith("__") or t["name"] in {"String", "Int", "Boolean", "ID", "Float"}:
            continue
        undescribed += [] if t["description"] else [t["name"]]
        for field in [*(t["fields"] or []), *(t["inputFields"] or [])]:
            undescribed += [] if field["description"] else [f"{t['name']}.{field['name']}"]
            undescribed += [
                f"{t['name']}.{field['name']}({a['name']})"
                for a in field.get("args", [])
                if not a["description"]
            ]
        undescribed += [
            f"{t['name']}.{v['name']}" for v in t["enumValues"] or [] if not v["description"]
        ]
    assert undescribed == []


# --- role boundaries (API.md 2) ----------------------------------------------------------

FAKE_ID = "UHJvZHVjdDowMDAwMDAwMDAwMDA0MDAwODAwMDAwMDAwMDAwMDAwMA"  # Product:0000...
SCALARS: dict[str, Any] = {
    "ID": FAKE_ID,
    "String": "x",
    "Int": 1,
    "Boolean": False,
    "Decimal": "1",
    "JSON": {},
    "DateTime": "2030-01-01T00:00:00+00:00",
}


def _value(ref: dict[str, Any], types: dict[str, dict[str, Any]]) -> Any:
    """A well-typed value for an argument or input field (only required fields filled)."""
    if ref["kind"] == "NON_NULL":
        return _value(ref["ofType"], types)
    if ref["kind"] == "LIST":
        return [_value(ref["ofType"], types)]
    named = types[ref["name"]]
    if named["kind"] == "ENUM":
        return named["enumValues"][0]["name"]
    if named["kind"] == "INPUT_OBJECT":
        return {
            f["name"]: _value(f["type"], types)
            for f in named["inputFields"]
            if f["type"]["kind"] == "NON_NULL" and f["defaultValue"] is None
        }
    return SCALARS[ref["name"]]


def _call(root: str, field: dict[str, Any], types: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A document calling one root field with its required arguments, and its variables."""
    required = [
        a for a in field["args"] if a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None
    ]
    declared = ", ".join(f"${a['name']}: {_type_name(a['type'])}" for a in required)
    passed = ", ".join(f"{a['name']}: ${a['name']}" for a in required)
    operation = "mutation" if root == "Mutation" else "query"
    document = f"{operation}{f'({declared})' if declared else ''} {{ "
    document += f"{field['name']}{f'({passed})' if passed else ''} {{ __typename }} }}"
    return document, {a["name"]: _value(a["type"], types) for a in required}


async def _forbidden(api: Api, root: str, field: dict[str, Any], types: Any, **kw: Any) -> bool:
    """Whether calling the field is FORBIDDEN (then its data must be null)."""
    document, variables = _call(root, field, types)
    body = await api.gql(document, variables, **kw)
    assert "errors" not in body or body.get("data") is not None or root == "Query", body
    forbidden = [
        e for e in body.get("errors", []) if e.get("extensions", {}).get("code") == "FORBIDDEN"
    ]
    if forbidden:
        assert body["data"] == {field["name"]: None}, body
    return bool(forbidden)


@pytest.mark.parametrize("backend", ["sqlite"])  # the schema is the same on both
async def test_every_root_field_follows_the_role_table(api: Api) -> None:
    types = await _schema(api)
    customer_token = await Shop(api).register("role@example.com", "Role")
    as_customer = {"as_": "storefront", "headers": {"X-Customer-Token": customer_token}}
    wrong: list[str] = []
    for root in ("Query", "Mutation"):
        for field in types[root]["fields"]:
            name = field["name"]
            if name == "customerTokenDelete":
                continue  # signs the customer out: checked on its own below
            expected = {
                "storefront": name in ANY_TOKEN,
                "customer": name in ANY_TOKEN or name in CUSTOMER_TOKEN,
                "admin": name not in {"me"},
            }
            for role, kw in (
                ("storefront", {"as_": "storefront"}),
                ("customer", as_customer),
                ("admin", {"as_": "admin"}),
            ):
                allowed = not await _forbidden(api, root, field, types, **kw)
                if allowed != expected[role]:
                    wrong.append(f"{name} as {role}: {'allowed' if allowed else 'FORBIDDEN'}")
    assert wrong == []

    sign_out = types["Mutation"]["fields"]
    field = next(f for f in sign_out if f["name"] == "customerTokenDelete")
    assert await _forbidden(api, "Mutation", field, types, as_="storefront")
    assert not await _forbidden(api, "Mutation", field, types, **as_customer)


async def test_admin_only_fields_are_forbidden_and_null_for_others(api: Api) -> None:
    shop = Shop(api)
    await shop.stocked("MUG", 500, 3)
    document = """{ products(first: 5) { edges { node { sku stockStatus
                      stock { total available allocated } } } }
                    gateways { slug settings } }"""
    for role in ("storefront", "customer"):
        kw: dict[str, Any] = {"as_": "storefront"}
        if role == "customer":
            token = await shop.register("fields@example.com", "Fields")
            kw["headers"] = {"X-Customer-Token": token}
        body = await api.gql(document, **kw)
        node = body["data"]["products"]["edges"][0]["node"]
        assert node == {"sku": "MUG", "stockStatus": "LOW_STOCK", "stock": None}
        assert {g["settings"] for g in body["data"]["gateways"]} == {None}
        paths = {(tuple(e["path"][-1:]), e["extensions"]["code"]) for e in body["errors"]}
        assert paths == {(("stock",), "FORBIDDEN"), (("settings",), "FORBIDDEN")}
    admin = await api.admin(document)
    stock = admin["products"]["edges"][0]["node"]["stock"]
    assert stock == {"total": 3, "available": 3, "allocated": 0}


async def test_missing_or_unknown_tokens_get_401(api: Api) -> None:
    for as_ in (None, "not-a-token"):
        for document in (
            "{ currencies { code } }",
            'mutation { cartDelete(reference: "r") { errors { code } } }',
        ):
            response = await api.post(document, as_=as_)
            assert response.status_code == 401
            assert error_codes(response.json()) == ["UNAUTHENTICATED"]


# --- bad input (API.md 3) -----------------------------------------------------------------

DEFINE = f"""mutation($input: FieldDefinitionInput!) {{
  fieldDefinitionCreate(input: $input) {{ fieldDefinition {{ id slug type choices }} {ERRORS} }}
}}"""
PRODUCT_CREATE = f"""mutation($input: ProductInput!) {{
  productCreate(input: $input) {{ product {{ id customFields }} {ERRORS} }} }}"""
REGISTER = f"""mutation($input: CustomerRegisterInput!) {{
  customerRegister(input: $input) {{ customer {{ id }} {ERRORS} }} }}"""


async def test_bad_catalogue_input_is_reported_at_once_and_changes_nothing(api: Api) -> None:
    for definition in (
        {"entity": "PRODUCT", "slug": "fabric", "name": "Fabric", "type": "CHOICE",
         "choices": ["cotton", "wool"]},
        {"entity": "PRODUCT", "slug": "pieces", "name": "Pieces", "type": "INTEGER"},
    ):  # fmt: skip
        created = (await api.admin(DEFINE, {"input": definition}))["fieldDefinitionCreate"]
        assert created["errors"] == []
    bad = {
        "sku": "has spaces",
        "name": "Bad",
        "price": -1,
        "salePrice": -5,
        "weight": -2,
        "taxBandId": "VGF4QmFuZDpub3BlCg",
        "categoryIds": ["nope"],
        "images": [{"url": "ftp://example.com/a.png"}],
        "customFields": {"fabric": "silk", "pieces": 2.5, "unknown": 1},
    }
    refused = (await api.admin(PRODUCT_CREATE, {"input": bad}))["productCreate"]
    assert refused["product"] is None
    assert codes(refused) == {
        ("INVALID", ("input", "sku")),
        ("INVALID", ("input", "price")),
        ("INVALID", ("input", "salePrice")),
        ("INVALID", ("input", "weight")),
        ("NOT_FOUND", ("input", "taxBandId")),
        ("NOT_FOUND", ("input", "categoryIds", "0")),
        ("INVALID", ("input", "images", "0", "url")),
        ("INVALID", ("input", "customFields", "fabric")),
        ("INVALID", ("input", "customFields", "pieces")),
        ("INVALID", ("input", "customFields", "unknown")),
    }
    missing = await api.admin(PRODUCT_CREATE, {"input": {"description": "no name"}})
    assert codes(missing["productCreate"]) == {
        ("REQUIRED", ("input", "sku")),
        ("REQUIRED", ("input", "name")),
        ("REQUIRED", ("input", "price")),
    }
    good = {"sku": "OK", "name": "Ok", "price": 100, "customFields": {"fabric": "wool"}}
    made = (await api.admin(PRODUCT_CREATE, {"input": good}))["productCreate"]
    assert made["errors"] == [] and made["product"]["customFields"] == {"fabric": "wool"}
    duplicate = await api.admin(PRODUCT_CREATE, {"input": {**good, "slug": "ok"}})
    assert codes(duplicate["productCreate"]) == {
        ("DUPLICATE", ("input", "sku")),
        ("DUPLICATE", ("input", "slug")),
    }
    count = await api.admin("{ products(first: 5) { totalCount } }")
    assert count["products"]["totalCount"] == 1

    for document, variables in [
        (PRODUCT_CREATE, {"input": {**good, "sku": "X", "status": "LIVEE"}}),
        (PRODUCT_CREATE, {"input": {**good, "sku": "X", "prise": 100}}),
        (DEFINE, {"input": {"entity": "PRODUCTS", "slug": "s", "name": "S", "type": "STRING"}}),
        (PRODUCT_CREATE, {"input": {**good, "sku": "X", "price": "100"}}),
        (PRODUCT_CREATE, {"input": {**good, "sku": "X", "price": 1.5}}),
    ]:
        body = await api.gql(document, variables)
        assert body.get("data") is None and body["errors"], variables
    assert (await api.admin("{ products(first: 5) { totalCount } }")) == count

    unknown = f"""mutation($id: ID!) {{
      productUpdate(id: $id, input: {{name: "X"}}) {{ product {{ id }} {ERRORS} }}
      productDelete(id: $id) {{ product {{ id }} {ERRORS} }}
      categoryUpdate(id: $id, input: {{name: "X"}}) {{ category {{ id }} {ERRORS} }}
      shippingMethodUpdate(id: $id, input: {{name: "X"}}) {{ shippingMethod {{ id }} {ERRORS} }}
      orderCancel(id: $id) {{ order {{ id }} {ERRORS} }}
      orderFulfill(id: $id) {{ order {{ id }} {ERRORS} }}
      productChildrenBuild(productId: $id) {{ product {{ id }} {ERRORS} }}
    }}"""
    for bad_id in ("garbage", "UHJvZHVjdDowMDAwMDAwMDAwMDA0MDAwODAwMDAwMDAwMDAwMDAwMA"):
        payloads = await api.admin(unknown, {"id": bad_id})
        for name, payload in payloads.items():
            assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"], (name, bad_id)


async def test_bad_customer_and_order_input_is_a_user_error(api: Api) -> None:
    shop = Shop(api)
    define = {"entity": "CUSTOMER", "slug": "birthday", "name": "Birthday", "type": "DATE"}
    assert (await api.admin(DEFINE, {"input": define}))["fieldDefinitionCreate"]["errors"] == []
    order_field = {"entity": "ORDER", "slug": "gift", "name": "Gift", "type": "BOOLEAN"}
    assert (await api.admin(DEFINE, {"input": order_field}))["fieldDefinitionCreate"][
        "errors"
    ] == []

    for data, expected in [
        ({"email": "not-an-email", "password": "long enough", "name": "A"},
         {("INVALID", ("input", "email"))}),
        ({"email": "a@example.com", "password": "short", "name": "A"},
         {("INVALID", ("input", "password"))}),
        ({"email": "a@example.com", "password": "long enough", "name": "A",
          "customFields": {"birthday": "2001-02-30"}},
         {("INVALID", ("input", "customFields", "birthday"))}),
    ]:  # fmt: skip
        refused = (await api.storefront(REGISTER, {"input": data}))["customerRegister"]
        assert (refused["customer"], codes(refused)) == (None, expected)
    await shop.register("Taken@Example.com", "First")
    again = {"email": "taken@example.COM", "password": "long enough", "name": "Second"}
    taken = (await api.storefront(REGISTER, {"input": again}))["customerRegister"]
    assert codes(taken) == {("DUPLICATE", ("input", "email"))}
    customers = await api.admin("{ customers(first: 10) { totalCount } }")
    assert customers["customers"]["totalCount"] == 1

    pen = await shop.product("PEN", 100, requiresShipping=False)
    await shop.add("bad-checkout", pen, 1)
    wrong_type = await shop.checkout("bad-checkout", customFields={"gift": "yes"})
    assert codes(wrong_type) == {("INVALID", ("input", "customFields", "gift"))}
    no_buyer = await shop.checkout("bad-checkout", customer=None)
    assert [e["code"] for e in no_buyer["errors"]] == ["INVALID"]
    ok = await shop.checkout("bad-checkout", customFields={"gift": True}, as_="admin")
    assert ok["errors"] == [] and ok["order"]["customFields"] == {"gift": True}

    order_id = ok["order"]["id"]
    for input, expected in [
        ({"gateway": "card", "method": "PURCHASE"}, ("REQUIRED", "INVALID")),
        ({"gateway": "nope", "method": "PURCHASE"}, ("NOT_FOUND",)),
    ]:
        refused = await shop.pay(order_id, **input, card=None)
        assert refused["errors"] and refused["errors"][0]["code"] in expected
        assert refused["transaction"] is None
    unknown_order = await shop.pay("T3JkZXI6MDAwMDAwMDAwMDAwNDAwMDgwMDAwMDAwMDAwMDAwMDA")
    assert [e["code"] for e in unknown_order["errors"]] == ["NOT_FOUND"]
    misspelt = await api.gql(
        'mutation($id: ID!) { orderPay(orderId: $id, input: {gateway: "card", '
        "method: BUY}) { errors { code } } }",
        {"id": order_id},
        as_="storefront",
    )
    assert misspelt.get("data") is None and "BUY" in misspelt["errors"][0]["message"]
    assert (await shop.admin_order(order_id))["transactions"] == []


async def test_odd_text_and_instants_get_clear_errors_or_sensible_answers(
    api: Api, backend: str
) -> None:
    """Found by fuzzing every argument: a NUL character in the variables (PostgreSQL stores
    none) is refused before anything runs, on both backends; an instant without a UTC offset
    is taken as UTC."""
    create = f"""mutation($input: ProductInput!) {{
        productCreate(input: $input) {{ product {{ id }} {ERRORS} }} }}"""
    nul = {"input": {"sku": "A\x00B", "name": "Nul", "price": 1}}
    refused = await api.post(create, nul)
    assert refused.status_code == 400 and "NUL" in refused.text
    lookup = await api.http.get(
        "/graphql",
        params={
            "query": "query($sku: String) { product(sku: $sku) { id } }",
            "variables": json.dumps({"sku": "A\x00B"}),
        },
        headers={"Authorization": f"Bearer {api.tokens['storefront']}"},
    )
    assert lookup.status_code == 400
    # a NUL written as a GraphQL escape reaches the database: PostgreSQL refuses it (INVALID)
    escaped = await api.gql('{ product(sku: "A\\u0000B") { id } }', as_="storefront")
    assert error_codes(escaped) == (["INVALID"] if backend == "postgres" else [])
    assert (await api.admin("{ products(first: 5) { totalCount } }"))["products"]["totalCount"] == 0

    pen = await Shop(api).product("PEN", 100, requiresShipping=False)
    await Shop(api).order("naive", [(pen, 1)])
    listing = "query($f: OrderFilter) { orders(first: 5, filter: $f) { totalCount } }"
    for filter, count in [
        ({"createdAfter": "2000-01-01T00:00:00"}, 1),
        ({"createdBefore": "2000-01-01T00:00:00"}, 0),
        ({"createdAfter": "2999-01-01T00:00:00+02:00"}, 0),
    ]:
        assert (await api.admin(listing, {"f": filter}))["orders"]["totalCount"] == count


# --- transport (API.md 1) ---------------------------------------------------------------


async def test_transport_routes(api: Api) -> None:
    http: httpx.AsyncClient = api.http
    form = await http.post(
        "/oauth/access_token",
        data={"grant_type": "client_credentials", "client_id": ADMIN_CLIENT_ID,
              "client_secret": ADMIN_CLIENT_SECRET},
    )  # fmt: skip
    token = form.json()
    assert form.status_code == 200 and token["token_type"] == "Bearer"
    assert token["identifier"] == "client_credentials" and token["expires_in"] > 0
    implicit = await http.post(
        "/oauth/access_token", json={"grant_type": "implicit", "client_id": ADMIN_CLIENT_ID}
    )
    assert implicit.json()["identifier"] == "implicit"
    for body, status, error in [
        ({"grant_type": "client_credentials", "client_id": ADMIN_CLIENT_ID,
          "client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "password", "client_id": ADMIN_CLIENT_ID}, 400, "unsupported_grant_type"),
        ({"client_id": ADMIN_CLIENT_ID}, 400, "invalid_request"),
    ]:  # fmt: skip
        refused = await http.post("/oauth/access_token", json=body)
        assert (refused.status_code, refused.json()["error"]) == (status, error)
        assert refused.json()["error_description"]

    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    query = await http.get("/graphql", params={"query": "{ gateways { slug } }"}, headers=bearer)
    assert {g["slug"] for g in query.json()["data"]["gateways"]} == {"card", "manual"}
    mutation = 'mutation { cartDelete(reference: "r") { errors { code } } }'
    refused = await http.get("/graphql", params={"query": mutation}, headers=bearer)
    assert refused.status_code in (400, 405)
    graphiql = await http.get("/graphql", headers={"Accept": "text/html"})
    assert graphiql.status_code == 200 and "graphiql" in graphiql.text.lower()
    health = await http.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


async def test_browsers_on_other_origins_may_call_the_api(api: Api) -> None:
    """A storefront web app on its own origin: CORS preflights pass, and even a 401 is
    readable by the page (tokens travel in headers, so any origin is allowed by default)."""
    origin = {"Origin": "https://shop.example.com"}
    for path in ("/graphql", "/oauth/access_token"):
        preflight = await api.http.options(
            path,
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-currency,"
                "x-customer-token",
            },
        )
        assert preflight.status_code == 200, path
        assert preflight.headers["access-control-allow-origin"] == "*"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "x-currency", "x-customer-token"} <= set(allowed.split(", "))
    refused = await api.post("{ currencies { code } }", as_=None, headers=origin)
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"
    served = await api.post("{ currencies { code } }", as_="storefront", headers=origin)
    assert served.headers["access-control-allow-origin"] == "*"
    assert "x-request-id" in served.headers["access-control-expose-headers"].lower()


async def _ws_query(url: str, query: str, init: dict[str, Any], **connect: Any) -> Any:
    """One query over graphql-transport-ws: its `next` payload, or the close code."""
    protocols = ["graphql-transport-ws"]
    async with websockets.connect(url, subprotocols=protocols, **connect) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        try:
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        return await _ws_operation(ws, "1", query)


async def _ws_operation(ws: Any, id: str, query: str, variables: Any = None) -> Any:
    """Run one operation on an open connection: its `next` payload (then `complete`),
    without `extensions` (the query's cost)."""
    payload = {"query": query, "variables": variables or {}}
    await ws.send(json.dumps({"id": id, "type": "subscribe", "payload": payload}))
    result = json.loads(await ws.recv())
    assert json.loads(await ws.recv()) == {"id": id, "type": "complete"}
    result["payload"].pop("extensions", None)
    return result["payload"]


async def _second_reads_are_fresh(url: str, api: Api, admin: str) -> None:
    """Two queries on one WebSocket connection, with a change between them over HTTP: the
    second sees the change (no DataLoader result outlives its operation)."""
    product = await Shop(api).stocked("MUG", 500, 2)
    query = "query($id: ID!) { product(id: $id) { stock { total } } }"
    init = {"authorization": f"Bearer {admin}"}
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        before = await _ws_operation(ws, "1", query, {"id": product})
        change = {"productId": product, "input": {"action": "INCREMENT", "quantity": 5}}
        await api.admin(
            "mutation($productId: ID!, $input: StockTransactionInput!) { "
            "stockTransactionCreate(productId: $productId, input: $input) { errors { code } } }",
            change,
        )
        after = await _ws_operation(ws, "2", query, {"id": product})
    assert before == {"data": {"product": {"stock": {"total": 2}}}}
    assert after == {"data": {"product": {"stock": {"total": 7}}}}


async def _order_updates_arrive(url: str, api: Api, tokens: list[str]) -> None:
    """`orderUpdated`: the order at once, then each change made over HTTP; FORBIDDEN for a
    storefront without a customer token; an id naming no order ends the stream at once."""
    bell = await Shop(api).product("BELL", 300, requiresShipping=False)
    order = await Shop(api).order("watched", [(bell, 1)])
    watch = "subscription($id: ID!) { orderUpdated(id: $id) { status events { type } } }"
    admin = {"authorization": f"Bearer {tokens[0]}"}
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": admin}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": watch, "variables": {"id": order["id"]}}
        await ws.send(json.dumps({"id": "w", "type": "subscribe", "payload": payload}))
        first = json.loads(await ws.recv())["payload"]["data"]["orderUpdated"]
        assert first == {"status": "INCOMPLETE", "events": [{"type": "created"}]}
        await api.admin(
            "mutation($id: ID!) { orderCancel(id: $id) { errors { code } } }", {"id": order["id"]}
        )
        changed = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert changed["payload"]["data"]["orderUpdated"] == {
            "status": "CANCELLED",
            "events": [{"type": "created"}, {"type": "cancelled"}],
        }
        await ws.send(json.dumps({"id": "w", "type": "complete"}))
        gone = {"query": watch, "variables": {"id": "nothing"}}
        await ws.send(json.dumps({"id": "g", "type": "subscribe", "payload": gone}))
        assert json.loads(await ws.recv()) == {"id": "g", "type": "complete"}
    storefront = {"authorization": f"Bearer {tokens[1]}"}
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": storefront}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": watch, "variables": {"id": order["id"]}}
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        refused = json.loads(await ws.recv())
        assert refused["type"] == "error"  # the protocol's message for a refused operation
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["FORBIDDEN"]


@pytest.mark.slow
async def test_a_new_store_configured_by_the_environment(tmp_path: Path) -> None:
    """A real server on an empty database: migrated on start-up, with the admin client and the
    store currency the environment names; WebSocket clients authenticate as HTTP ones do."""
    env = {
        "STOCKROOM_CLIENT_ID": "env-client",
        "STOCKROOM_CLIENT_SECRET": "env-secret",
        "STOCKROOM_CURRENCY": "gbp",
    }
    async with running_server(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", **env) as server:
        async with httpx.AsyncClient(base_url=server.base) as http:
            grants = [
                {"grant_type": "client_credentials", "client_secret": "env-secret"},
                {"grant_type": "implicit"},
            ]
            tokens = [
                (
                    await http.post("/oauth/access_token", data={**g, "client_id": "env-client"})
                ).json()["access_token"]
                for g in grants
            ]
            api = Api(http, Template("", tokens[0], tokens[1]))
            currencies = await api.storefront("{ currencies { code default } }")
            assert currencies["currencies"] == [{"code": "GBP", "default": True}]
            await Shop(api).product("TEA", 1999)
            price = await api.storefront(
                '{ product(sku: "TEA") { price { withTax { formatted } } } }'
            )
            assert price["product"]["price"]["withTax"]["formatted"] == "£19.99"
            token = await Shop(api).register("socket@example.com", "Socket")

        url = server.base.replace("http://", "ws://") + "/graphql"
        bearer = f"Bearer {tokens[1]}"
        me = "{ me { customer { email } } }"
        expected = {"data": {"me": {"customer": {"email": "socket@example.com"}}}}
        in_payload = {"authorization": bearer, "customerToken": token}
        assert await _ws_query(url, me, in_payload) == expected
        apollo = {"headers": {"Authorization": bearer, "X-Customer-Token": token}}
        assert await _ws_query(url, me, apollo) == expected
        upgrade = {"additional_headers": {"Authorization": bearer, "X-Customer-Token": token}}
        assert await _ws_query(url, me, {}, **upgrade) == expected
        assert await _ws_query(url, me, {}) == 4403
        assert await _ws_query(url, me, {"headers": {"Authorization": "Bearer bad"}}) == 4403
        async with httpx.AsyncClient(base_url=server.base) as http:
            await _second_reads_are_fresh(url, Api(http, Template("", *tokens)), tokens[0])
            await _order_updates_arrive(url, Api(http, Template("", *tokens)), tokens)
