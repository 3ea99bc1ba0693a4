"""Shared documents and creators of the promotion tests, all through the public API."""

from typing import Any

from tests.cart_helpers import ADDRESS, CART_FIELDS, ERRORS, ORDER_FIELDS, PRICE
from tests.conftest import Api

PROMOTION_FIELDS = """id name description code enabled startsAt endsAt kind value minSubtotal
  usageLimit usageCount perCustomerLimit createdAt updatedAt products { id } categories { id }"""
PROMOTION_CREATE = f"""
mutation($input: PromotionInput!) {{
  promotionCreate(input: $input) {{ promotion {{ {PROMOTION_FIELDS} }} {ERRORS} }}
}}"""
PROMOTION_UPDATE = f"""
mutation($id: ID!, $input: PromotionInput!) {{
  promotionUpdate(id: $id, input: $input) {{ promotion {{ {PROMOTION_FIELDS} }} {ERRORS} }}
}}"""
PROMOTION_DELETE = f"""
mutation($id: ID!) {{ promotionDelete(id: $id) {{ promotion {{ id code }} {ERRORS} }} }}"""
PROMOTION = f"query($id: ID!) {{ promotion(id: $id) {{ {PROMOTION_FIELDS} }} }}"
PROMOTIONS = """
query($first: Int, $after: String, $filter: PromotionFilter) {
  promotions(first: $first, after: $after, filter: $filter) {
    totalCount edges { cursor node { id name code enabled } }
    pageInfo { hasNextPage endCursor }
  }
}"""
DISCOUNT_FIELDS = f"""
  promotionCodes
  discounts {{ promotion {{ name code }} amount {PRICE} applies reasonCode reason }}
  discount {PRICE}
  total {PRICE}
"""
PROMO_CART_FIELDS = CART_FIELDS + DISCOUNT_FIELDS
PROMO_CART = (
    f"query($reference: String!) {{ cart(reference: $reference) {{ {PROMO_CART_FIELDS} }} }}"
)
CODE_APPLY = f"""
mutation($reference: String!, $code: String!) {{
  cartPromotionCodeApply(reference: $reference, code: $code) {{
    cart {{ {PROMO_CART_FIELDS} }} {ERRORS}
  }}
}}"""
CODE_REMOVE = f"""
mutation($reference: String!, $code: String!) {{
  cartPromotionCodeRemove(reference: $reference, code: $code) {{
    cart {{ {PROMO_CART_FIELDS} }} {ERRORS}
  }}
}}"""
PROMO_ORDER_FIELDS = (
    ORDER_FIELDS
    + """
  discounts { code name kind amount { amount currency formatted } }
  totals { discount { amount } }
  items { discount { withoutTax { amount } tax { amount } } }
"""
)
PROMO_CHECKOUT = f"""
mutation($reference: String!, $input: CheckoutInput!) {{
  cartCheckout(reference: $reference, input: $input) {{ order {{ {PROMO_ORDER_FIELDS} }} {ERRORS} }}
}}"""
PROMO_ORDER_CREATE = f"""
mutation($input: OrderCreateInput!) {{
  orderCreate(input: $input) {{ order {{ {PROMO_ORDER_FIELDS} }} {ERRORS} }}
}}"""
ORDER_CANCEL = f"""
mutation($id: ID!) {{ orderCancel(id: $id) {{ order {{ id status }} {ERRORS} }} }}"""


async def create_promotion(api: Api, **fields: Any) -> dict[str, Any]:
    """A promotion (admin), asserting success; `fields` are PromotionInput's."""
    fields.setdefault("name", "Promo")
    payload = (await api.admin(PROMOTION_CREATE, {"input": fields}))["promotionCreate"]
    assert payload["errors"] == [], payload["errors"]
    return dict(payload["promotion"])


async def promotion(api: Api, promotion_id: str) -> dict[str, Any]:
    return dict((await api.admin(PROMOTION, {"id": promotion_id}))["promotion"])


async def apply(api: Api, reference: str, code: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("as_", "storefront")
    body = await api.data(CODE_APPLY, {"reference": reference, "code": code}, **kw)
    return dict(body["cartPromotionCodeApply"])


async def remove(api: Api, reference: str, code: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("as_", "storefront")
    body = await api.data(CODE_REMOVE, {"reference": reference, "code": code}, **kw)
    return dict(body["cartPromotionCodeRemove"])


async def cart(api: Api, reference: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("as_", "storefront")
    return dict((await api.data(PROMO_CART, {"reference": reference}, **kw))["cart"])


async def checkout(
    api: Api, reference: str, email: str = "guest@example.com", **input: Any
) -> dict[str, Any]:
    body = {"customer": {"email": email, "name": "Guest"}, "billingAddress": ADDRESS, **input}
    result = await api.data(
        PROMO_CHECKOUT, {"reference": reference, "input": body}, as_="storefront"
    )
    return dict(result["cartCheckout"])


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]
