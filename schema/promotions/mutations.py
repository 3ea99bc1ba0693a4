"""Promotion mutations: admin CRUD, and entering or removing a code on a cart."""

from typing import Annotated

import strawberry

from resolvers import promotions as resolve
from schema.base import (
    IsAdmin,
    StrawberryInfo,
    UserError,
    described,
    input_data,
    mutate,
    row_result,
)
from schema.carts.inputs import ReferenceArg
from schema.carts.mutations import CartPayload
from schema.carts.types import Cart
from schema.promotions.inputs import PromotionInput
from schema.promotions.queries import PromotionIdArg
from schema.promotions.types import Promotion


@strawberry.type(description="The result of a promotion change.")
class PromotionPayload:
    promotion: Promotion | None = strawberry.field(
        default=None, description="The promotion (as it was, after a delete)."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


promotion_result = row_result(PromotionPayload, "promotion", Promotion.of)
PromotionInputArg = described(
    PromotionInput, "The promotion's fields (on update, only the ones to change)."
)
CodeArg = Annotated[
    str, strawberry.argument(description="A promotion code (compared case-insensitively).")
]


@strawberry.type
class PromotionMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a promotion.")
    async def promotion_create(
        self, info: StrawberryInfo, input: PromotionInputArg
    ) -> PromotionPayload | None:
        return await promotion_result(
            lambda: resolve.create_promotion(info.context, input_data(input))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a promotion.")
    async def promotion_update(
        self, info: StrawberryInfo, id: PromotionIdArg, input: PromotionInputArg
    ) -> PromotionPayload | None:
        return await promotion_result(
            lambda: resolve.update_promotion(info.context, id, input_data(input))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a promotion: carts lose its code, orders keep their copy of it.",
    )
    async def promotion_delete(
        self, info: StrawberryInfo, id: PromotionIdArg
    ) -> PromotionPayload | None:
        return await promotion_result(lambda: resolve.delete_promotion(info.context, id))

    @strawberry.mutation(
        description="Enter a promotion code on a cart (made on first use). PROMOTION_INVALID "
        "for an unknown, disabled, expired or not-yet-started code; PROMOTION_NOT_APPLICABLE "
        "when the cart does not meet its conditions (the message says which); "
        "PROMOTION_EXHAUSTED when it is used up (for everyone, or for the signed-in customer)."
    )
    async def cart_promotion_code_apply(
        self, info: StrawberryInfo, reference: ReferenceArg, code: CodeArg
    ) -> CartPayload:
        async def run() -> dict[str, object]:
            return {"cart": Cart.of(await resolve.apply_code(info.context, reference, code))}

        return await mutate(CartPayload, run)

    @strawberry.mutation(
        description="Take a promotion code off a cart (NOT_FOUND if the cart does not have it)."
    )
    async def cart_promotion_code_remove(
        self, info: StrawberryInfo, reference: ReferenceArg, code: CodeArg
    ) -> CartPayload:
        async def run() -> dict[str, object]:
            return {"cart": Cart.of(await resolve.remove_code(info.context, reference, code))}

        return await mutate(CartPayload, run)
