"""Webhook endpoints: admin CRUD, signing secrets, delivery listings and manual retries
(API.md section 12). Sending is domain/delivery.py's."""

import base64
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.errors import DomainError, ErrorCode, raise_all
from domain.events import WEBHOOK_TYPES
from domain.pagination import Page, PageRequest, SortKey, paginate
from domain.validation import apply_changes, get_or_404
from models.base import utcnow
from models.webhooks import Webhook, WebhookDelivery

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 1000


class DeliveryStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


PENDING, SUCCEEDED, FAILED = (s.value for s in DeliveryStatus)


class WebhookEventType(Enum):
    """What an endpoint can receive: API.md's WebhookEvent names, valued by the event type."""

    ORDER_CREATED = events.ORDER_CREATED
    ORDER_PAID = events.ORDER_PAID
    ORDER_FULFILLED = events.ORDER_FULFILLED
    ORDER_CANCELLED = events.ORDER_CANCELLED
    ORDER_UPDATED = events.ORDER_UPDATED
    PAYMENT_FAILED = events.PAYMENT_FAILED
    REFUND_CREATED = events.REFUND_CREATED
    STOCK_LOW = events.STOCK_LOW
    STOCK_OUT = events.STOCK_OUT
    PRODUCT_CREATED = events.PRODUCT_CREATED
    PRODUCT_UPDATED = events.PRODUCT_UPDATED
    PRODUCT_DELETED = events.PRODUCT_DELETED


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _clean_url(errors: list[DomainError], url: Any) -> str | None:
    field = ["input", "url"]
    if url is None:
        errors.append(DomainError(ErrorCode.REQUIRED, "url is required", field))
        return None
    text = url.strip() if isinstance(url, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        message = "url must be an http or https URL with a host"
        errors.append(DomainError(ErrorCode.INVALID, message, field))
        return None
    if len(text) > MAX_URL_LENGTH:
        message = f"url must be at most {MAX_URL_LENGTH} characters"
        errors.append(DomainError(ErrorCode.INVALID, message, field))
        return None
    return text


def _clean_events(errors: list[DomainError], types: Any) -> list[str] | None:
    field = ["input", "events"]
    if not types:
        errors.append(DomainError(ErrorCode.REQUIRED, "choose at least one event", field))
        return None
    names = {t.value if isinstance(t, WebhookEventType) else t for t in types}
    unknown = sorted(names - set(WEBHOOK_TYPES))
    if unknown:
        errors.append(DomainError(ErrorCode.INVALID, f"unknown events: {unknown}", field))
        return None
    return [t for t in WEBHOOK_TYPES if t in names]  # the contract's order, each once


def _clean(data: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    """The columns `data` sets (every required one when not `partial`), or every problem."""
    errors: list[DomainError] = []
    columns: dict[str, Any] = {}
    if not partial or "url" in data:
        columns["url"] = _clean_url(errors, data.get("url"))
    if not partial or "events" in data:
        columns["events"] = _clean_events(errors, data.get("events"))
    if data.get("enabled") is not None:
        columns["enabled"] = bool(data["enabled"])
    elif "enabled" in data:
        errors.append(
            DomainError(ErrorCode.INVALID, "enabled cannot be null", ["input", "enabled"])
        )
    if "description" in data:
        description = (data["description"] or "").strip()
        if len(description) > MAX_DESCRIPTION_LENGTH:
            message = f"description must be at most {MAX_DESCRIPTION_LENGTH} characters"
            errors.append(DomainError(ErrorCode.INVALID, message, ["input", "description"]))
        columns["description"] = description
    raise_all(errors)
    return columns


async def create_webhook(session: AsyncSession, data: Mapping[str, Any]) -> Webhook:
    webhook = Webhook(**_clean(data, partial=False), secret=new_secret())
    session.add(webhook)
    await session.flush()
    return webhook


async def update_webhook(session: AsyncSession, pk: uuid.UUID, data: Mapping[str, Any]) -> Webhook:
    webhook = await get_or_404(session, Webhook, pk, ["id"])
    apply_changes(webhook, _clean(data, partial=True))
    await session.flush()
    return webhook


async def delete_webhook(session: AsyncSession, pk: uuid.UUID) -> Webhook:
    """Delete the endpoint and its deliveries (ON DELETE CASCADE); nothing more is sent."""
    webhook = await get_or_404(session, Webhook, pk, ["id"])
    await session.delete(webhook)
    await session.flush()
    return webhook


async def rotate_secret(session: AsyncSession, pk: uuid.UUID) -> Webhook:
    """A new signing secret; deliveries sent from now on are signed with it."""
    webhook = await get_or_404(session, Webhook, pk, ["id"])
    apply_changes(webhook, {"secret": new_secret()})
    await session.flush()
    return webhook


async def webhook_page(session: AsyncSession, request: PageRequest) -> Page[Webhook]:
    """Every endpoint, newest first."""
    keys = [
        SortKey(Webhook.created_at, lambda row: row.created_at),  # type: ignore[arg-type]
        SortKey(Webhook.id, lambda row: row.id),  # type: ignore[arg-type]
    ]
    return await paginate(session, select(Webhook), keys, True, request)


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    status: str | None = None


async def delivery_page(
    session: AsyncSession, webhook_id: uuid.UUID, where: DeliveryFilter, request: PageRequest
) -> Page[WebhookDelivery]:
    """One endpoint's deliveries, newest first; NOT_FOUND for an unknown endpoint."""
    await get_or_404(session, Webhook, webhook_id, ["webhookId"])
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if where.status is not None:
        stmt = stmt.where(WebhookDelivery.status == where.status)
    keys = [
        SortKey(WebhookDelivery.created_at, lambda row: row.created_at),  # type: ignore[arg-type]
        SortKey(WebhookDelivery.id, lambda row: row.id),  # type: ignore[arg-type]
    ]
    return await paginate(session, stmt, keys, True, request)


async def retry_delivery(session: AsyncSession, pk: uuid.UUID) -> WebhookDelivery:
    """Send a FAILED delivery again, with a fresh retry schedule (its attempts count on).
    Conditional on FAILED, so two retries at once make one."""
    now = utcnow()
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == pk, WebhookDelivery.status == FAILED)
        .values(status=PENDING, next_attempt_at=now, retrying_since=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    delivery = await session.get(WebhookDelivery, pk, populate_existing=True)
    if delivery is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no webhook delivery with that id", ["id"])
    if result.rowcount != 1:  # type: ignore[attr-defined]
        message = f"only a FAILED delivery can be retried (this one is {delivery.status})"
        raise DomainError(ErrorCode.INVALID_TRANSITION, message, ["id"])
    return delivery
