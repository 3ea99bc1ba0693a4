"""Order and checkout root subscription fields."""

from collections.abc import AsyncGenerator

import strawberry

from resolvers import orders as resolve
from schema.base import IsAdminOrCustomer, StrawberryInfo
from schema.orders.types import Order, OrderId


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(
        permission_classes=[IsAdminOrCustomer],
        description="The order now, then again each time it changes (status, payment, "
        "shipping, addresses, custom fields; its events and transactions with it), from any "
        "server process, as soon as it commits (no polling). Admins watch any order, a "
        "signed-in customer their own; the stream ends at once for an order the caller may not "
        "see, or when it is gone. A state may come twice (after a reconnection, say); "
        "none is skipped, though changes made in quick succession may arrive as one.",
    )
    async def order_updated(self, info: StrawberryInfo, id: OrderId) -> AsyncGenerator[Order, None]:
        async for row in resolve.watch_order(info.context, id):
            yield Order.of(row)
