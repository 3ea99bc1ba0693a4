"""Webhook root mutation fields and their payload types (admin only)."""

import strawberry

from resolvers import webhooks as resolve
from resolvers.ids import decode_id
from schema.base import IsAdmin, StrawberryInfo, UserError, input_data, row_result
from schema.webhooks.inputs import DeliveryIdArg, WebhookIdArg, WebhookInputArg
from schema.webhooks.types import Webhook, WebhookDelivery


@strawberry.type(description="The result of a webhook change.")
class WebhookPayload:
    webhook: Webhook | None = strawberry.field(
        default=None, description="The endpoint (as it was, after a delete)."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


@strawberry.type(description="The result of a manual delivery retry.")
class WebhookDeliveryPayload:
    webhook_delivery: WebhookDelivery | None = strawberry.field(
        default=None, description="The delivery, PENDING again."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation failed; empty on success (nothing changed on failure)."
    )


webhook_result = row_result(WebhookPayload, "webhook", Webhook.of)
webhook_with_secret = row_result(WebhookPayload, "webhook", Webhook.with_secret)
delivery_result = row_result(WebhookDeliveryPayload, "webhook_delivery", WebhookDelivery.of)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Register an endpoint. The payload shows its signing secret, this once.",
    )
    async def webhook_create(
        self, info: StrawberryInfo, input: WebhookInputArg
    ) -> WebhookPayload | None:
        return await webhook_with_secret(
            lambda: resolve.create_webhook(info.context, input_data(input))
        )

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change an endpoint.")
    async def webhook_update(
        self, info: StrawberryInfo, id: WebhookIdArg, input: WebhookInputArg
    ) -> WebhookPayload | None:
        return await webhook_result(
            lambda: resolve.update_webhook(
                info.context, decode_id(id, "Webhook"), input_data(input)
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete an endpoint and its deliveries; nothing more is sent to it.",
    )
    async def webhook_delete(self, info: StrawberryInfo, id: WebhookIdArg) -> WebhookPayload | None:
        return await webhook_result(
            lambda: resolve.delete_webhook(info.context, decode_id(id, "Webhook"))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Give an endpoint a new signing secret (shown in the payload, this once); "
        "every later request is signed with it.",
    )
    async def webhook_secret_rotate(
        self, info: StrawberryInfo, id: WebhookIdArg
    ) -> WebhookPayload | None:
        return await webhook_with_secret(
            lambda: resolve.rotate_secret(info.context, decode_id(id, "Webhook"))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Send a FAILED delivery again, with a fresh retry schedule "
        "(INVALID_TRANSITION for one that is not FAILED).",
    )
    async def webhook_delivery_retry(
        self, info: StrawberryInfo, id: DeliveryIdArg
    ) -> WebhookDeliveryPayload | None:
        return await delivery_result(
            lambda: resolve.retry_delivery(info.context, decode_id(id, "WebhookDelivery"))
        )
