"""Customers, their sign-in tokens and address books; the Address types every area shares
(API.md section 5)."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from domain.customers import ADDRESS_FIELDS
from models.customers import Customer as CustomerRow
from models.customers import CustomerAddress as CustomerAddressRow
from resolvers import customers as resolve
from resolvers.ids import decode_id, maybe_decode_id
from schema.base import (
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    IsAdmin,
    IsAdminOrCustomer,
    IsCustomer,
    LastArg,
    Node,
    StrawberryInfo,
    UserError,
    described,
    global_id,
    input_data,
    mutate,
    mutate_row,
    node_type,
    page_request,
)

if TYPE_CHECKING:
    from schema.orders import OrderConnection, OrderFilter, OrderSort

# --- addresses -------------------------------------------------------------------------


def _address_values(source: Mapping[str, Any] | object) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return {name: source.get(name) for name in ADDRESS_FIELDS}
    return {name: getattr(source, name) for name in ADDRESS_FIELDS}


@strawberry.type(description="A postal address (billing or shipping).")
class Address:
    first_name: str = strawberry.field(description="Given name of the recipient.")
    last_name: str = strawberry.field(description="Family name of the recipient.")
    company_name: str | None = strawberry.field(description="Company, if any.")
    phone_number: str | None = strawberry.field(description="Phone number for the carrier.")
    line1: str = strawberry.field(description="First line of the street address.")
    line2: str | None = strawberry.field(description="Second line of the street address.")
    city: str = strawberry.field(description="City or town.")
    county: str | None = strawberry.field(description="County or district.")
    region: str | None = strawberry.field(description="State, province or region.")
    postcode: str = strawberry.field(description="Postal or ZIP code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. US or GB.")
    instructions: str | None = strawberry.field(description="Delivery instructions.")

    @classmethod
    def of(cls, source: Mapping[str, Any] | object) -> "Address":
        """From a validated address dict (`domain.customers.validate_address`) or a row."""
        return cls(**_address_values(source))


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
            **_address_values(row),
        )


@node_type("CustomerAddress")
async def _address_node(info: StrawberryInfo, pk: uuid.UUID) -> CustomerAddress | None:
    row = await resolve.visible_address(info.context, pk)
    return CustomerAddress.of(row) if row else None


@strawberry.input(
    description="A postal address. firstName, lastName, line1, city, postcode and country are "
    "required (a REQUIRED error names any that is missing or blank); in an update, the fields "
    "left out keep their values and a null clears an optional one."
)
class AddressInput:
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Required.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Required.")
    company_name: str | None = strawberry.field(default=strawberry.UNSET, description="Company.")
    phone_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="Phone number for the carrier (up to 40 characters)."
    )
    line1: str | None = strawberry.field(
        default=strawberry.UNSET, description="Required: first line of the street address."
    )
    line2: str | None = strawberry.field(default=strawberry.UNSET, description="Second line.")
    city: str | None = strawberry.field(default=strawberry.UNSET, description="Required.")
    county: str | None = strawberry.field(default=strawberry.UNSET, description="County.")
    region: str | None = strawberry.field(
        default=strawberry.UNSET, description="State, province or region."
    )
    postcode: str | None = strawberry.field(
        default=strawberry.UNSET, description="Required: postal or ZIP code."
    )
    country: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required: ISO 3166-1 alpha-2 code such as US or GB (any letter case).",
    )
    instructions: str | None = strawberry.field(
        default=strawberry.UNSET, description="Delivery instructions (up to 500 characters)."
    )


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


# --- customers -------------------------------------------------------------------------


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


@node_type("Customer")
async def _customer_node(info: StrawberryInfo, pk: uuid.UUID) -> Customer | None:
    row = await resolve.visible_customer(info.context, pk)
    return Customer.of(row) if row else None


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
            Annotated["OrderFilter", strawberry.lazy("schema.orders")] | None,
            strawberry.argument(description="Which orders (every given condition holds)."),
        ] = None,
        sort_by: Annotated[
            Annotated["OrderSort", strawberry.lazy("schema.orders")] | None,
            strawberry.argument(description="Sort order (default CREATED_AT DESC)."),
        ] = None,
    ) -> Annotated["OrderConnection", strawberry.lazy("schema.orders")]:
        from schema.orders import order_connection  # here: schema.orders imports this module

        pages = (first, after, last, before)
        return await order_connection(info, pages, filter, sort_by, self.customer_id)


@strawberry.input(description="A new customer account.")
class CustomerRegisterInput:
    email: str = strawberry.field(description="Sign-in email; unique, whatever its letter case.")
    password: str = strawberry.field(description="At least 8 characters.")
    name: str = strawberry.field(description="Full name.")
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Values of the CUSTOMER custom fields, by slug."
    )


@strawberry.input(description="Changes to a customer account (omitted fields stay as they are).")
class CustomerUpdateInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Full name.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="New sign-in email.")
    password: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="New password (at least 8 characters); signs out the customer's other sessions.",
    )
    current_password: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required when a customer changes their own email or password.",
    )
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="CUSTOMER custom-field values to set, by slug (merged with the current ones).",
    )


@strawberry.input(description="Narrows the customer list.")
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name or email, any letter case."
    )


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


# --- root fields -----------------------------------------------------------------------

CustomerIdArg = described(strawberry.ID, "The customer's global id.")
CustomerFilterArg = described(CustomerFilter | None, "Which customers.")
RegisterArg = described(CustomerRegisterInput, "The new account.")
EmailArg = described(str, "The account's email (any letter case).")
PasswordArg = described(str, "The account's password.")
UpdateArg = described(CustomerUpdateInput, "What to change.")
UpdatedCustomerArg = described(
    strawberry.ID | None, "The customer (admins); a customer may leave it out."
)
BookOwnerArg = described(
    strawberry.ID | None, "Whose address book (admins: required); a customer may leave it out."
)
AddressIdArg = described(strawberry.ID, "The saved address's global id.")
AddressArg = described(AddressInput, "The address; on update, only the fields to change.")


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


def _optional_customer_id(value: strawberry.ID | None, field: str) -> uuid.UUID | None:
    return decode_id(value, "Customer", [field]) if value is not None else None


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(
        description="Create a customer account (any token). DUPLICATE when the email is taken."
    )
    async def customer_register(
        self,
        info: StrawberryInfo,
        input: RegisterArg,
    ) -> CustomerPayload:
        return await mutate_row(
            CustomerPayload,
            "customer",
            Customer.of,
            lambda: resolve.register(info.context, input_data(input)),
        )

    @strawberry.mutation(
        description="Sign a customer in; INVALID_CREDENTIALS when the email or password is wrong."
    )
    async def customer_token_create(
        self,
        info: StrawberryInfo,
        email: EmailArg,
        password: PasswordArg,
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
        self,
        info: StrawberryInfo,
        input: UpdateArg,
        id: UpdatedCustomerArg = None,
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
        self,
        info: StrawberryInfo,
        input: AddressArg,
        customer_id: BookOwnerArg = None,
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
        return await mutate_row(
            CustomerAddressPayload,
            "address",
            CustomerAddress.of,
            lambda: resolve.update_address(
                info.context, decode_id(id, "CustomerAddress"), input_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdminOrCustomer],
        description="Delete a saved address (a customer: only their own; others are NOT_FOUND).",
    )
    async def customer_address_delete(
        self, info: StrawberryInfo, id: AddressIdArg
    ) -> CustomerAddressPayload | None:
        return await mutate_row(
            CustomerAddressPayload,
            "address",
            CustomerAddress.of,
            lambda: resolve.delete_address(info.context, decode_id(id, "CustomerAddress")),
        )


QUERIES: tuple[type, ...] = (CustomerQuery,)
MUTATIONS: tuple[type, ...] = (CustomerMutation,)
