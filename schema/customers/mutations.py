"""Customer root mutation fields and their payload types."""

import uuid
from datetime import datetime

import strawberry

from resolvers import customers as resolve
from resolvers.ids import decode_id
from schema.base import (
    IsAdminOrCustomer,
    IsCustomer,
    StrawberryInfo,
    UserError,
    input_data,
    mutate,
    row_result,
)
from schema.customers.inputs import (
    AddressArg,
    AddressIdArg,
    BookOwnerArg,
    EmailArg,
    PasswordArg,
    RegisterArg,
    UpdateArg,
    UpdatedCustomerArg,
)
from schema.customers.types import Customer, CustomerAddress


@strawberry.type(description="The result of saving or deleting an address-book entry.")
class CustomerAddressPayload:
    address: CustomerAddress | None = strawberry.field(
        default=None, description="The address (as it was, after a delete)."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )

    @strawberry.field(
        description="The same as `address`, under the name of its type (the payload convention)."
    )
    def customer_address(self) -> CustomerAddress | None:
        return self.address


@strawberry.type(description="The result of registering or changing a customer.")
class CustomerPayload:
    customer: Customer | None = strawberry.field(default=None, description="The customer as saved.")
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


@strawberry.type(description="A customer sign-in: send `token` as the X-Customer-Token header.")
class CustomerTokenPayload:
    token: str | None = strawberry.field(default=None, description="The customer token.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the token stops working."
    )
    customer: Customer | None = strawberry.field(default=None, description="Who signed in.")
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


@strawberry.type(description="The result of signing out.")
class CustomerTokenDeletePayload:
    deleted: bool = strawberry.field(
        default=False, description="True when the request's X-Customer-Token was revoked."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


def _optional_customer_id(value: strawberry.ID | None, field: str) -> uuid.UUID | None:
    return decode_id(value, "Customer", [field]) if value is not None else None


customer_result = row_result(CustomerPayload, "customer", Customer.of)
address_result = row_result(CustomerAddressPayload, "address", CustomerAddress.of)


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(
        description="Create a customer account (any token). DUPLICATE when the email is taken."
    )
    async def customer_register(self, info: StrawberryInfo, input: RegisterArg) -> CustomerPayload:
        return await customer_result(lambda: resolve.register(info.context, input_data(input)))

    @strawberry.mutation(
        description="Sign a customer in; INVALID_CREDENTIALS when the email or password is wrong."
    )
    async def customer_token_create(
        self, info: StrawberryInfo, email: EmailArg, password: PasswordArg
    ) -> CustomerTokenPayload:
        async def run() -> dict[str, object]:
            token, expires_at, row = await resolve.sign_in(info.context, email, password)
            return {"token": token, "expires_at": expires_at, "customer": Customer.of(row)}

        return await mutate(CustomerTokenPayload, run)

    @strawberry.mutation(
        permission_classes=[IsCustomer],
        description="Sign out: revoke the X-Customer-Token this request carries.",
    )
    async def customer_token_delete(
        self, info: StrawberryInfo
    ) -> CustomerTokenDeletePayload | None:
        async def run() -> dict[str, object]:
            return {"deleted": await resolve.sign_out(info.context)}

        return await mutate(CustomerTokenDeletePayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdminOrCustomer],
        description="Change a customer: a customer changes themselves (id omitted or their own), "
        "an admin names the customer by id.",
    )
    async def customer_update(
        self, info: StrawberryInfo, input: UpdateArg, id: UpdatedCustomerArg = None
    ) -> CustomerPayload | None:
        async def run() -> dict[str, object]:
            pk = _optional_customer_id(id, "id")
            row = await resolve.update_customer(info.context, pk, input_data(input))
            return {"customer": Customer.of(row)}

        return await mutate(CustomerPayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdminOrCustomer],
        description="Save an address in an address book: the signed-in customer's own, or (admins) "
        "the customer named by customerId.",
    )
    async def customer_address_create(
        self, info: StrawberryInfo, input: AddressArg, customer_id: BookOwnerArg = None
    ) -> CustomerAddressPayload | None:
        async def run() -> dict[str, object]:
            owner = _optional_customer_id(customer_id, "customerId")
            row = await resolve.create_address(info.context, owner, input_data(input))
            return {"address": CustomerAddress.of(row)}

        return await mutate(CustomerAddressPayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdminOrCustomer],
        description="Change a saved address (a customer: only their own; others are NOT_FOUND).",
    )
    async def customer_address_update(
        self, info: StrawberryInfo, id: AddressIdArg, input: AddressArg
    ) -> CustomerAddressPayload | None:
        return await address_result(
            lambda: resolve.update_address(
                info.context, decode_id(id, "CustomerAddress"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdminOrCustomer],
        description="Delete a saved address (a customer: only their own; others are NOT_FOUND).",
    )
    async def customer_address_delete(
        self, info: StrawberryInfo, id: AddressIdArg
    ) -> CustomerAddressPayload | None:
        return await address_result(
            lambda: resolve.delete_address(info.context, decode_id(id, "CustomerAddress"))
        )
