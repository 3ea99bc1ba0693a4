"""Inventory root query fields."""

import strawberry

from domain.errors import DomainError
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
    StrawberryInfo,
    page_request,
)
from schema.inventory.inputs import ProductIdArg
from schema.inventory.types import StockTransaction


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
