"""Promotion queries (admin only: storefronts see promotions only through their carts)."""

import strawberry

from domain import promotions as domain
from resolvers import promotions as resolve
from resolvers.ids import maybe_decode_id
from schema.base import (
    AfterArg,
    BeforeArg,
    FirstArg,
    IsAdmin,
    LastArg,
    StrawberryInfo,
    described,
    page_request,
)
from schema.promotions.inputs import PromotionFilter
from schema.promotions.types import Promotion, PromotionConnection

PromotionIdArg = described(strawberry.ID, "The promotion's global id.")
FilterArg = described(PromotionFilter | None, "Which promotions (every given condition holds).")


@strawberry.type
class PromotionQuery:
    @strawberry.field(
        permission_classes=[IsAdmin], description="Every promotion, newest first (admin only)."
    )
    async def promotions(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: FilterArg = None,
    ) -> PromotionConnection | None:
        request = page_request(first, after, last, before)
        where = filter.to_domain() if filter else domain.PromotionFilter()
        page = await resolve.promotion_page(info.context, where, request)
        return PromotionConnection.of(page, Promotion.of)  # type: ignore[return-value]

    @strawberry.field(permission_classes=[IsAdmin], description="One promotion (admin only).")
    async def promotion(self, info: StrawberryInfo, id: PromotionIdArg) -> Promotion | None:
        pk = maybe_decode_id(id, "Promotion")
        row = await resolve.promotion(info.context, pk) if pk else None
        return Promotion.of(row) if row else None
