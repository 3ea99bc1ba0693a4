"""Shipping methods: types, queries and mutations (API.md section 5)."""

import uuid
from typing import Any

import strawberry

from models.shipping import ShippingMethod as ShippingMethodRow
from resolvers import catalog as resolve_catalog
from resolvers import shipping as resolve
from resolvers.ids import decode_id, maybe_decode_id
from schema.base import (
    DisplayPrice,
    IsAdmin,
    Node,
    StrawberryInfo,
    UserError,
    described,
    global_id,
    input_data,
    mutate_row,
    node_type,
)
from schema.catalog import TaxBand


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


@node_type("ShippingMethod")
async def _method_node(info: StrawberryInfo, pk: uuid.UUID) -> ShippingMethod | None:
    row = await resolve.visible_method(info.context, pk)
    return ShippingMethod.of(row) if row else None


@strawberry.input(
    description="A shipping method's fields. On update, omitted fields stay as they are and a "
    "null clears an optional one (a bound, the carrier, the tax band)."
)
class ShippingMethodInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Required.")
    slug: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required and unique: lower-case letters, digits, - and _.",
    )
    carrier: str | None = strawberry.field(default=strawberry.UNSET, description="Who delivers.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Details shown to buyers."
    )
    price: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required on create: minor units of the store currency, without tax, >= 0.",
    )
    min_subtotal: int | None = strawberry.field(
        default=strawberry.UNSET, description="Store-currency minor units, >= 0."
    )
    max_subtotal: int | None = strawberry.field(
        default=strawberry.UNSET, description="Store-currency minor units, >= minSubtotal."
    )
    min_weight: int | None = strawberry.field(default=strawberry.UNSET, description="Grams, >= 0.")
    max_weight: int | None = strawberry.field(
        default=strawberry.UNSET, description="Grams, >= minWeight."
    )
    tax_band_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Tax band of the price; none for untaxed."
    )
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Offered to buyers (default true)."
    )


@strawberry.type(description="The result of a shipping-method change.")
class ShippingMethodPayload:
    shipping_method: ShippingMethod | None = strawberry.field(
        default=None, description="The method (as it was, after a delete)."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


def _method_data(input: ShippingMethodInput) -> dict[str, Any]:
    data = input_data(input)
    if data.get("tax_band_id") is not None:
        data["tax_band_id"] = decode_id(data["tax_band_id"], "TaxBand", ["input", "taxBandId"])
    return data


MethodIdArg = described(strawberry.ID, "The shipping method's global id.")
MethodInputArg = described(
    ShippingMethodInput, "The method's fields (on update, only the ones to change)."
)


@strawberry.type
class ShippingQuery:
    @strawberry.field(description="Enabled shipping methods, cheapest first (admins: all).")
    async def shipping_methods(self, info: StrawberryInfo) -> list[ShippingMethod]:
        return [ShippingMethod.of(r) for r in await resolve.methods(info.context)]

    @strawberry.field(description="One shipping method by id (disabled ones: admins only).")
    async def shipping_method(self, info: StrawberryInfo, id: MethodIdArg) -> ShippingMethod | None:
        pk = maybe_decode_id(id, "ShippingMethod")
        row = await resolve.visible_method(info.context, pk) if pk else None
        return ShippingMethod.of(row) if row else None


@strawberry.type
class ShippingMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a shipping method.")
    async def shipping_method_create(
        self, info: StrawberryInfo, input: MethodInputArg
    ) -> ShippingMethodPayload | None:
        return await mutate_row(
            ShippingMethodPayload,
            "shipping_method",
            ShippingMethod.of,
            lambda: resolve.create_method(info.context, _method_data(input)),
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a shipping method.")
    async def shipping_method_update(
        self, info: StrawberryInfo, id: MethodIdArg, input: MethodInputArg
    ) -> ShippingMethodPayload | None:
        return await mutate_row(
            ShippingMethodPayload,
            "shipping_method",
            ShippingMethod.of,
            lambda: resolve.update_method(
                info.context, decode_id(id, "ShippingMethod"), _method_data(input)
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a shipping method (orders keep their copy of its name and price).",
    )
    async def shipping_method_delete(
        self, info: StrawberryInfo, id: MethodIdArg
    ) -> ShippingMethodPayload | None:
        return await mutate_row(
            ShippingMethodPayload,
            "shipping_method",
            ShippingMethod.of,
            lambda: resolve.delete_method(info.context, decode_id(id, "ShippingMethod")),
        )


QUERIES: tuple[type, ...] = (ShippingQuery,)
MUTATIONS: tuple[type, ...] = (ShippingMutation,)
