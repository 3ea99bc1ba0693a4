"""Inventory object types; Node types also say how `node(id:)` fetches them."""

import uuid
from datetime import datetime

import strawberry

from domain.inventory import StockAction as DomainStockAction
from models.catalog import Product as ProductRow
from models.inventory import StockTransaction as StockTransactionRow
from resolvers import inventory as resolve
from schema.base import Node, StrawberryInfo, admin_node, global_id
from schema.inventory.enums import StockAction


@strawberry.type(description="A product's stock: available = total - allocated.")
class Stock:
    total: int = strawberry.field(description="Units held.")
    available: int = strawberry.field(description="Units that can still be paid for.")
    allocated: int = strawberry.field(
        description="Units held for paid or authorised orders, and for unpaid orders while "
        "their reservation runs (see `reserved`)."
    )
    product_id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description="The part of `allocated` held by unpaid orders whose reservation is "
        "running (`Order.reservedUntil`); 0 while reservation is off."
    )
    async def reserved(self, info: StrawberryInfo) -> int:
        return await resolve.reserved_of(info.context, self.product_id)

    @classmethod
    def of(cls, row: ProductRow) -> "Stock":
        return cls(
            total=row.stock_total,
            available=row.stock_available,
            allocated=row.stock_allocated,
            product_id=row.id,
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

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "StockTransaction | None":
        """What `node(id:)` answers for this type's ids: admins only."""
        return await admin_node(
            info, lambda context: resolve.stock_transaction(context, pk), cls.of
        )
