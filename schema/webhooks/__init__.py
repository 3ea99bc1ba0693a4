"""Webhooks (API.md section 12)."""

from schema.base import Node
from schema.webhooks.mutations import WebhookMutation
from schema.webhooks.queries import WebhookQuery
from schema.webhooks.types import Event, Webhook, WebhookDelivery

QUERIES: tuple[type, ...] = (WebhookQuery,)
MUTATIONS: tuple[type, ...] = (WebhookMutation,)
NODE_TYPES: tuple[type[Node], ...] = (Event, Webhook, WebhookDelivery)
