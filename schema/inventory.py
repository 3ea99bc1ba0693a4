"""Inventory: stock figures, the stock ledger and manual stock transactions (API.md section 9)."""

import strawberry

from domain.inventory import StockStatus as DomainStockStatus
from models.catalog import Product as ProductRow

StockStatus = strawberry.enum(
    DomainStockStatus, name="StockStatus", description="Stock level as shoppers may see it."
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


QUERIES: tuple[type, ...] = ()
MUTATIONS: tuple[type, ...] = ()
