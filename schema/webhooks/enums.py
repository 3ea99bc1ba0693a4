"""Webhook enums (schema enums made from the domain's, every value described)."""

import strawberry

from domain import webhooks as domain
from schema.base import describe_values

WebhookEvent = strawberry.enum(
    domain.WebhookEventType,
    name="WebhookEvent",
    description="An event an endpoint can receive; its body's `type` is the name in lower case "
    'with a dot (ORDER_PAID is "order.paid").',
)

WebhookDeliveryStatus = strawberry.enum(
    domain.DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="Where a delivery stands.",
)

describe_values(
    WebhookEvent,
    {
        "ORDER_CREATED": "An order was placed (checkout or orderCreate). Data: the order.",
        "ORDER_PAID": "An order's payment reached PAID (purchase or capture). Data: the order.",
        "ORDER_FULFILLED": "An order was fulfilled. Data: the order.",
        "ORDER_CANCELLED": "An order was cancelled, by an admin or by the unpaid-order expiry. "
        "Data: the order.",
        "ORDER_UPDATED": "An order changed otherwise (orderUpdate, an authorization made or "
        "voided, a reservation released). Data: the order.",
        "PAYMENT_FAILED": "A payment of an order was declined or abandoned. Data: the order.",
        "REFUND_CREATED": "Money of an order was refunded. Data: the order.",
        "STOCK_LOW": "A managed product's available units fell to the low-stock threshold or "
        "below (or rose from none to it). Data: {id, sku, stock}.",
        "STOCK_OUT": "A managed product has no available units left. Data: {id, sku, stock}.",
        "PRODUCT_CREATED": "A product was created. Data: the product.",
        "PRODUCT_UPDATED": "A product was changed. Data: the product.",
        "PRODUCT_DELETED": "A product was deleted. Data: the product as it was.",
    },
)

describe_values(
    WebhookDeliveryStatus,
    {
        "PENDING": "Waiting for its first try, or for its next retry.",
        "SUCCEEDED": "The endpoint answered 2xx.",
        "FAILED": "Every try failed for the whole retry window; webhookDeliveryRetry sends it "
        "again.",
    },
)
