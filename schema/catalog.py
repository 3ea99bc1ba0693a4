"""Catalogue types, queries and mutations (API.md section 4)."""

from decimal import Decimal

import strawberry

from models.catalog import Currency as CurrencyRow
from models.catalog import TaxBand as TaxBandRow
from resolvers import catalog as resolve
from resolvers.ids import decode_id, maybe_decode_id
from schema.base import (
    IsAdmin,
    Node,
    StrawberryInfo,
    UserError,
    global_id,
    input_data,
    mutate,
    node_type,
)

# --- tax bands -------------------------------------------------------------------------


@strawberry.type(description="A tax rate applied to products and shipping in the band.")
class TaxBand(Node):
    name: str
    rate: Decimal = strawberry.field(description="Percent, e.g. 20 for 20%.")

    @classmethod
    def of(cls, row: TaxBandRow) -> "TaxBand":
        return cls(id=global_id("TaxBand", row.id), name=row.name, rate=row.rate)


@node_type("TaxBand")
async def _tax_band_node(info: StrawberryInfo, pk: object) -> TaxBand | None:
    row = await resolve.tax_band(info.context, pk)  # type: ignore[arg-type]
    return TaxBand.of(row) if row else None


@strawberry.input(description="A tax band's fields.")
class TaxBandInput:
    name: str | None = strawberry.UNSET
    rate: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="Percent from 0 to 100."
    )


@strawberry.type
class TaxBandPayload:
    tax_band: TaxBand | None = None
    errors: list[UserError]


# --- currencies ------------------------------------------------------------------------


@strawberry.type(description="A currency prices can show in (request header X-Currency).")
class Currency(Node):
    code: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    name: str
    exchange_rate: Decimal = strawberry.field(
        description="Units of this currency per one unit of the store currency."
    )
    format: str = strawberry.field(description='Display format, e.g. "${price}".')
    decimal_places: int
    decimal_point: str
    thousand_separator: str
    enabled: bool
    is_default: bool = strawberry.field(
        name="default", description="The store currency: catalogue prices are entered in it."
    )

    @classmethod
    def of(cls, row: CurrencyRow) -> "Currency":
        return cls(
            id=global_id("Currency", row.id),
            code=row.code,
            name=row.name,
            exchange_rate=row.exchange_rate,
            format=row.format,
            decimal_places=row.decimal_places,
            decimal_point=row.decimal_point,
            thousand_separator=row.thousand_separator,
            enabled=row.enabled,
            is_default=row.is_default,
        )


@node_type("Currency")
async def _currency_node(info: StrawberryInfo, pk: object) -> Currency | None:
    row = await resolve.currency(info.context, pk, None)  # type: ignore[arg-type]
    return Currency.of(row) if row else None


@strawberry.input(description="A currency's fields (omitted ones are left unchanged).")
class CurrencyInput:
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    exchange_rate: Decimal | None = strawberry.UNSET
    format: str | None = strawberry.UNSET
    decimal_places: int | None = strawberry.UNSET
    decimal_point: str | None = strawberry.UNSET
    thousand_separator: str | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET
    default: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Make this the store currency (its rate must be 1)."
    )


@strawberry.type
class CurrencyPayload:
    currency: Currency | None = None
    errors: list[UserError]


# --- root fields -----------------------------------------------------------------------


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Every tax band.")
    async def tax_bands(self, info: StrawberryInfo) -> list[TaxBand]:
        return [TaxBand.of(r) for r in await resolve.tax_bands(info.context)]

    @strawberry.field(description="One tax band by id.")
    async def tax_band(self, info: StrawberryInfo, id: strawberry.ID) -> TaxBand | None:
        pk = maybe_decode_id(id, "TaxBand")
        row = await resolve.tax_band(info.context, pk) if pk else None
        return TaxBand.of(row) if row else None

    @strawberry.field(description="Enabled currencies (admins: all), the store default first.")
    async def currencies(self, info: StrawberryInfo) -> list[Currency]:
        return [Currency.of(r) for r in await resolve.currencies(info.context)]

    @strawberry.field(description="One currency by id or ISO code.")
    async def currency(
        self, info: StrawberryInfo, id: strawberry.ID | None = None, code: str | None = None
    ) -> Currency | None:
        pk = maybe_decode_id(id, "Currency") if id else None
        if (id and not pk) or (not id and not code):
            return None
        row = await resolve.currency(info.context, pk, code)
        return Currency.of(row) if row else None


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Create a tax band.")
    async def tax_band_create(
        self, info: StrawberryInfo, input: TaxBandInput
    ) -> TaxBandPayload | None:
        async def run() -> dict[str, object]:
            row = await resolve.create_tax_band(info.context, input_data(input))
            return {"tax_band": TaxBand.of(row)}

        return await mutate(TaxBandPayload, run)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a tax band.")
    async def tax_band_update(
        self, info: StrawberryInfo, id: strawberry.ID, input: TaxBandInput
    ) -> TaxBandPayload | None:
        async def run() -> dict[str, object]:
            pk = decode_id(id, "TaxBand")
            row = await resolve.update_tax_band(info.context, pk, input_data(input))
            return {"tax_band": TaxBand.of(row)}

        return await mutate(TaxBandPayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Delete a tax band no product or method uses."
    )
    async def tax_band_delete(
        self, info: StrawberryInfo, id: strawberry.ID
    ) -> TaxBandPayload | None:
        async def run() -> dict[str, object]:
            row = await resolve.delete_tax_band(info.context, decode_id(id, "TaxBand"))
            return {"tax_band": TaxBand.of(row)}

        return await mutate(TaxBandPayload, run)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a currency.")
    async def currency_create(
        self, info: StrawberryInfo, input: CurrencyInput
    ) -> CurrencyPayload | None:
        async def run() -> dict[str, object]:
            row = await resolve.create_currency(info.context, input_data(input))
            return {"currency": Currency.of(row)}

        return await mutate(CurrencyPayload, run)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a currency.")
    async def currency_update(
        self, info: StrawberryInfo, id: strawberry.ID, input: CurrencyInput
    ) -> CurrencyPayload | None:
        async def run() -> dict[str, object]:
            pk = decode_id(id, "Currency")
            row = await resolve.update_currency(info.context, pk, input_data(input))
            return {"currency": Currency.of(row)}

        return await mutate(CurrencyPayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Delete a currency (never the store default)."
    )
    async def currency_delete(
        self, info: StrawberryInfo, id: strawberry.ID
    ) -> CurrencyPayload | None:
        async def run() -> dict[str, object]:
            row = await resolve.delete_currency(info.context, decode_id(id, "Currency"))
            return {"currency": Currency.of(row)}

        return await mutate(CurrencyPayload, run)


QUERIES: tuple[type, ...] = (CatalogQuery,)
MUTATIONS: tuple[type, ...] = (CatalogMutation,)
