"""Webhook object types; Node types also say how `node(id:)` fetches them (admins only)."""

import uuid
from datetime import datetime

import strawberry

from domain import delivery as sending
from domain import webhooks as domain
from models.events import Event as EventRow
from models.webhooks import Webhook as WebhookRow
from models.webhooks import WebhookDelivery as DeliveryRow
from resolvers import webhooks as resolve
from schema.base import Connection, Node, StrawberryInfo, admin_node, global_id
from schema.webhooks.enums import WebhookDeliveryStatus, WebhookEvent


@strawberry.type(
    description="An endpoint that receives events as signed HTTP POSTs (Standard Webhooks)."
)
class Webhook(Node):
    url: str = strawberry.field(description="Where events are POSTed (http or https).")
    events: list[WebhookEvent] = strawberry.field(description="The events it receives.")
    enabled: bool = strawberry.field(description="A disabled endpoint gets nothing.")
    description: str = strawberry.field(description="Notes for the back office.")
    secret: str | None = strawberry.field(
        description="The `whsec_...` signing secret: shown only in the payloads of "
        "webhookCreate and webhookSecretRotate, null everywhere else."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def of(cls, row: WebhookRow, show_secret: bool = False) -> "Webhook":
        return cls(
            id=global_id("Webhook", row.id),
            url=row.url,
            events=[domain.WebhookEventType(t) for t in row.events],  # type: ignore[misc]
            enabled=row.enabled,
            description=row.description,
            secret=row.secret if show_secret else None,
            created_at=row.created_at,
        )

    @classmethod
    def with_secret(cls, row: WebhookRow) -> "Webhook":
        return cls.of(row, show_secret=True)

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Webhook | None":
        """What `node(id:)` answers for this type's ids: admins only."""
        return await admin_node(info, lambda context: resolve.webhook(context, pk), cls.of)


@strawberry.type(description="A page of webhooks.")
class WebhookConnection(Connection[Webhook]):
    pass


@strawberry.type(
    description="An event from the outbox, as a delivery carries it; its id is the body's `id` "
    "and the `webhook-id` header."
)
class Event(Node):
    type: str = strawberry.field(description='The body\'s `type`, e.g. "order.paid".')
    sequence: int = strawberry.field(
        description="Its place among its object's events (per order, per product), from 1."
    )
    created_at: datetime = strawberry.field(description="When the change committed it.")

    @classmethod
    def of(cls, row: EventRow) -> "Event":
        return cls(
            id=strawberry.ID(sending.message_id(row)),
            type=row.type,
            sequence=row.sequence,
            created_at=row.created_at,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Event | None":
        """What `node(id:)` answers for this type's ids: admins only."""
        return await admin_node(info, lambda context: resolve.event(context, pk), cls.of)


@strawberry.type(description="One event sent (or to be sent) to one endpoint.")
class WebhookDelivery(Node):
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Tries so far.")
    last_response_status: int | None = strawberry.field(
        description="The HTTP status of the last try (null: no answer, e.g. a timeout)."
    )
    last_error: str | None = strawberry.field(
        description="Why the last try failed (null after a success)."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next (null once SUCCEEDED or FAILED)."
    )
    created_at: datetime = strawberry.field(description="When the event was made.")
    event_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The event it carries.")
    async def event(self, info: StrawberryInfo) -> Event | None:
        row = await resolve.event(info.context, self.event_id)
        return Event.of(row) if row else None

    @classmethod
    def of(cls, row: DeliveryRow) -> "WebhookDelivery":
        return cls(
            id=global_id("WebhookDelivery", row.id),
            status=domain.DeliveryStatus(row.status),  # type: ignore[arg-type]
            attempts=row.attempts,
            last_response_status=row.last_response_status,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            event_id=row.event_id,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "WebhookDelivery | None":
        """What `node(id:)` answers for this type's ids: admins only."""
        return await admin_node(info, lambda context: resolve.delivery(context, pk), cls.of)


@strawberry.type(description="A page of webhook deliveries.")
class WebhookDeliveryConnection(Connection[WebhookDelivery]):
    pass
