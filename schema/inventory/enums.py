"""Inventory enums (schema enums made from the domain's, every value described)."""

import strawberry

from domain.inventory import StockAction as DomainStockAction
from domain.inventory import StockStatus as DomainStockStatus
from schema.base import describe_values

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
