"""Webhook queries (admin only)."""

import strawberry

from domain import webhooks as domain
from domain.errors import DomainError
from resolvers import webhooks as resolve
from resolvers.context import PublicError
from resolvers.ids import decode_id
from schema.base import AfterArg, FirstArg, IsAdmin, StrawberryInfo, page_request
from schema.webhooks.inputs import DeliveryFilterArg, WebhookIdArg
from schema.webhooks.types import (
    Webhook,
    WebhookConnection,
    WebhookDelivery,
    WebhookDeliveryConnection,
)


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        permission_classes=[IsAdmin], description="Every webhook endpoint, newest first."
    )
    async def webhooks(
        self, info: StrawberryInfo, first: FirstArg = None, after: AfterArg = None
    ) -> WebhookConnection | None:
        page = await resolve.webhook_page(info.context, page_request(first, after, None, None))
        return WebhookConnection.of(page, Webhook.of)  # type: ignore[return-value]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="An endpoint's deliveries, newest first (an unknown webhook is an error).",
    )
    async def webhook_deliveries(
        self,
        info: StrawberryInfo,
        webhook_id: WebhookIdArg,
        first: FirstArg = None,
        after: AfterArg = None,
        filter: DeliveryFilterArg = None,
    ) -> WebhookDeliveryConnection | None:
        where = filter.to_domain() if filter else domain.DeliveryFilter()
        request = page_request(first, after, None, None)
        try:
            pk = decode_id(webhook_id, "Webhook", ["webhookId"])
            page = await resolve.delivery_page(info.context, pk, where, request)
        except DomainError as error:  # an unknown webhook
            raise PublicError(error.message, error.code.value) from error
        return WebhookDeliveryConnection.of(page, WebhookDelivery.of)  # type: ignore[return-value]
