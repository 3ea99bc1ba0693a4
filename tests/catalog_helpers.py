"""Shared helpers of the catalogue tests: GraphQL documents and creators that assert success."""

from typing import Any

from tests.conftest import Api

PRICE = "{ withTax { amount currency formatted } withoutTax { amount } tax { amount } }"
PRODUCT_FIELDS = f"""
  id sku slug name description status weight requiresShipping manageStock stockStatus
  price {PRICE} salePrice {PRICE}
  images {{ url alt }} customFields createdAt updatedAt
  taxBand {{ id name rate }} brand {{ id slug }} categories {{ id slug }} collections {{ id slug }}
"""
PRODUCT_CREATE = f"""
mutation($input: ProductInput!) {{
  productCreate(input: $input) {{ product {{ {PRODUCT_FIELDS} }} errors {{ code field message }} }}
}}"""
PRODUCT_UPDATE = f"""
mutation($id: ID!, $input: ProductInput!) {{
  productUpdate(id: $id, input: $input) {{
    product {{ {PRODUCT_FIELDS} }} errors {{ code field message }}
  }}
}}"""
PRODUCT_DELETE = """
mutation($id: ID!) { productDelete(id: $id) { product { id sku } errors { code field message } } }"""
PRODUCTS = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter,
      $sortBy: ProductSort) {
  products(first: $first, after: $after, last: $last, before: $before, filter: $filter,
           sortBy: $sortBy) {
    totalCount
    edges { cursor node { id sku name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def product_input(sku: str, **fields: Any) -> dict[str, Any]:
    """A valid, LIVE product input; keyword arguments override or add fields."""
    return {"sku": sku, "name": f"Product {sku}", "price": 1000, "status": "LIVE", **fields}


async def create_product(api: Api, sku: str, **fields: Any) -> dict[str, Any]:
    result = (await api.admin(PRODUCT_CREATE, {"input": product_input(sku, **fields)}))[
        "productCreate"
    ]
    assert result["errors"] == [], result["errors"]
    return result["product"]


async def create_tax_band(api: Api, name: str, rate: str) -> str:
    query = """mutation($input: TaxBandInput!) {
        taxBandCreate(input: $input) { taxBand { id } errors { code } } }"""
    result = (await api.admin(query, {"input": {"name": name, "rate": rate}}))["taxBandCreate"]
    assert result["errors"] == []
    return str(result["taxBand"]["id"])


async def create_category(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    query = """mutation($input: CategoryInput!) {
        categoryCreate(input: $input) {
          category { id name slug position parent { id } } errors { code field message } } }"""
    result = (await api.admin(query, {"input": {"name": name, **fields}}))["categoryCreate"]
    assert result["errors"] == [], result["errors"]
    return result["category"]


async def create_group(api: Api, kind: str, name: str, **fields: Any) -> dict[str, Any]:
    """A brand (kind "brand") or a collection (kind "collection")."""
    type_name = kind.capitalize()
    query = f"""mutation($input: {type_name}Input!) {{
        {kind}Create(input: $input) {{ {kind} {{ id slug status }} errors {{ code field }} }} }}"""
    result = (await api.admin(query, {"input": {"name": name, **fields}}))[f"{kind}Create"]
    assert result["errors"] == [], result["errors"]
    return result[kind]


def errors_of(payload: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
    """A payload's errors as {(code, field path)}."""
    return {(e["code"], tuple(e["field"] or ())) for e in payload["errors"]}
