"""Shipping root query fields."""

import strawberry

from resolvers import shipping as resolve
from resolvers.ids import maybe_decode_id
from schema.base import StrawberryInfo
from schema.shipping.inputs import MethodIdArg
from schema.shipping.types import ShippingMethod


@strawberry.type
class ShippingQuery:
    @strawberry.field(description="Enabled shipping methods, cheapest first (admins: all).")
    async def shipping_methods(self, info: StrawberryInfo) -> list[ShippingMethod]:
        return [ShippingMethod.of(r) for r in await resolve.methods(info.context)]

    @strawberry.field(description="One shipping method by id (disabled ones: admins only).")
    async def shipping_method(self, info: StrawberryInfo, id: MethodIdArg) -> ShippingMethod | None:
        pk = maybe_decode_id(id, "ShippingMethod")
        row = await resolve.visible_method(info.context, pk) if pk else None
        return ShippingMethod.of(row) if row else None
