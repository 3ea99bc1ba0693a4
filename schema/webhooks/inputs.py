"""Webhook inputs: an endpoint's fields and the deliveries filter."""

import strawberry

from domain import webhooks as domain
from schema.base import described
from schema.webhooks.enums import WebhookDeliveryStatus, WebhookEvent


@strawberry.input(
    description="An endpoint's fields. On update, omitted fields stay as they are; `events` "
    "replaces the list."
)
class WebhookInput:
    url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Where events are POSTed: an http or https URL (INVALID otherwise). "
        "Required on create.",
    )
    events: list[WebhookEvent] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The events it receives, at least one. Required on create.",
    )
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Default true. A disabled endpoint gets nothing: events while it is "
        "disabled are not sent to it later, and its pending deliveries wait.",
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Notes for the back office (1000 characters)."
    )


@strawberry.input(description="Which deliveries (every given condition holds).")
class WebhookDeliveryFilter:
    status: WebhookDeliveryStatus | None = strawberry.field(
        default=None, description="Only deliveries in this state."
    )

    def to_domain(self) -> domain.DeliveryFilter:
        return domain.DeliveryFilter(self.status.value if self.status else None)


WebhookIdArg = described(strawberry.ID, "The webhook's global id.")
DeliveryIdArg = described(strawberry.ID, "The delivery's global id.")
WebhookInputArg = described(WebhookInput, "The endpoint's fields.")
DeliveryFilterArg = described(WebhookDeliveryFilter | None, "Which deliveries.")
