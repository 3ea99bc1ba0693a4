"""Shipping object types; Node types also say how `node(id:)` fetches them."""

import uuid
from typing import Any

import strawberry

from models.shipping import ShippingMethod as ShippingMethodRow
from resolvers import catalog as resolve_catalog
from resolvers import shipping as resolve
from resolvers.ids import decode_id
from schema.base import DisplayPrice, Node, StrawberryInfo, global_id, input_data
from schema.catalog.types import TaxBand
from schema.shipping.inputs import ShippingMethodInput


@strawberry.type(
    description="A way to ship an order. It is offered for a cart whose subtotal without tax "
    "and weight lie within the bounds it sets (inclusive; an unset bound does not limit)."
)
class ShippingMethod(Node):
    name: str = strawberry.field(description="Name shown to buyers, e.g. Next day.")
    slug: str = strawberry.field(description="Unique handle, e.g. next-day.")
    carrier: str | None = strawberry.field(description="Who delivers, e.g. DHL.")
    description: str | None = strawberry.field(description="Details shown to buyers.")
    min_subtotal: int | None = strawberry.field(
        description="Smallest cart subtotal without tax, in store-currency minor units."
    )
    max_subtotal: int | None = strawberry.field(
        description="Largest cart subtotal without tax, in store-currency minor units."
    )
    min_weight: int | None = strawberry.field(description="Lightest cart, in grams.")
    max_weight: int | None = strawberry.field(description="Heaviest cart, in grams.")
    enabled: bool = strawberry.field(description="Disabled methods are offered to nobody.")
    row: strawberry.Private[ShippingMethodRow]

    @strawberry.field(
        description="The price with and without tax (the method's tax band) in the request "
        "currency (X-Currency)."
    )
    async def price(self, info: StrawberryInfo) -> DisplayPrice:
        return DisplayPrice.of(await resolve.price(info.context, self.row))

    @strawberry.field(description="The tax band of the price; none means untaxed.")
    async def tax_band(self, info: StrawberryInfo) -> TaxBand | None:
        if self.row.tax_band_id is None:
            return None
        band = await resolve_catalog.tax_band(info.context, self.row.tax_band_id)
        return TaxBand.of(band) if band else None

    @classmethod
    def of(cls, row: ShippingMethodRow) -> "ShippingMethod":
        return cls(
            id=global_id("ShippingMethod", row.id),
            name=row.name,
            slug=row.slug,
            carrier=row.carrier,
            description=row.description,
            min_subtotal=row.min_subtotal,
            max_subtotal=row.max_subtotal,
            min_weight=row.min_weight,
            max_weight=row.max_weight,
            enabled=row.enabled,
            row=row,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "ShippingMethod | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.visible_method(info.context, pk)
        return cls.of(row) if row else None


def _method_data(input: ShippingMethodInput) -> dict[str, Any]:
    data = input_data(input)
    if data.get("tax_band_id") is not None:
        data["tax_band_id"] = decode_id(data["tax_band_id"], "TaxBand", ["input", "taxBandId"])
    return data
