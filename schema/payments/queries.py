"""Payment root query fields."""

import strawberry

from resolvers import payments as resolve
from schema.base import StrawberryInfo
from schema.payments.types import Gateway


@strawberry.type
class PaymentsQuery:
    @strawberry.field(description="Enabled payment gateways (admins: every gateway), by slug.")
    async def gateways(self, info: StrawberryInfo) -> list[Gateway]:
        return [Gateway.of(r) for r in await resolve.gateways(info.context)]
