"""Cart input types and argument annotations."""

import strawberry

from domain.carts import MAX_LINE_QUANTITY
from schema.base import described

REFERENCE_HELP = "The cart's client-chosen name: 1 to 64 of A-Z, a-z, 0-9, _ and -."


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
