"""Order and checkout root query fields."""

import strawberry

from resolvers import orders as resolve
from schema.base import (
    AfterArg,
    BeforeArg,
    FirstArg,
    IsAdmin,
    IsAdminOrCustomer,
    LastArg,
    StrawberryInfo,
)
from schema.orders.inputs import FilterArg, SortArg
from schema.orders.types import Order, OrderConnection, OrderId, order_connection


@strawberry.type
class OrderQuery:
    @strawberry.field(
        permission_classes=[IsAdminOrCustomer],
        description="One order: admins see any, a signed-in customer only their own (null "
        "for anyone else's).",
    )
    async def order(self, info: StrawberryInfo, id: OrderId) -> Order | None:
        row = await resolve.order_by_global_id(info.context, id)
        return Order.of(row) if row else None

    @strawberry.field(permission_classes=[IsAdmin], description="Every order (admin only).")
    async def orders(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: FilterArg = None,
        sort_by: SortArg = None,
    ) -> OrderConnection | None:
        return await order_connection(info, (first, after, last, before), filter, sort_by)
