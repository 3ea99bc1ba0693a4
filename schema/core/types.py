"""Object types every area shares: the postal Address (customers' address books, orders)."""

from collections.abc import Mapping
from typing import Any

import strawberry

from domain.customers import ADDRESS_FIELDS


def address_values(source: Mapping[str, Any] | object) -> dict[str, Any]:
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
        return cls(**address_values(source))
