"""Shipping root mutation fields and their payload types."""

import strawberry

from resolvers import shipping as resolve
from resolvers.ids import decode_id
from schema.base import IsAdmin, StrawberryInfo, UserError, row_result
from schema.shipping.inputs import MethodIdArg, MethodInputArg
from schema.shipping.types import ShippingMethod, _method_data


@strawberry.type(description="The result of a shipping-method change.")
class ShippingMethodPayload:
    shipping_method: ShippingMethod | None = strawberry.field(
        default=None, description="The method (as it was, after a delete)."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


shipping_method_result = row_result(ShippingMethodPayload, "shipping_method", ShippingMethod.of)


@strawberry.type
class ShippingMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a shipping method.")
    async def shipping_method_create(
        self, info: StrawberryInfo, input: MethodInputArg
    ) -> ShippingMethodPayload | None:
        return await shipping_method_result(
            lambda: resolve.create_method(info.context, _method_data(input))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a shipping method.")
    async def shipping_method_update(
        self, info: StrawberryInfo, id: MethodIdArg, input: MethodInputArg
    ) -> ShippingMethodPayload | None:
        return await shipping_method_result(
            lambda: resolve.update_method(
                info.context, decode_id(id, "ShippingMethod"), _method_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a shipping method (orders keep their copy of its name and price).",
    )
    async def shipping_method_delete(
        self, info: StrawberryInfo, id: MethodIdArg
    ) -> ShippingMethodPayload | None:
        return await shipping_method_result(
            lambda: resolve.delete_method(info.context, decode_id(id, "ShippingMethod"))
        )
