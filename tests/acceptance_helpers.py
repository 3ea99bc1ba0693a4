"""A small client for the acceptance tests: it plays a shop through the public GraphQL API
only (API.md), with the names of the contract, and asserts each set-up step succeeded."""

from collections.abc import Mapping
from typing import Any

from tests.cart_helpers import (  # noqa: F401 (re-exported for the acceptance tests)
    CART,
    CART_CUSTOM_ITEM_ADD,
    CART_DELETE,
    CART_FIELDS,
    CART_ITEM_ADD,
    CART_ITEM_REMOVE,
    CART_ITEM_UPDATE,
)
from tests.conftest import Api

ERRORS = "errors { code field message }"
MONEY = "{ amount currency formatted }"
PRICE = f"{{ withTax {MONEY} withoutTax {MONEY} tax {MONEY} }}"
STOCK = "stock { total available allocated }"
ADDRESS = {
    "firstName": "Grace",
    "lastName": "Hopper",
    "line1": "1 Navy Yard",
    "city": "Arlington",
    "postcode": "22202",
    "country": "us",
}

ORDER_FIELDS = f"""
  id number status payment shipping currency exchangeRate customFields createdAt updatedAt
  customer {{ id name email }}
  billingAddress {{ firstName lastName companyName phoneNumber line1 line2 city county region
                   postcode country instructions }}
  shippingAddress {{ firstName lastName line1 city postcode country }}
  items {{ id product {{ id }} sku name quantity unitPrice {PRICE} linePrice {PRICE} }}
  shippingMethod {{ id name carrier price {PRICE} }}
  totals {{ subtotal {MONEY} shipping {MONEY} tax {MONEY} total {MONEY} }}
  transactions {{ id gateway method status amount {MONEY} reference card {{ brand last4 }}
                 errorMessage createdAt }}
  events {{ at type message }}
"""
TRANSACTION_FIELDS = (
    f"id gateway method status amount {MONEY} reference card {{ brand last4 }} errorMessage"
)

CHECKOUT = f"""
mutation($reference: String!, $input: CheckoutInput!) {{
  cartCheckout(reference: $reference, input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
ORDER_PAY = f"""
mutation($orderId: ID!, $input: OrderPayInput!) {{
  orderPay(orderId: $orderId, input: $input) {{
    order {{ id status payment shipping }} transaction {{ {TRANSACTION_FIELDS} }} {ERRORS}
  }}
}}"""
TRANSACTION_CAPTURE = f"""
mutation($orderId: ID!, $transactionId: ID!) {{
  transactionCapture(orderId: $orderId, transactionId: $transactionId) {{
    order {{ id status payment shipping }} transaction {{ {TRANSACTION_FIELDS} }} {ERRORS}
  }}
}}"""
TRANSACTION_REFUND = f"""
mutation($orderId: ID!, $transactionId: ID!, $amount: Int) {{
  transactionRefund(orderId: $orderId, transactionId: $transactionId, amount: $amount) {{
    order {{ id status payment shipping }} transaction {{ {TRANSACTION_FIELDS} }} {ERRORS}
  }}
}}"""
TRANSACTION_CANCEL = f"""
mutation($orderId: ID!, $transactionId: ID!) {{
  transactionCancel(orderId: $orderId, transactionId: $transactionId) {{
    order {{ id status payment shipping }} transaction {{ {TRANSACTION_FIELDS} }} {ERRORS}
  }}
}}"""
ORDER_FULFILL = f"""
mutation($id: ID!) {{ orderFulfill(id: $id) {{ order {{ id status payment shipping }} {ERRORS} }} }}"""
ORDER_CANCEL = f"""
mutation($id: ID!) {{ orderCancel(id: $id) {{ order {{ id status payment shipping }} {ERRORS} }} }}"""
PRODUCT_STOCK = f"query($id: ID!) {{ product(id: $id) {{ stockStatus {STOCK} }} }}"
STOCK_LEDGER = """
query($productId: ID!) {
  stockTransactions(productId: $productId, first: 100) {
    totalCount edges { node { id action quantity orderId createdAt } }
  }
}"""

GOOD_CARD = {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2040, "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "number": "4000000000000002"}
NO_FUNDS_CARD = {**GOOD_CARD, "number": "4000000000009995"}


def codes(payload: Mapping[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
    """A payload's errors as {(code, field path)}."""
    return {(e["code"], tuple(e["field"] or ())) for e in payload["errors"]}


def error_codes(body: Mapping[str, Any]) -> list[str]:
    """The `extensions.code` of each top-level GraphQL error of a response body."""
    return [e.get("extensions", {}).get("code", "") for e in body.get("errors", [])]


class Shop:
    """Set-up and inspection steps through the API; each asserts it succeeded."""

    def __init__(self, api: Api) -> None:
        self.api = api

    async def create(self, mutation: str, input_type: str, data: dict[str, Any]) -> Any:
        """`mutation(input: data)` as admin; returns the payload's object (asserts no errors)."""
        document = f"""mutation($input: {input_type}!) {{
            {mutation}(input: $input) {{ obj: {_object_name(input_type)} {{ id }} {ERRORS} }} }}"""
        payload = (await self.api.admin(document, {"input": data}))[mutation]
        assert payload["errors"] == [], payload["errors"]
        return payload["obj"]["id"]

    async def tax_band(self, name: str, rate: str) -> str:
        return str(await self.create("taxBandCreate", "TaxBandInput", {"name": name, "rate": rate}))

    async def currency(self, code: str, rate: str, fmt: str, **fields: Any) -> str:
        data = {"code": code, "name": code, "exchangeRate": rate, "format": fmt, **fields}
        return str(await self.create("currencyCreate", "CurrencyInput", data))

    async def product(self, sku: str, price: int, **fields: Any) -> str:
        """A LIVE product unless `status` says otherwise."""
        data = {"sku": sku, "name": f"Product {sku}", "price": price, "status": "LIVE", **fields}
        return str(await self.create("productCreate", "ProductInput", data))

    async def stocked(self, sku: str, price: int, stock: int, **fields: Any) -> str:
        """A LIVE product with managed stock of `stock` units."""
        return await self.product(sku, price, manageStock=True, stock=stock, **fields)

    async def shipping_method(self, slug: str, price: int, **fields: Any) -> str:
        data = {"name": slug.title(), "slug": slug, "price": price, **fields}
        return str(await self.create("shippingMethodCreate", "ShippingMethodInput", data))

    async def stock(self, product_id: str) -> dict[str, int]:
        """`{total, available, allocated}` as an admin reads them."""
        product = (await self.api.admin(PRODUCT_STOCK, {"id": product_id}))["product"]
        return dict(product["stock"])

    async def ledger(self, product_id: str) -> list[tuple[str, int, bool]]:
        """The product's stock transactions, oldest first: (action, quantity, has an order)."""
        page = (await self.api.admin(STOCK_LEDGER, {"productId": product_id}))["stockTransactions"]
        nodes = [e["node"] for e in page["edges"]]
        assert page["totalCount"] == len(nodes)
        return [(n["action"], n["quantity"], n["orderId"] is not None) for n in reversed(nodes)]

    async def register(self, email: str, name: str, password: str = "s3cret-pass") -> str:
        """A registered customer; returns the customer token (X-Customer-Token)."""
        document = f"""mutation($input: CustomerRegisterInput!) {{
            customerRegister(input: $input) {{ customer {{ id email }} {ERRORS} }} }}"""
        data = {"email": email, "password": password, "name": name}
        registered = (await self.api.storefront(document, {"input": data}))["customerRegister"]
        assert registered["errors"] == [], registered["errors"]
        sign_in = f"""mutation($email: String!, $password: String!) {{
            customerTokenCreate(email: $email, password: $password) {{
              token expiresAt customer {{ id email name }} {ERRORS} }} }}"""
        token = (await self.api.storefront(sign_in, {"email": email, "password": password}))[
            "customerTokenCreate"
        ]
        assert token["errors"] == [] and token["customer"]["email"] == email.lower()
        return str(token["token"])

    async def add(self, reference: str, product_id: str, quantity: int = 1, **kw: Any) -> Any:
        """cartItemAdd (as the storefront unless `as_` says otherwise); the payload."""
        kw.setdefault("as_", "storefront")
        variables = {"reference": reference, "productId": product_id, "quantity": quantity}
        return (await self.api.data(CART_ITEM_ADD, variables, **kw))["cartItemAdd"]

    async def cart(self, reference: str, **kw: Any) -> Any:
        kw.setdefault("as_", "storefront")
        return (await self.api.data(CART, {"reference": reference}, **kw))["cart"]

    async def checkout(self, reference: str, **input: Any) -> Any:
        """cartCheckout as a storefront guest unless `input` says otherwise; the payload.
        `as_` and `headers` go to the request."""
        kw = {"as_": input.pop("as_", "storefront"), "headers": input.pop("headers", None)}
        data = {"customer": {"email": "buyer@example.com", "name": "A Buyer"}}
        data.update({"billingAddress": ADDRESS, **input})
        variables = {"reference": reference, "input": data}
        return (await self.api.data(CHECKOUT, variables, **kw))["cartCheckout"]

    async def order(self, reference: str, lines: list[tuple[str, int]], **input: Any) -> Any:
        """A guest order of `lines` [(product id, quantity)] via a storefront cart."""
        for product_id, quantity in lines:
            added = await self.add(reference, product_id, quantity)
            assert added["errors"] == [], added["errors"]
        placed = await self.checkout(reference, **input)
        assert placed["errors"] == [], placed["errors"]
        return placed["order"]

    async def pay(self, order_id: str, as_: str = "storefront", **input: Any) -> Any:
        """orderPay; by card PURCHASE with the good test card unless `input` says otherwise."""
        data = {"gateway": "card", "method": "PURCHASE", "card": GOOD_CARD, **input}
        variables = {"orderId": order_id, "input": data}
        return (await self.api.data(ORDER_PAY, variables, as_=as_))["orderPay"]

    async def admin_order(self, order_id: str) -> Any:
        return (await self.api.admin(ORDER, {"id": order_id}))["order"]


def _object_name(input_type: str) -> str:
    """`ProductInput` -> `product`: the payload field named after the type (API.md 3)."""
    name = input_type.removesuffix("Input")
    return name[0].lower() + name[1:]
