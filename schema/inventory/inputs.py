"""Inventory input types and argument annotations."""

import strawberry

from schema.base import described
from schema.inventory.enums import StockAction


@strawberry.input(description="A change of stock by hand.")
class StockTransactionInput:
    action: StockAction = strawberry.field(description="What to change.")
    quantity: int = strawberry.field(description="Units, at least 1.")


ProductIdArg = described(strawberry.ID, "The product's global id.")
