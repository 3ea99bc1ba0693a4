"""`python -m bench.carts`: what a cart, a checkout and a payment cost (issue 11), one server
process per backend on a generated catalogue, over HTTP.

python -m bench.carts                        # SQLite and PostgreSQL
python -m bench.carts --backends sqlite --adds 400 --flows 60

Per backend, side by side in one run: `cartItemAdd` at 1 and 16 clients (mutations/s and the
server's CPU ms per mutation), the whole checkout flow (3 adds, `cartCheckout`, `orderPay` by
card) at 1 and 16 clients, the contention race (many buyers, few units: time to settle, 0
oversold), and the SQL statements of one call of each cart, order and payment mutation (the
server's X-SQL-Statements header). The add measurement's answer is the cart with its lines,
products and prices (`ADD_CART`); each add goes to a cart of at most 3 lines (a new reference
every third add), as in a flow.
"""

import argparse
import asyncio
import itertools
import json
import random
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import scenarios
from bench.__main__ import FLOW_STOCK, clients, drop_database, fresh_database, seeded, stats
from bench.harness import ROOT, CpuClock, LoadResult, drive, running_server

SERVER_ENV = {
    "STOCKROOM_CLIENT_ID": "bench-admin",
    "STOCKROOM_CLIENT_SECRET": "bench-admin-secret",
    "STOCKROOM_SQL_COUNT_HEADER": "1",
}
CONCURRENCY = (1, 16)
TX = "transaction { id } errors { code message }"
ORDER_CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id } errors { code message } } }"""
PAY_AS = """mutation($id: ID!, $input: OrderPayInput!) { orderPay(orderId: $id, input: $input) {
  order { payment } transaction { id } errors { code message } } }"""
FULFILL = "mutation($id: ID!) { orderFulfill(id: $id) { order { shipping } errors { code } } }"
CAPTURE = f"""mutation($o: ID!, $t: ID!) {{ transactionCapture(orderId: $o, transactionId: $t)
  {{ {TX} }} }}"""
REFUND = f"""mutation($o: ID!, $t: ID!) {{ transactionRefund(orderId: $o, transactionId: $t,
  amount: 100) {{ {TX} }} }}"""
CANCEL = f"""mutation($o: ID!, $t: ID!) {{ transactionCancel(orderId: $o, transactionId: $t)
  {{ {TX} }} }}"""
UPDATE = """mutation($ref: String!, $id: ID!, $q: Int!) {
  cartItemUpdate(reference: $ref, itemId: $id, quantity: $q) { cart { itemCount } errors { code } }
}"""
REMOVE = """mutation($ref: String!, $id: ID!) {
  cartItemRemove(reference: $ref, itemId: $id) { cart { itemCount } errors { code } }
}"""
ADD_CART = f"""mutation($ref: String!, $id: ID!, $q: Int!) {{
  cartItemAdd(reference: $ref, productId: $id, quantity: $q) {{ cart {{
    reference itemCount updatedAt
    items {{ id sku name quantity product {{ id name slug }}
      unitPrice {{ withTax {{ {scenarios.MONEY} }} }} linePrice {{ withTax {{ {scenarios.MONEY} }} }} }}
    subtotal {{ withTax {{ {scenarios.MONEY} }} tax {{ amount }} }}
    discount {{ withTax {{ amount }} }} total {{ withTax {{ {scenarios.MONEY} }} }}
  }} errors {{ code message }} }}
}}"""
"""What a storefront shows after adding to the cart: its lines with their products and prices."""
ADD_ITEMS = """mutation($ref: String!, $id: ID!, $q: Int!) {
  cartItemAdd(reference: $ref, productId: $id, quantity: $q) {
    cart { itemCount items { id } } errors { code } } }"""


async def adds(
    shop: scenarios.Client, products: list[str], concurrency: int, total: int, cpu: CpuClock
) -> LoadResult:
    """`cartItemAdd` over and over; every third add starts a new cart."""
    run, counter = uuid.uuid4().hex[:8], itertools.count()

    async def call(http: httpx.AsyncClient) -> httpx.Response:
        reference = f"add-{run}-{next(counter) // 3}"
        variables = {"ref": reference, "id": random.choice(products), "q": 1}
        return await http.post(
            f"{shop.base}/graphql",
            json={"query": ADD_CART, "variables": variables},
            headers={"Authorization": f"Bearer {shop.token}"},
        )

    return await drive(call, concurrency, total, warmup=10, cpu=cpu)


class Counted:
    """Runs calls and keeps the SQL statements each one reported, by name."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.statements: dict[str, int] = {}

    async def run(
        self, name: str, client: scenarios.Client, query: str, variables: dict[str, Any]
    ) -> Any:
        tally: list[int] = []
        data = await client.run(self.http, query, variables, tally)
        (payload,) = data.values()
        if payload.get("errors"):
            raise RuntimeError(f"{name}: {payload['errors']}")
        self.statements[name] = tally[0] if tally else -1
        return payload


async def statements_per_operation(
    admin: scenarios.Client, shop: scenarios.Client, products: list[str], method: str
) -> dict[str, int]:
    """One call of each cart, order and payment mutation, with the statements it ran."""
    async with httpx.AsyncClient(timeout=60) as http:
        c = Counted(http)
        ref = f"ops-{uuid.uuid4().hex[:8]}"
        await c.run(
            "cartItemAdd (new cart)", shop, ADD_ITEMS, {"ref": ref, "id": products[0], "q": 1}
        )
        added = await c.run("cartItemAdd", shop, ADD_ITEMS, {"ref": ref, "id": products[1], "q": 1})
        first, second = (item["id"] for item in added["cart"]["items"])
        await c.run("cartItemUpdate", shop, UPDATE, {"ref": ref, "id": first, "q": 2})
        await c.run("cartItemRemove", shop, REMOVE, {"ref": ref, "id": second})
        order = await _checkout(c, shop, ref, method)
        await c.run("orderPay (card)", shop, PAY_AS, _pay(order, "PURCHASE"))
        await c.run("orderFulfill", admin, FULFILL, {"id": order})
        created = await c.run("orderCreate", admin, ORDER_CREATE, _order_input(products, method))
        order = created["order"]["id"]
        paid = await c.run("orderPay (card, authorize)", admin, PAY_AS, _pay(order, "AUTHORIZE"))
        tx = paid["transaction"]["id"]
        captured = await c.run("transactionCapture", admin, CAPTURE, {"o": order, "t": tx})
        await c.run(
            "transactionRefund", admin, REFUND, {"o": order, "t": captured["transaction"]["id"]}
        )
        created = await c.run("orderCreate", admin, ORDER_CREATE, _order_input(products, method))
        order = created["order"]["id"]
        paid = await c.run("orderPay (card, authorize)", admin, PAY_AS, _pay(order, "AUTHORIZE"))
        await c.run(
            "transactionCancel", admin, CANCEL, {"o": order, "t": paid["transaction"]["id"]}
        )
    return c.statements


async def _checkout(c: Counted, shop: scenarios.Client, ref: str, method: str) -> str:
    variables = {
        "ref": ref,
        "input": {
            "customer": {"email": f"{ref}@example.com", "name": "Bench Buyer"},
            "billingAddress": scenarios.ADDRESS,
            "shippingMethodId": method,
        },
    }
    done = await c.run("cartCheckout", shop, scenarios.CHECKOUT, variables)
    return str(done["order"]["id"])


def _pay(order: str, method: str) -> dict[str, Any]:
    return {"id": order, "input": {"gateway": "card", "method": method, "card": scenarios.CARD}}


def _order_input(products: list[str], method: str) -> dict[str, Any]:
    return {
        "input": {
            "customer": {"email": "desk@example.com", "name": "Desk Buyer"},
            "items": [{"productId": p, "quantity": 1} for p in products[:2]],
            "billingAddress": scenarios.ADDRESS,
            "shippingMethodId": method,
        }
    }


async def run_backend(backend: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    name = f"stockroom_bench_carts_{uuid.uuid4().hex[:8]}"
    url = await fresh_database(backend, name, scratch)
    try:
        await seeded(url, args.size)
        async with running_server(url, workers=1, **SERVER_ENV) as server:
            admin, shop = await clients(server.base)
            async with httpx.AsyncClient(timeout=60) as http:
                method = await scenarios.shipping_method(admin, http)
                products = await scenarios.stocked_products(admin, http, 10, FLOW_STOCK)
            cpu = server.cpu_seconds
            out: dict[str, Any] = {"cart_item_add": {}, "checkout_flow": {}}
            for c in CONCURRENCY:
                out["cart_item_add"][f"c{c}"] = stats(await adds(shop, products, c, args.adds, cpu))
            for c in CONCURRENCY:
                flows = await scenarios.checkout_flows(shop, products, method, c, args.flows, cpu)
                out["checkout_flow"][f"c{c}"] = stats(flows)
            out["contention"] = await scenarios.contention(
                admin, shop, method, args.units, args.buyers
            )
            out["statements"] = await statements_per_operation(admin, shop, products, method)
    finally:
        await drop_database(backend, name)
    return out


def table(results: dict[str, Any]) -> str:
    lines = [
        "| backend | scenario | clients | ops/s | p50 ms | p99 ms | server CPU ms/op | SQL/op |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for backend, data in results["backends"].items():
        for key, label in (("cart_item_add", "cartItemAdd"), ("checkout_flow", "flow")):
            for c in CONCURRENCY:
                s = data[key][f"c{c}"]
                lines.append(
                    f"| {backend} | {label} | {c} | {s['rps']} | {s['p50_ms']} | {s['p99_ms']} | "
                    f"{s['server_cpu_ms']} | {s['sql_statements']} |"
                )
        race = data["contention"]
        lines.append(
            f"| {backend} | race: {race['buyers']} buyers, {race['units']} units | "
            f"{race['buyers']} | settled in {race['settle_seconds']} s | paid {race['paid']} | "
            f"oversold {race['oversold']} | other errors {race['other_errors']} | |"
        )
    names = list(next(iter(results["backends"].values()))["statements"])
    backends = list(results["backends"])
    lines += [
        "",
        "| operation | " + " | ".join(backends) + " |",
        "|---" * (1 + len(backends)) + "|",
    ]
    for op in names:
        counts = [str(results["backends"][b]["statements"].get(op, "")) for b in backends]
        lines.append(f"| {op} | " + " | ".join(counts) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--size", type=int, default=1000, help="generated products")
    parser.add_argument("--adds", type=int, default=300, help="cartItemAdd per measurement")
    parser.add_argument("--flows", type=int, default=60, help="checkout flows per measurement")
    parser.add_argument("--units", type=int, default=20, help="race: units in stock")
    parser.add_argument("--buyers", type=int, default=100, help="race: racing buyers")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "carts.json"))
    args = parser.parse_args()
    args.backends = args.backends.split(",")
    return args


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        return {"backends": {b: await run_backend(b, args, Path(scratch)) for b in args.backends}}


def main() -> None:
    args = parse_args()
    results = asyncio.run(measure(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    problems = [
        f"{backend}: {key} {s}"
        for backend, data in results["backends"].items()
        for key in ("cart_item_add", "checkout_flow")
        for s in data[key].values()
        if s["errors"]
    ]
    race = [d["contention"] for d in results["backends"].values()]
    problems += [f"race {r}" for r in race if r["oversold"] or r["other_errors"]]
    for problem in problems:
        print(f"PROBLEM {problem}")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
