"""Inventory: stock figures, the stock ledger and manual stock transactions (API.md section 9)."""

from datetime import datetime
from typing import Annotated

import strawberry

from domain.errors import DomainError
from domain.inventory import StockAction as DomainStockAction
from domain.inventory import StockStatus as DomainStockStatus
from models.catalog import Product as ProductRow
from models.inventory import StockTransaction as StockTransactionRow
from resolvers import inventory as resolve
from resolvers.context import PublicError
from resolvers.ids import decode_id
from schema.base import (
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    IsAdmin,
    LastArg,
    Node,
    StrawberryInfo,
    UserError,
    describe_values,
    described,
    global_id,
    mutate,
    node_type,
    page_request,
)

StockStatus = strawberry.enum(
    DomainStockStatus, name="StockStatus", description="Stock level as shoppers may see it."
)
StockAction = strawberry.enum(
    DomainStockAction,
    name="StockAction",
    description=(
        "A change of stock. INCREMENT adds to `total`; DECREMENT takes from `total` (never "
        "below `allocated`); ALLOCATE holds units for an order (never more than `available`); "
        "DEALLOCATE releases held units (never more than `allocated`)."
    ),
)
describe_values(
    StockStatus,
    {
        "IN_STOCK": "Available above the low-stock threshold, or stock is not managed.",
        "LOW_STOCK": "Available, but at or below the low-stock threshold.",
        "OUT_OF_STOCK": "Nothing available.",
    },
)
describe_values(
    StockAction,
    {
        "INCREMENT": "Adds to `total` (stock arrived).",
        "DECREMENT": "Takes from `total`, never below `allocated` (with an order: shipped).",
        "ALLOCATE": "Holds units for an order, never more than `available`.",
        "DEALLOCATE": "Releases held units, never more than `allocated`.",
    },
)


@strawberry.type(description="A product's stock: available = total - allocated.")
class Stock:
    total: int = strawberry.field(description="Units held.")
    available: int = strawberry.field(description="Units that can still be paid for.")
    allocated: int = strawberry.field(description="Units held for paid or authorised orders.")

    @classmethod
    def of(cls, row: ProductRow) -> "Stock":
        return cls(
            total=row.stock_total, available=row.stock_available, allocated=row.stock_allocated
        )


@strawberry.type(
    description=(
        "One change of a product's stock, by hand (no order) or by an order: ALLOCATE when it "
        "is paid or authorised, DEALLOCATE when the payment is declined, the authorization "
        "cancelled or the order cancelled before fulfilment, and DECREMENT when it is "
        "fulfilled (a DECREMENT with an order takes the units from `total` and `allocated`)."
    )
)
class StockTransaction(Node):
    action: StockAction = strawberry.field(description="What changed.")
    quantity: int = strawberry.field(description="Units, at least 1.")
    order_id: strawberry.ID | None = strawberry.field(
        description="The order that made the change; null for a change by hand."
    )
    product_id: strawberry.ID = strawberry.field(description="The product whose stock changed.")
    created_at: datetime = strawberry.field(description="When it changed.")

    @classmethod
    def of(cls, row: StockTransactionRow) -> "StockTransaction":
        return cls(
            id=global_id("StockTransaction", row.id),
            action=DomainStockAction(row.action),
            quantity=row.quantity,
            order_id=global_id("Order", row.order_id) if row.order_id else None,
            product_id=global_id("Product", row.product_id),
            created_at=row.created_at,
        )


@node_type("StockTransaction")
async def _stock_transaction_node(info: StrawberryInfo, pk: object) -> StockTransaction | None:
    if not info.context.is_admin:
        return None
    row = await resolve.stock_transaction(info.context, pk)  # type: ignore[arg-type]
    return StockTransaction.of(row) if row else None


@strawberry.input(description="A change of stock by hand.")
class StockTransactionInput:
    action: StockAction = strawberry.field(description="What to change.")
    quantity: int = strawberry.field(description="Units, at least 1.")


@strawberry.type(description="The result of stockTransactionCreate.")
class StockTransactionPayload:
    stock: Stock | None = strawberry.field(default=None, description="The stock after the change.")
    transaction: StockTransaction | None = strawberry.field(
        default=None, description="The ledger entry recorded."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


ProductIdArg = described(strawberry.ID, "The product's global id.")


@strawberry.type
class InventoryQuery:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="A product's stock ledger, newest first (admin only).",
    )
    async def stock_transactions(
        self,
        info: StrawberryInfo,
        product_id: ProductIdArg,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Connection[StockTransaction] | None:
        request = page_request(first, after, last, before)
        try:
            pk = decode_id(product_id, "Product", ["productId"])
            page = await resolve.stock_transactions(info.context, pk, request)
        except DomainError as error:  # an unknown product
            raise PublicError(error.message, error.code.value) from error
        return Connection.of(page, StockTransaction.of)


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


QUERIES: tuple[type, ...] = (InventoryQuery,)
MUTATIONS: tuple[type, ...] = (InventoryMutation,)
