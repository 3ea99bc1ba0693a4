"""Cart object types; Node types also say how `node(id:)` fetches them."""

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from domain.carts import PricedLine
from resolvers import carts as resolve
from resolvers import catalog as resolve_catalog
from resolvers.carts import CartView
from schema.base import DisplayPrice, Node, StrawberryInfo, global_id
from schema.carts.inputs import REFERENCE_HELP
from schema.catalog.types import Product
from schema.payments import types as payment_types
from schema.promotions.types import CartDiscount, cart_discounts
from schema.shipping.types import ShippingMethod


@strawberry.type(description="A line of a cart, priced now in the request currency.")
class CartItem(Node):
    sku: str = strawberry.field(description="The product's SKU (custom lines: their own).")
    name: str = strawberry.field(description="The product's name (custom lines: their own).")
    quantity: int = strawberry.field(description="Units of this line.")
    unit_price: DisplayPrice = strawberry.field(
        description="One unit: the product's current price (its sale price if set), with tax."
    )
    line_price: DisplayPrice = strawberry.field(
        description="The whole line (unit price x quantity), taxed once per line."
    )
    product_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(
        description="The catalogue product; null for a custom line, or one the caller may not "
        "see (e.g. a product that went back to DRAFT: checkout will refuse it)."
    )
    async def product(self, info: StrawberryInfo) -> Product | None:
        if self.product_id is None:
            return None
        row = await resolve_catalog.product(info.context, self.product_id)
        return Product.of(row) if row else None

    @classmethod
    def of(cls, priced: PricedLine) -> "CartItem":
        line = priced.line
        assert line.item_id is not None
        return cls(
            id=global_id("CartItem", line.item_id),
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=DisplayPrice.of(priced.unit),
            line_price=DisplayPrice.of(priced.total),
            product_id=line.product_id,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "CartItem | None":
        """What `node(id:)` answers for this type's ids."""
        priced = await resolve.item_view(info.context, pk)
        return cls.of(priced) if priced else None


@strawberry.type(
    description="A shopping cart, named by a client-chosen reference and made on first use. "
    "Prices are live (the catalogue's prices now) in the request currency (X-Currency). A "
    "cart untouched for 7 days expires and is then empty. A reference never used reads as an "
    "empty cart."
)
class Cart:
    reference: str = strawberry.field(description=REFERENCE_HELP)
    items: list[CartItem] = strawberry.field(description="The lines, oldest first.")
    item_count: int = strawberry.field(description="Units in the cart (sum of quantities).")
    subtotal: DisplayPrice = strawberry.field(
        description="Sum of the lines, with and without tax (shipping not included)."
    )
    weight: int = strawberry.field(description="Grams: each product's weight x quantity.")
    requires_shipping: bool = strawberry.field(
        description="Whether any line needs shipping (checkout then needs a shippingMethodId)."
    )
    currency: str = strawberry.field(description="ISO code of the currency prices show in.")
    created_at: datetime | None = strawberry.field(
        description="When the cart was made; null until its first item."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the cart last changed; null until its first item."
    )
    expires_at: datetime | None = strawberry.field(
        description="When the cart expires unless it changes again (updatedAt + 7 days)."
    )
    promotion_codes: list[str] = strawberry.field(
        description="The promotion codes entered on the cart (cartPromotionCodeApply), whether "
        "or not they apply now (see discounts)."
    )
    discounts: list[CartDiscount] = strawberry.field(
        description="Promotions as they stand now: every one that applies (automatic ones and "
        "entered codes) with what it takes off, then entered codes that do not apply, each "
        "saying why."
    )
    discount: DisplayPrice = strawberry.field(
        description="What the promotions take off in all: without tax, and the tax that goes "
        "with it (tax is taken on each discounted line)."
    )
    total: DisplayPrice = strawberry.field(
        description="subtotal minus discount (shipping is chosen at checkout)."
    )
    view: strawberry.Private[CartView]

    @strawberry.field(
        description="Enabled shipping methods the cart is eligible for (its subtotal without "
        "tax and weight within their bounds), cheapest first."
    )
    async def shipping_methods(self, info: StrawberryInfo) -> list[ShippingMethod]:
        rows = await resolve.eligible_methods(info.context, self.view)
        return [ShippingMethod.of(r) for r in rows]

    @strawberry.field(description="The payment gateways enabled for paying the order.")
    async def gateways(
        self, info: StrawberryInfo
    ) -> list[Annotated["Gateway", strawberry.lazy("schema.payments.types")]]:  # noqa: F821
        return await payment_types.enabled_gateways(info)

    @classmethod
    def of(cls, view: CartView) -> "Cart":
        priced = view.priced
        return cls(
            reference=view.reference,
            items=[CartItem.of(p) for p in priced.lines],
            item_count=priced.item_count,
            subtotal=DisplayPrice.of(priced.subtotal),
            weight=priced.weight,
            requires_shipping=priced.requires_shipping,
            currency=priced.subtotal.with_tax.currency.code,
            created_at=view.cart.created_at if view.cart else None,
            updated_at=view.cart.updated_at if view.cart else None,
            expires_at=view.expires_at,
            promotion_codes=view.promotions.codes,
            discounts=cart_discounts(view.promotions),
            discount=DisplayPrice.of(view.promotions.discounts.discount),
            total=DisplayPrice.of(view.promotions.discounts.total),
            view=view,
        )
