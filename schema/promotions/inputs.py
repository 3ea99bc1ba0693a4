"""Promotion inputs: the admin's promotion fields and the listing filter."""

from datetime import datetime

import strawberry

from domain import promotions as domain
from schema.promotions.types import PromotionKind


@strawberry.input(
    description="A promotion's fields. On update, omitted fields stay as they are and a null "
    "clears an optional one (code, dates, limits); productIds and categoryIds replace the "
    "lists."
)
class PromotionInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Notes for the back office."
    )
    code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="1 to 64 of A-Z, a-z, 0-9, _ and -; unique case-insensitively (DUPLICATE). "
        "Null or none: an automatic promotion.",
    )
    enabled: bool | None = strawberry.field(default=strawberry.UNSET, description="Default true.")
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Applies from then (no offset: UTC)."
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Applies until then; after startsAt."
    )
    kind: PromotionKind | None = strawberry.field(
        default=strawberry.UNSET, description="Required on create."
    )
    value: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="PERCENT_OFF: 1 to 100; AMOUNT_OFF: store-currency minor units, at least 1; "
        "FREE_SHIPPING: none or 0.",
    )
    min_subtotal: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Smallest cart subtotal without tax, store-currency minor units, >= 0.",
    )
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Narrow to these products (and their variants)."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Narrow to these categories (and their sub-categories).",
    )
    usage_limit: int | None = strawberry.field(
        default=strawberry.UNSET, description="Orders that may use it in all, >= 1; null: any."
    )
    per_customer_limit: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Orders one buyer (customer, or guest email) may place with it, >= 1.",
    )


@strawberry.input(description="Which promotions to list; every field given must match.")
class PromotionFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, code or description (any case)."
    )
    enabled: bool | None = strawberry.field(
        default=None, description="Only enabled (true) or disabled (false) ones."
    )

    def to_domain(self) -> domain.PromotionFilter:
        return domain.PromotionFilter(search=self.search, enabled=self.enabled)
