"""Cart root query fields."""

import strawberry

from resolvers import carts as resolve
from schema.base import StrawberryInfo
from schema.carts.inputs import ReferenceArg
from schema.carts.types import Cart


@strawberry.type
class CartQuery:
    @strawberry.field(
        description="A cart by reference. An unknown or expired reference reads as an empty "
        "cart (carts are made on first use)."
    )
    async def cart(self, info: StrawberryInfo, reference: ReferenceArg) -> Cart | None:
        return Cart.of(await resolve.cart_view(info.context, reference))
