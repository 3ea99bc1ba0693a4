"""Input types every area shares: the postal AddressInput (address books, checkout)."""

import strawberry


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
