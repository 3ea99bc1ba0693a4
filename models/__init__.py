"""SQLModel tables, engines and sessions. Importing this package registers every table."""

from sqlmodel import SQLModel

from models import (  # noqa: F401
    auth,
    carts,
    catalog,
    customers,
    events,
    inventory,
    orders,
    payments,
    persisted,
    promotions,
    ratelimit,
    shipping,
    versions,
    webhooks,
)

metadata = SQLModel.metadata
