"""Customer root query fields."""

import strawberry

from resolvers import customers as resolve
from resolvers.ids import maybe_decode_id
from schema.base import (
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    IsAdmin,
    IsAdminOrCustomer,
    IsCustomer,
    LastArg,
    StrawberryInfo,
    page_request,
)
from schema.customers.inputs import CustomerFilterArg, CustomerIdArg
from schema.customers.types import Customer, Me


@strawberry.type
class CustomerQuery:
    @strawberry.field(
        permission_classes=[IsCustomer],
        description="The signed-in customer's account (FORBIDDEN without X-Customer-Token).",
    )
    async def me(self, info: StrawberryInfo) -> Me | None:
        assert info.context.customer_id is not None
        return Me(customer_id=info.context.customer_id)

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Customers, newest first (admin only); `filter.search` matches name or email.",
    )
    async def customers(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: CustomerFilterArg = None,
    ) -> Connection[Customer] | None:
        request = page_request(first, after, last, before)
        page = await resolve.customer_page(info.context, filter.search if filter else None, request)
        return Connection.of(page, Customer.of)

    @strawberry.field(
        permission_classes=[IsAdminOrCustomer],
        description="One customer by id: admins see any, a customer only themselves (others "
        "are null).",
    )
    async def customer(self, info: StrawberryInfo, id: CustomerIdArg) -> Customer | None:
        pk = maybe_decode_id(id, "Customer")
        row = await resolve.visible_customer(info.context, pk) if pk else None
        return Customer.of(row) if row else None
