"""Catalogue root subscription fields: live stock (API.md section 13)."""

from collections.abc import AsyncGenerator

import strawberry

from domain.errors import DomainError
from models.catalog import Product as ProductRow
from resolvers import inventory as resolve
from resolvers.context import PublicError
from schema.base import StrawberryInfo, described
from schema.catalog.types import Product
from schema.inventory.types import Stock

ProductIdsArg = described(
    list[strawberry.ID],
    f"The products to watch (1 to {resolve.MAX_WATCHED_PRODUCTS} global ids). Ids of products "
    "the caller may not see (storefronts: any not LIVE), or of none, are never yielded.",
)


@strawberry.type(description="One product's stock, as `stockUpdated` sends it.")
class StockUpdate:
    product: Product = strawberry.field(
        description="The product as it is now (`stockStatus` for shoppers)."
    )
    row: strawberry.Private[ProductRow]

    @strawberry.field(description="Its stock figures: admin tokens only, null for others.")
    def stock(self, info: StrawberryInfo) -> Stock | None:
        return Stock.of(self.row) if info.context.is_admin else None


@strawberry.type
class CatalogSubscription:
    @strawberry.subscription(
        description="Each listed product's stock now, then again each time it changes (an "
        "order paid, fulfilled or cancelled, a reservation made or expired, a stock "
        "transaction, a change of status or stock management), from any server process: one "
        "StockUpdate per product and change. Storefronts see LIVE products only; `stock` is "
        "for admins.",
    )
    async def stock_updated(
        self, info: StrawberryInfo, product_ids: ProductIdsArg
    ) -> AsyncGenerator[StockUpdate, None]:
        try:
            pks = resolve.watched_products(product_ids)
        except DomainError as error:
            raise PublicError(error.message, error.code.value) from error
        async for row in resolve.watch_stock(info.context, pks):
            yield StockUpdate(product=Product.of(row), row=row)
