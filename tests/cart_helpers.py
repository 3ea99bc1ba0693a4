"""Shared helpers of the cart, checkout and order tests: documents and creators that assert
success, all through the public API."""

from typing import Any

from tests.conftest import Api

PRICE = "{ withTax { amount currency formatted } withoutTax { amount currency formatted } tax { amount currency formatted } }"
CART_FIELDS = f"""
  reference itemCount weight requiresShipping currency createdAt updatedAt expiresAt
  subtotal {PRICE}
  items {{ id sku name quantity product {{ id sku }} unitPrice {PRICE} linePrice {PRICE} }}
  shippingMethods {{ id slug }}
  gateways {{ slug name enabled }}
"""
CART = f"query($reference: String!) {{ cart(reference: $reference) {{ {CART_FIELDS} }} }}"
ERRORS = "errors { code field message }"
CART_ITEM_ADD = f"""
mutation($reference: String!, $productId: ID!, $quantity: Int!) {{
  cartItemAdd(reference: $reference, productId: $productId, quantity: $quantity) {{
    cart {{ {CART_FIELDS} }} {ERRORS}
  }}
}}"""
CART_CUSTOM_ITEM_ADD = f"""
mutation($reference: String!, $input: CartCustomItemInput!) {{
  cartCustomItemAdd(reference: $reference, input: $input) {{ cart {{ {CART_FIELDS} }} {ERRORS} }}
}}"""
CART_ITEM_UPDATE = f"""
mutation($reference: String!, $itemId: ID!, $quantity: Int!) {{
  cartItemUpdate(reference: $reference, itemId: $itemId, quantity: $quantity) {{
    cart {{ {CART_FIELDS} }} {ERRORS}
  }}
}}"""
CART_ITEM_REMOVE = f"""
mutation($reference: String!, $itemId: ID!) {{
  cartItemRemove(reference: $reference, itemId: $itemId) {{ cart {{ {CART_FIELDS} }} {ERRORS} }}
}}"""
CART_DELETE = f"""
mutation($reference: String!) {{
  cartDelete(reference: $reference) {{ cart {{ {CART_FIELDS} }} {ERRORS} }}
}}"""

ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
}
ORDER_FIELDS = f"""
  id number status payment shipping currency exchangeRate customFields createdAt updatedAt
  customer {{ id name email }}
  billingAddress {{ firstName lastName line1 city postcode country }}
  shippingAddress {{ firstName lastName line1 city postcode country }}
  items {{ id sku name quantity taxRate product {{ id }} unitPrice {PRICE} linePrice {PRICE} }}
  shippingMethod {{ id name carrier price {PRICE} }}
  totals {{ subtotal {{ amount currency formatted }} shipping {{ amount }} tax {{ amount }}
           total {{ amount }} }}
  events {{ at type message }}
"""
CHECKOUT = f"""
mutation($reference: String!, $input: CheckoutInput!) {{
  cartCheckout(reference: $reference, input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"


async def tax_band(api: Api, rate: str) -> str:
    created = await api.admin(
        "mutation($input: TaxBandInput!) { taxBandCreate(input: $input) { taxBand { id } } }",
        {"input": {"name": f"Band {rate}", "rate": rate}},
    )
    return str(created["taxBandCreate"]["taxBand"]["id"])


async def product(api: Api, sku: str, **fields: Any) -> str:
    """A LIVE product (price 1000, untaxed unless `taxBandId` is given)."""
    body = {"sku": sku, "name": f"Product {sku}", "price": 1000, "status": "LIVE", **fields}
    result = await api.admin(
        "mutation($input: ProductInput!) { productCreate(input: $input) "
        "{ product { id } errors { code field message } } }",
        {"input": body},
    )
    assert result["productCreate"]["errors"] == [], result
    return str(result["productCreate"]["product"]["id"])


async def shipping_method(api: Api, slug: str, price: int, **fields: Any) -> str:
    body = {"name": slug.title(), "slug": slug, "price": price, **fields}
    result = await api.admin(
        "mutation($input: ShippingMethodInput!) { shippingMethodCreate(input: $input) "
        "{ shippingMethod { id } errors { code field message } } }",
        {"input": body},
    )
    assert result["shippingMethodCreate"]["errors"] == [], result
    return str(result["shippingMethodCreate"]["shippingMethod"]["id"])


async def add(
    api: Api, reference: str, product_id: str, quantity: int = 1, **kw: Any
) -> dict[str, Any]:
    """cartItemAdd as the storefront (or `as_`), returning the payload."""
    kw.setdefault("as_", "storefront")
    body = await api.data(
        CART_ITEM_ADD,
        {"reference": reference, "productId": product_id, "quantity": quantity},
        **kw,
    )
    return dict(body["cartItemAdd"])


async def checkout(
    api: Api, reference: str, input: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """cartCheckout as the storefront (or `as_`) with a guest buyer by default."""
    kw.setdefault("as_", "storefront")
    body = {"customer": {"email": "guest@example.com", "name": "Guest"}, "billingAddress": ADDRESS}
    body.update(input or {})
    result = await api.data(CHECKOUT, {"reference": reference, "input": body}, **kw)
    return dict(result["cartCheckout"])


async def register(api: Api, email: str, password: str = "correct horse") -> tuple[str, str]:
    """A registered customer's id and a sign-in token."""
    created = await api.storefront(
        "mutation($input: CustomerRegisterInput!) { customerRegister(input: $input) "
        "{ customer { id } errors { code } } }",
        {"input": {"email": email, "password": password, "name": email.split("@")[0]}},
    )
    customer_id = created["customerRegister"]["customer"]["id"]
    signed_in = await api.storefront(
        "mutation($email: String!, $password: String!) { customerTokenCreate(email: $email, "
        "password: $password) { token errors { code } } }",
        {"email": email, "password": password},
    )
    return str(customer_id), str(signed_in["customerTokenCreate"]["token"])


async def placed_order(
    api: Api, reference: str, product_id: str, quantity: int = 1
) -> dict[str, Any]:
    """A guest order of `quantity` units of an unshipped-able product, via a cart."""
    assert (await add(api, reference, product_id, quantity))["errors"] == []
    result = await checkout(api, reference)
    assert result["errors"] == [], result["errors"]
    return dict(result["order"])
