"""Webhook resolvers: arguments in, domain call, rows out."""

import uuid
from typing import Any

from domain import webhooks
from domain.pagination import Page, PageRequest
from models.events import Event
from models.webhooks import Webhook, WebhookDelivery
from resolvers.context import Context


async def webhook(ctx: Context, pk: uuid.UUID) -> Webhook | None:
    return await ctx.load_by_ids(Webhook).load(pk)


async def delivery(ctx: Context, pk: uuid.UUID) -> WebhookDelivery | None:
    return await ctx.load_by_ids(WebhookDelivery).load(pk)


async def event(ctx: Context, pk: uuid.UUID) -> Event | None:
    return await ctx.load_by_ids(Event).load(pk)


async def webhook_page(ctx: Context, request: PageRequest) -> Page[Webhook]:
    async with ctx.read() as session:
        return await webhooks.webhook_page(session, request)


async def delivery_page(
    ctx: Context, webhook_id: uuid.UUID, where: webhooks.DeliveryFilter, request: PageRequest
) -> Page[WebhookDelivery]:
    async with ctx.read() as session:
        return await webhooks.delivery_page(session, webhook_id, where, request)


async def create_webhook(ctx: Context, data: dict[str, Any]) -> Webhook:
    return await ctx.written(webhooks.create_webhook, data)


async def update_webhook(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> Webhook:
    return await ctx.written(webhooks.update_webhook, pk, data)


async def delete_webhook(ctx: Context, pk: uuid.UUID) -> Webhook:
    return await ctx.written(webhooks.delete_webhook, pk)


async def rotate_secret(ctx: Context, pk: uuid.UUID) -> Webhook:
    return await ctx.written(webhooks.rotate_secret, pk)


async def retry_delivery(ctx: Context, pk: uuid.UUID) -> WebhookDelivery:
    return await ctx.written(webhooks.retry_delivery, pk)
