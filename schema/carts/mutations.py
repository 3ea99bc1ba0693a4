"""Cart root mutation fields and their payload types."""

from typing import Annotated

import strawberry

from domain.carts import MAX_LINE_QUANTITY
from resolvers import carts as resolve
from resolvers.carts import CartView
from schema.base import IsAdmin, StrawberryInfo, UserError, input_data, mutate
from schema.carts.inputs import CustomItemArg, ItemIdArg, NewQuantityArg, ProductIdArg, ReferenceArg
from schema.carts.types import Cart


@strawberry.type(description="The result of a cart mutation.")
class CartPayload:
    cart: Cart | None = strawberry.field(
        default=None, description="The cart after the change (null when it failed)."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


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
        self, info: StrawberryInfo, reference: ReferenceArg, input: CustomItemArg
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
