"""Inventory: stock figures, the stock ledger and manual stock transactions (API.md section 9)."""

from schema.base import Node
from schema.inventory.mutations import InventoryMutation
from schema.inventory.queries import InventoryQuery
from schema.inventory.types import StockTransaction

QUERIES: tuple[type, ...] = (InventoryQuery,)
MUTATIONS: tuple[type, ...] = (InventoryMutation,)
NODE_TYPES: tuple[type[Node], ...] = (StockTransaction,)
