"""Carts: types, queries and mutations (API.md section 6). Checkout is in `schema.orders`."""

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from domain.carts import MAX_LINE_QUANTITY, PricedLine
from resolvers import carts as resolve
from resolvers import catalog as resolve_catalog
from resolvers.carts import CartView
from schema import payments as payment_types
from schema.base import (
    DisplayPrice,
    IsAdmin,
    Node,
    StrawberryInfo,
    UserError,
    described,
    global_id,
    input_data,
    mutate,
    node_type,
)
from schema.catalog import Product
from schema.shipping import ShippingMethod

REFERENCE_HELP = "The cart's client-chosen name: 1 to 64 of A-Z, a-z, 0-9, _ and -."


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


@node_type("CartItem")
async def _cart_item_node(info: StrawberryInfo, pk: uuid.UUID) -> CartItem | None:
    priced = await resolve.item_view(info.context, pk)
    return CartItem.of(priced) if priced else None


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
    ) -> list[Annotated["Gateway", strawberry.lazy("schema.payments")]]:  # noqa: F821
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
            view=view,
        )


@strawberry.type(description="The result of a cart mutation.")
class CartPayload:
    cart: Cart | None = strawberry.field(
        default=None, description="The cart after the change (null when it failed)."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.input(
    description="A custom (non-catalogue) line, e.g. a fee or a service: it has no stock, no "
    "weight and needs no shipping."
)
class CartCustomItemInput:
    sku: str = strawberry.field(description="Its SKU (up to 120 characters).")
    name: str = strawberry.field(description="Its name (up to 300 characters).")
    price: int = strawberry.field(
        description="Unit price without tax, in minor units of the store currency (0 or more)."
    )
    quantity: int = strawberry.field(
        default=1, description=f"Units, 1 to {MAX_LINE_QUANTITY}; defaults to 1."
    )
    tax_band_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Tax band of the price; none means untaxed."
    )


ReferenceArg = described(str, REFERENCE_HELP)
ItemIdArg = described(strawberry.ID, "The line's id (a CartItem id).")
ProductIdArg = described(strawberry.ID, "The product (a LIVE one, or a variant child).")
CustomItemArg = described(CartCustomItemInput, "The line's SKU, name, price and quantity.")
NewQuantityArg = described(int, f"The new quantity, 0 (removes the line) to {MAX_LINE_QUANTITY}.")


@strawberry.type
class CartQuery:
    @strawberry.field(
        description="A cart by reference. An unknown or expired reference reads as an empty "
        "cart (carts are made on first use)."
    )
    async def cart(self, info: StrawberryInfo, reference: ReferenceArg) -> Cart | None:
        return Cart.of(await resolve.cart_view(info.context, reference))


def _cart(view: CartView) -> dict[str, object]:
    return {"cart": Cart.of(view)}


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Add a LIVE product to a cart (made on first use); adding one already in "
        "the cart raises its quantity. PRODUCT_UNAVAILABLE if it is not for sale, "
        "INSUFFICIENT_STOCK if its available stock does not cover the cart's quantity."
    )
    async def cart_item_add(
        self,
        info: StrawberryInfo,
        reference: ReferenceArg,
        product_id: ProductIdArg,
        quantity: Annotated[
            int, strawberry.argument(description=f"Units to add, 1 to {MAX_LINE_QUANTITY}.")
        ] = 1,
    ) -> CartPayload:
        async def run() -> dict[str, object]:
            return _cart(await resolve.add_item(info.context, reference, product_id, quantity))

        return await mutate(CartPayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Add a custom line with its own price (admin only: a storefront may never "
        "set its own prices). Each call adds a new line.",
    )
    async def cart_custom_item_add(
        self,
        info: StrawberryInfo,
        reference: ReferenceArg,
        input: CustomItemArg,
    ) -> CartPayload | None:
        async def run() -> dict[str, object]:
            view = await resolve.add_custom_item(info.context, reference, input_data(input))
            return _cart(view)

        return await mutate(CartPayload, run)

    @strawberry.mutation(
        description="Set a line's quantity; 0 removes the line. Raising a product's quantity "
        "checks it again like cartItemAdd."
    )
    async def cart_item_update(
        self,
        info: StrawberryInfo,
        reference: ReferenceArg,
        item_id: ItemIdArg,
        quantity: NewQuantityArg,
    ) -> CartPayload:
        async def run() -> dict[str, object]:
            view = await resolve.update_item(info.context, reference, item_id, quantity)
            return _cart(view)

        return await mutate(CartPayload, run)

    @strawberry.mutation(description="Remove a line from a cart.")
    async def cart_item_remove(
        self, info: StrawberryInfo, reference: ReferenceArg, item_id: ItemIdArg
    ) -> CartPayload:
        async def run() -> dict[str, object]:
            return _cart(await resolve.remove_item(info.context, reference, item_id))

        return await mutate(CartPayload, run)

    @strawberry.mutation(
        description="Delete a cart and its lines; the reference then reads as an empty cart."
    )
    async def cart_delete(self, info: StrawberryInfo, reference: ReferenceArg) -> CartPayload:
        async def run() -> dict[str, object]:
            return _cart(await resolve.delete_cart(info.context, reference))

        return await mutate(CartPayload, run)


QUERIES: tuple[type, ...] = (CartQuery,)
MUTATIONS: tuple[type, ...] = (CartMutation,)
