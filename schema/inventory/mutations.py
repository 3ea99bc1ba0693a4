"""Inventory root mutation fields and their payload types."""

from typing import Annotated

import strawberry

from resolvers import inventory as resolve
from resolvers.ids import decode_id
from schema.base import IsAdmin, StrawberryInfo, UserError, mutate
from schema.inventory.inputs import ProductIdArg, StockTransactionInput
from schema.inventory.types import Stock, StockTransaction


@strawberry.type(description="The result of stockTransactionCreate.")
class StockTransactionPayload:
    stock: Stock | None = strawberry.field(default=None, description="The stock after the change.")
    transaction: StockTransaction | None = strawberry.field(
        default=None, description="The ledger entry recorded."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type
class InventoryMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Change a product's stock by hand (admin only); INSUFFICIENT_STOCK when the "
            "action's limit does not hold."
        ),
    )
    async def stock_transaction_create(
        self,
        info: StrawberryInfo,
        product_id: ProductIdArg,
        input: Annotated[
            StockTransactionInput, strawberry.argument(description="The change to make.")
        ],
    ) -> StockTransactionPayload | None:
        async def run() -> dict[str, object]:
            pk = decode_id(product_id, "Product", ["productId"])
            product, record = await resolve.create_stock_transaction(
                info.context, pk, input.action, input.quantity
            )
            return {"stock": Stock.of(product), "transaction": StockTransaction.of(record)}

        return await mutate(StockTransactionPayload, run)
