"""The payment gateway plugin interface.

A gateway is one module with one `PaymentGateway` subclass, registered in
`domain.gateways.REGISTRY`. It declares which operations it supports, checks the payment
details a buyer sent (before anything is written), and performs the operations. It never sees
the database: the payment flow in `domain.payments` records what it answers. A real provider
(e.g. Stripe) maps `authorize`/`purchase` to a PaymentIntent, `capture`/`refund`/`void` to the
calls on it, passes `PaymentRequest.idempotency_key` through, and implements `recover` so that
the sweep can learn the outcome of a payment whose answer was lost.
"""

import uuid
from abc import ABC
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, ClassVar

from domain.errors import DomainError


class Operation(Enum):
    AUTHORIZE = "AUTHORIZE"
    PURCHASE = "PURCHASE"
    CAPTURE = "CAPTURE"
    REFUND = "REFUND"
    VOID = "VOID"


@dataclass(frozen=True, slots=True)
class CardDetails:
    """Card data as the buyer typed it. It lives only for the request: it is never stored, and
    its repr hides the number and the CVC so it cannot leak into logs or tracebacks."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    @property
    def digits(self) -> str:
        """The number without the spaces and dashes people type."""
        return self.number.replace(" ", "").replace("-", "")

    @property
    def full_year(self) -> int:
        """`exp_year` with two digits read as 20xx, as printed on cards."""
        return 2000 + self.exp_year if 0 <= self.exp_year <= 99 else self.exp_year


@dataclass(frozen=True, slots=True)
class CardSummary:
    """What may be kept of a card."""

    brand: str
    last4: str


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """An authorization or purchase of `amount` minor units of `currency` for an order."""

    transaction_id: uuid.UUID
    order_id: uuid.UUID
    amount: int
    currency: str
    card: CardDetails | None
    idempotency_key: str | None
    settings: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A capture, refund or void of an earlier transaction, named by the gateway's reference."""

    transaction_id: uuid.UUID
    reference: str | None
    amount: int
    currency: str
    settings: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class GatewayResult:
    succeeded: bool
    reference: str | None = None
    error_message: str | None = None


class UnsupportedOperation(Exception):
    """Raised by the default implementation of an operation a gateway does not support."""


class PaymentGateway(ABC):
    slug: ClassVar[str]
    default_name: ClassVar[str]
    operations: ClassVar[frozenset[Operation]]
    admin_only: ClassVar[frozenset[Operation]] = frozenset()
    """Operations a storefront may not ask for (e.g. marking its own order paid)."""
    setting_types: ClassVar[Mapping[str, type]] = {}
    """The settings an admin may set (`gatewayUpdate`), by name and Python type."""
    takes_card: ClassVar[bool] = False

    def check_details(self, card: CardDetails | None, today: date) -> list[DomainError]:
        """Problems with the payment details of `orderPay` (field paths under `input`)."""
        return []

    def card_summary(self, card: CardDetails | None) -> CardSummary | None:
        return None

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        raise UnsupportedOperation(Operation.AUTHORIZE)

    async def purchase(self, request: PaymentRequest) -> GatewayResult:
        raise UnsupportedOperation(Operation.PURCHASE)

    async def capture(self, follow_up: FollowUp) -> GatewayResult:
        raise UnsupportedOperation(Operation.CAPTURE)

    async def refund(self, follow_up: FollowUp) -> GatewayResult:
        raise UnsupportedOperation(Operation.REFUND)

    async def void(self, follow_up: FollowUp) -> GatewayResult:
        raise UnsupportedOperation(Operation.VOID)

    async def recover(self, request: PaymentRequest) -> GatewayResult | None:
        """The outcome of an authorization or purchase whose answer was lost (a crash), or
        None when the gateway cannot tell; the sweep then treats it as never charged."""
        return None
