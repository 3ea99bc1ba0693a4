"""Customer object types; Node types also say how `node(id:)` fetches them."""

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from models.customers import Customer as CustomerRow
from models.customers import CustomerAddress as CustomerAddressRow
from resolvers import customers as resolve
from schema.base import (
    AfterArg,
    BeforeArg,
    FirstArg,
    LastArg,
    Node,
    StrawberryInfo,
    global_id,
)
from schema.core.types import Address, address_values
from schema.orders.inputs import OrderFilter, OrderSort
from schema.orders.types import OrderConnection, order_connection


@strawberry.type(description="An address saved in a customer's address book.")
class CustomerAddress(Address, Node):
    created_at: datetime = strawberry.field(description="When it was saved.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, row: CustomerAddressRow) -> "CustomerAddress":  # type: ignore[override]
        return cls(
            id=global_id("CustomerAddress", row.id),
            created_at=row.created_at,
            updated_at=row.updated_at,
            **address_values(row),
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "CustomerAddress | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.visible_address(info.context, pk)
        return cls.of(row) if row else None


@strawberry.type(
    description="A registered customer. Visible to admins and to the customer themselves."
)
class Customer(Node):
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="Sign-in email, normalised to lower case.")
    custom_fields: JSON = strawberry.field(
        description="Values of the CUSTOMER custom fields, by slug."
    )
    created_at: datetime = strawberry.field(description="When the customer registered.")
    updated_at: datetime = strawberry.field(description="When the account last changed.")
    pk: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The customer's saved addresses, oldest first.")
    async def addresses(self, info: StrawberryInfo) -> list[CustomerAddress]:
        return [CustomerAddress.of(r) for r in await resolve.addresses_of(info.context, self.pk)]

    @classmethod
    def of(cls, row: CustomerRow) -> "Customer":
        return cls(
            id=global_id("Customer", row.id),
            pk=row.id,
            name=row.name,
            email=row.email,
            custom_fields=row.custom_fields,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Customer | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.visible_customer(info.context, pk)
        return cls.of(row) if row else None


@strawberry.type(description="The signed-in customer's own account (needs X-Customer-Token).")
class Me:
    customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The signed-in customer.")
    async def customer(self, info: StrawberryInfo) -> Customer:
        row = await resolve.customer_row(info.context, self.customer_id)
        assert row is not None  # a live customer token names an existing customer
        return Customer.of(row)

    @strawberry.field(description="The customer's saved addresses, oldest first.")
    async def addresses(self, info: StrawberryInfo) -> list[CustomerAddress]:
        rows = await resolve.addresses_of(info.context, self.customer_id)
        return [CustomerAddress.of(r) for r in rows]

    @strawberry.field(
        description="The customer's own orders (placed while signed in, or for their account "
        "by an admin), newest first unless sortBy says otherwise."
    )
    async def orders(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: Annotated[
            OrderFilter | None,
            strawberry.argument(description="Which orders (every given condition holds)."),
        ] = None,
        sort_by: Annotated[
            OrderSort | None,
            strawberry.argument(description="Sort order (default CREATED_AT DESC)."),
        ] = None,
    ) -> OrderConnection:

        pages = (first, after, last, before)
        return await order_connection(info, pages, filter, sort_by, self.customer_id)
