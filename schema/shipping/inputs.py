"""Shipping input types and argument annotations."""

import strawberry

from schema.base import described


@strawberry.input(
    description="A shipping method's fields. On update, omitted fields stay as they are and a "
    "null clears an optional one (a bound, the carrier, the tax band)."
)
class ShippingMethodInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required and unique: lower-case letters, digits, - and _.",
    )
    carrier: str | None = strawberry.field(default=strawberry.UNSET, description="Who delivers.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Details shown to buyers."
    )
    price: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required on create: minor units of the store currency, without tax, >= 0.",
    )
    min_subtotal: int | None = strawberry.field(
        default=strawberry.UNSET, description="Store-currency minor units, >= 0."
    )
    max_subtotal: int | None = strawberry.field(
        default=strawberry.UNSET, description="Store-currency minor units, >= minSubtotal."
    )
    min_weight: int | None = strawberry.field(default=strawberry.UNSET, description="Grams, >= 0.")
    max_weight: int | None = strawberry.field(
        default=strawberry.UNSET, description="Grams, >= minWeight."
    )
    tax_band_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Tax band of the price; none for untaxed."
    )
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Offered to buyers (default true)."
    )


MethodIdArg = described(strawberry.ID, "The shipping method's global id.")


MethodInputArg = described(
    ShippingMethodInput, "The method's fields (on update, only the ones to change)."
)
