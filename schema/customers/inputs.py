"""Customer input types and argument annotations."""

import strawberry
from strawberry.scalars import JSON

from schema.base import described
from schema.core.inputs import AddressInput


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
