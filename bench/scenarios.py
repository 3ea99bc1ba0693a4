"""The benchmark scenarios, written against the public contract (API.md) over HTTP."""

import asyncio
import time
import uuid
from typing import Any

import httpx

from bench.harness import LoadResult, drive, graphql_call

MONEY = "amount currency formatted"
LISTING = f"""
query Listing($first: Int!) {{
  products(first: $first) {{
    edges {{ cursor node {{
      id name slug sku
      price {{ withTax {{ {MONEY} }} withoutTax {{ {MONEY} }} tax {{ {MONEY} }} }}
      stockStatus
      categories {{ id name slug }}
    }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
PRODUCT_PAGE = f"""
query ProductPage($slug: String!) {{
  product(slug: $slug) {{
    id name description
    price {{ withTax {{ {MONEY} }} withoutTax {{ {MONEY} }} tax {{ {MONEY} }} }}
    stockStatus images {{ url alt }} categories {{ name slug }}
    variations {{ id name options {{ id name priceChange }} }}
    children {{ id sku name price {{ withTax {{ {MONEY} }} }} stockStatus }}
  }}
}}"""
ADD = """mutation($ref: String!, $id: ID!, $q: Int!) {
  cartItemAdd(reference: $ref, productId: $id, quantity: $q) { cart { itemCount } errors { code } }
}"""
CHECKOUT = """mutation($ref: String!, $input: CheckoutInput!) {
  cartCheckout(reference: $ref, input: $input) { order { id } errors { code message } }
}"""
PAY = """mutation($id: ID!, $input: OrderPayInput!) {
  orderPay(orderId: $id, input: $input) { order { payment } errors { code message } }
}"""
ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "line1": "1 Analytical Row",
    "city": "London",
    "postcode": "N1 1AA",
    "country": "GB",
}
CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2099, "cvc": "123"}


class Client:
    """GraphQL calls with one token, raising on any error."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    async def run(self, http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
        response = await http.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]


async def token(base: str, grant: str, client_id: str, secret: str | None = None) -> str:
    data = {"grant_type": grant, "client_id": client_id}
    if secret:
        data["client_secret"] = secret
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{base}/oauth/access_token", data=data)
    response.raise_for_status()
    return str(response.json()["access_token"])


async def listing(base: str, shop_token: str, concurrency: int, total: int) -> LoadResult:
    return await drive(graphql_call(base, shop_token, LISTING, {"first": 20}), concurrency, total)


async def product_page(
    base: str, shop_token: str, slug: str, concurrency: int, total: int
) -> LoadResult:
    return await drive(
        graphql_call(base, shop_token, PRODUCT_PAGE, {"slug": slug}), concurrency, total
    )


async def make_variant_product(admin: Client) -> str:
    """A LIVE product with 2 x 3 options and its 6 children; returns its slug."""
    create = """mutation($input: ProductCreateInput!) { productCreate(input: $input) {
        product { id slug } errors { code message } } }"""
    slug = f"tee-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=60) as http:
        product = (
            await admin.run(
                http,
                create,
                {
                    "input": {
                        "sku": slug.upper(),
                        "slug": slug,
                        "name": "Bench Tee",
                        "price": 2000,
                        "status": "LIVE",
                    }
                },
            )
        )["productCreate"]["product"]
        for variation, options in (("Size", ["S", "M", "L"]), ("Colour", ["Red", "Blue"])):
            made = await admin.run(
                http,
                """mutation($p: ID!, $n: String!) { productVariationCreate(productId: $p,
                   input: {name: $n}) { variation { id } errors { code } } }""",
                {"p": product["id"], "n": variation},
            )
            for option in options:
                await admin.run(
                    http,
                    """mutation($v: ID!, $n: String!) { variationOptionCreate(variationId: $v,
                       input: {name: $n, priceChange: 100, skuSuffix: $n, slugSuffix: $n}) {
                       variationOption { id } errors { code } } }""",
                    {"v": made["productVariationCreate"]["variation"]["id"], "n": option},
                )
        await admin.run(
            http,
            "mutation($p: ID!) { productChildrenBuild(productId: $p) { errors { code } } }",
            {"p": product["id"]},
        )
    return slug


async def shipping_method(admin: Client) -> str:
    async with httpx.AsyncClient() as http:
        data = await admin.run(
            http,
            """mutation($s: String!) { shippingMethodCreate(input: {name: "Post", slug: $s,
               price: 500}) { shippingMethod { id } errors { code } } }""",
            {"s": f"post-{uuid.uuid4().hex[:6]}"},
        )
    return str(data["shippingMethodCreate"]["shippingMethod"]["id"])


async def product_ids(shop: Client, count: int) -> list[str]:
    async with httpx.AsyncClient() as http:
        data = await shop.run(
            http,
            "query($n: Int!) { products(first: $n, filter: {inStock: true}) { edges { node { id } } } }",
            {"n": count},
        )
    return [e["node"]["id"] for e in data["products"]["edges"]]


async def checkout(
    shop: Client, http: httpx.AsyncClient, reference: str, items: list[str], method_id: str
) -> str:
    for product in items:
        await shop.run(http, ADD, {"ref": reference, "id": product, "q": 1})
    data = await shop.run(
        http,
        CHECKOUT,
        {
            "ref": reference,
            "input": {
                "customer": {"email": f"{reference}@example.com", "name": "Bench Buyer"},
                "billingAddress": ADDRESS,
                "shippingMethodId": method_id,
            },
        },
    )
    result = data["cartCheckout"]
    if result["errors"]:
        raise RuntimeError(result["errors"])
    return str(result["order"]["id"])


async def pay(shop: Client, http: httpx.AsyncClient, order_id: str) -> list[dict[str, str]]:
    data = await shop.run(
        http,
        PAY,
        {"id": order_id, "input": {"gateway": "card", "method": "PURCHASE", "card": CARD}},
    )
    return list(data["orderPay"]["errors"])


async def checkout_flows(
    shop: Client, products: list[str], method_id: str, concurrency: int, total: int
) -> LoadResult:
    """Complete flows: cartItemAdd x3, cartCheckout, orderPay (card)."""

    async def flow(http: httpx.AsyncClient) -> None:
        reference = f"bench-{uuid.uuid4().hex}"
        items = [products[hash((reference, k)) % len(products)] for k in range(3)]
        order_id = await checkout(shop, http, reference, list(dict.fromkeys(items)), method_id)
        errors = await pay(shop, http, order_id)
        if errors and errors[0]["code"] != "INSUFFICIENT_STOCK":
            raise RuntimeError(errors)

    return await drive(flow, concurrency, total, warmup=2)


async def contention(
    admin: Client, shop: Client, method_id: str, units: int, buyers: int
) -> dict[str, Any]:
    """`buyers` unpaid orders for one product with `units` in stock all pay at once."""
    slug = f"scarce-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=buyers)) as http:
        created = await admin.run(
            http,
            """mutation($input: ProductCreateInput!) { productCreate(input: $input) {
               product { id } errors { code message } } }""",
            {
                "input": {
                    "sku": slug,
                    "slug": slug,
                    "name": "Scarce",
                    "price": 1000,
                    "status": "LIVE",
                    "manageStock": True,
                    "stock": units,
                }
            },
        )
        product_id = created["productCreate"]["product"]["id"]
        orders = [
            await checkout(shop, http, f"race-{slug}-{i}", [product_id], method_id)
            for i in range(buyers)
        ]
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(pay(shop, http, o) for o in orders))
        settle = time.perf_counter() - started
        stock = (
            await admin.run(
                http,
                "query($id: ID!) { node(id: $id) { ... on Product { stock { total allocated } } } }",
                {"id": product_id},
            )
        )["node"]["stock"]
    paid = sum(1 for errors in outcomes if not errors)
    other = [e for errors in outcomes for e in errors if e["code"] != "INSUFFICIENT_STOCK"]
    return {
        "units": units,
        "buyers": buyers,
        "paid": paid,
        "oversold": max(0, paid - units),
        "other_errors": len(other),
        "allocated": stock["allocated"],
        "settle_seconds": round(settle, 3),
    }
