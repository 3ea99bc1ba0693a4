"""Inventory: stock figures, the stock ledger and manual stock transactions (API.md section 9)."""

from schema.inventory.mutations import InventoryMutation
from schema.inventory.queries import InventoryQuery

QUERIES: tuple[type, ...] = (InventoryQuery,)
MUTATIONS: tuple[type, ...] = (InventoryMutation,)
