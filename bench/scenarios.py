"""The benchmark scenarios, written against the public contract (API.md) over HTTP."""

import asyncio
import hashlib
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.harness import (
    CpuClock,
    FlowDone,
    LoadResult,
    drive,
    get_call,
    graphql_call,
    wrk_drive,
    wrk_get,
)

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
CATEGORY_PAGE = f"""
query CategoryPage($slug: String!, $first: Int!) {{
  category(slug: $slug) {{
    id name description parent {{ name slug }} children {{ id name slug }}
    products(first: $first) {{
      edges {{ cursor node {{
        id name slug sku
        price {{ withTax {{ {MONEY} }} withoutTax {{ {MONEY} }} tax {{ {MONEY} }} }}
        stockStatus
      }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""
"""A category's page: the category, its neighbours and its first 20 products."""
LISTING_FILTERED = LISTING.replace(
    "($first: Int!)", "($first: Int!, $filter: ProductFilter)"
).replace("products(first: $first)", "products(first: $first, filter: $filter)")
"""The same listing with a filter (bench/search.py: with and without a search)."""
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


@dataclass(frozen=True)
class Load:
    """How to measure a read: with wrk for `seconds`, or the Python driver for `requests`."""

    driver: str
    seconds: float
    requests: int
    warmup: int = 20


class Client:
    """GraphQL calls with one token, raising on any error."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    async def run(
        self,
        http: httpx.AsyncClient,
        query: str,
        variables: dict[str, Any],
        tally: list[int] | None = None,
    ) -> Any:
        """The response's data; its SQL statement count (X-SQL-Statements) goes to `tally`."""
        response = await http.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        if tally is not None and "x-sql-statements" in response.headers:
            tally.append(int(response.headers["x-sql-statements"]))
        return body["data"]


async def token(
    base: str,
    grant: str,
    client_id: str,
    secret: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> str:
    """An access token (`http`: a client of its own, e.g. one over an in-process app)."""
    data = {"grant_type": grant, "client_id": client_id}
    if secret:
        data["client_secret"] = secret
    if http is None:
        async with httpx.AsyncClient() as own:
            response = await own.post(f"{base}/oauth/access_token", data=data)
    else:
        response = await http.post(f"{base}/oauth/access_token", data=data)
    response.raise_for_status()
    return str(response.json()["access_token"])


async def read(
    base: str,
    token: str,
    query: str,
    variables: dict[str, Any],
    concurrency: int,
    load: Load,
    cpu: CpuClock | None = None,
) -> LoadResult:
    """One query sent over and over by `concurrency` clients (`cpu`: the server's CPU clock)."""
    if load.driver == "wrk":
        return await wrk_drive(base, token, query, variables, concurrency, load.seconds, cpu=cpu)
    call = graphql_call(base, token, query, variables)
    return await drive(call, concurrency, load.requests, load.warmup, cpu)


async def listing(
    base: str, shop_token: str, concurrency: int, load: Load, cpu: CpuClock | None = None
) -> LoadResult:
    """The storefront's first page of 20 products with prices, stock status and categories."""
    return await read(base, shop_token, LISTING, {"first": 20}, concurrency, load, cpu)


async def persisted_listing(base: str, shop_token: str) -> tuple[str, bytes, list[tuple[str, str]]]:
    """Register the listing as a persisted query; its hash-only GET URL, the answer's bytes
    and the headers it came with (but those uvicorn adds itself: date, server, length; and
    the statement count, which only a benchmark asks for)."""
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": _sha256(LISTING)}}
    variables = json.dumps({"first": 20})
    async with httpx.AsyncClient(timeout=60) as http:
        headers = {"Authorization": f"Bearer {shop_token}"}
        registered = await http.post(
            f"{base}/graphql",
            json={"query": LISTING, "variables": {"first": 20}, "extensions": extensions},
            headers=headers,
        )
        registered.raise_for_status()
        url = f"{base}/graphql?" + urlencode(
            {"variables": variables, "extensions": json.dumps(extensions)}
        )
        answer = await http.get(url, headers=headers)
        answer.raise_for_status()
    own = {"date", "server", "content-length", "x-sql-statements"}
    headers_sent = [(k, v) for k, v in answer.headers.items() if k.lower() not in own]
    return url, answer.content, headers_sent


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def get_url(
    url: str, token: str, concurrency: int, load: Load, cpu: CpuClock | None = None
) -> LoadResult:
    """One GET sent over and over (a persisted query by hash, or the bytes ceiling)."""
    headers = {"Authorization": f"Bearer {token}"}
    if load.driver == "wrk":
        return await wrk_get(url, headers, concurrency, load.seconds, cpu)
    return await drive(get_call(url, headers), concurrency, load.requests, load.warmup, cpu)


async def product_page(
    base: str,
    shop_token: str,
    slug: str,
    concurrency: int,
    load: Load,
    cpu: CpuClock | None = None,
) -> LoadResult:
    """One product by slug with its variations and its children."""
    return await read(base, shop_token, PRODUCT_PAGE, {"slug": slug}, concurrency, load, cpu)


async def category_page(
    base: str,
    shop_token: str,
    slug: str,
    concurrency: int,
    load: Load,
    cpu: CpuClock | None = None,
) -> LoadResult:
    """One category by slug with its first page of products (bench/catalog.py's categories)."""
    variables = {"slug": slug, "first": 20}
    return await read(base, shop_token, CATEGORY_PAGE, variables, concurrency, load, cpu)


async def make_variant_product(admin: Client) -> str:
    """A LIVE product with 2 x 3 options and its 6 children; returns its slug."""
    create = """mutation($input: ProductInput!) { productCreate(input: $input) {
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


async def shipping_method(admin: Client, http: httpx.AsyncClient) -> str:
    data = await admin.run(
        http,
        """mutation($s: String!) { shippingMethodCreate(input: {name: "Post", slug: $s,
           price: 500}) { shippingMethod { id } errors { code } } }""",
        {"s": f"post-{uuid.uuid4().hex[:6]}"},
    )
    return str(data["shippingMethodCreate"]["shippingMethod"]["id"])


async def stocked_products(
    admin: Client, http: httpx.AsyncClient, count: int, units: int
) -> list[str]:
    """`count` LIVE products with `units` each in stock, for the checkout flows (so the flows
    never run out, whatever the generated catalogue's stock)."""
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(count):
        data = await admin.run(
            http,
            """mutation($input: ProductInput!) { productCreate(input: $input) {
               product { id } errors { code message } } }""",
            {
                "input": {
                    "sku": f"FLOW-{tag}-{i}",
                    "name": f"Flow product {i}",
                    "price": 1000 + 100 * i,
                    "status": "LIVE",
                    "manageStock": True,
                    "stock": units,
                    "weight": 200,
                }
            },
        )
        ids.append(data["productCreate"]["product"]["id"])
    return ids


async def checkout(
    shop: Client,
    http: httpx.AsyncClient,
    reference: str,
    items: list[str],
    method_id: str,
    tally: list[int] | None = None,
) -> str:
    for product in items:
        added = await shop.run(http, ADD, {"ref": reference, "id": product, "q": 1}, tally)
        if added["cartItemAdd"]["errors"]:
            raise RuntimeError(added["cartItemAdd"]["errors"])
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
        tally,
    )
    result = data["cartCheckout"]
    if result["errors"]:
        raise RuntimeError(result["errors"])
    return str(result["order"]["id"])


async def pay(
    shop: Client, http: httpx.AsyncClient, order_id: str, tally: list[int] | None = None
) -> list[dict[str, str]]:
    data = await shop.run(
        http,
        PAY,
        {"id": order_id, "input": {"gateway": "card", "method": "PURCHASE", "card": CARD}},
        tally,
    )
    return list(data["orderPay"]["errors"])


async def checkout_flows(
    shop: Client,
    products: list[str],
    method_id: str,
    concurrency: int,
    total: int,
    cpu: CpuClock | None = None,
) -> LoadResult:
    """Complete flows: cartItemAdd x3 (three different products), cartCheckout, orderPay
    (card); a flow's SQL statements are those of its five requests."""

    async def flow(http: httpx.AsyncClient) -> FlowDone:
        reference = f"bench-{uuid.uuid4().hex}"
        items = random.sample(products, 3)
        tally: list[int] = []
        order_id = await checkout(shop, http, reference, items, method_id, tally)
        errors = await pay(shop, http, order_id, tally)
        if errors:
            raise RuntimeError(errors)
        return FlowDone(sum(tally) if len(tally) == 5 else None)

    return await drive(flow, concurrency, total, warmup=2, cpu=cpu)


async def contention(
    admin: Client, shop: Client, method_id: str, units: int, buyers: int
) -> dict[str, Any]:
    """`buyers` unpaid orders for one product with `units` in stock all pay at once."""
    slug = f"scarce-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=buyers)) as http:
        created = await admin.run(
            http,
            """mutation($input: ProductInput!) { productCreate(input: $input) {
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
        "oversold": max(0, paid - units, stock["allocated"] - stock["total"]),
        "other_errors": len(other),
        "allocated": stock["allocated"],
        "settle_seconds": round(settle, 3),
    }
