"""`card`: the test card gateway of API.md. It checks the card like a real provider would
(Luhn, expiry, CVC) and answers by number: 4000000000000002 is declined, 4000000000009995 is
declined for insufficient funds, and every other valid number (4242424242424242 is the
documented one) succeeds. Like a real provider it remembers what it answered to each
authorization and purchase (`card_ledger`), so `recover` can tell the sweep whether a payment
whose answer was lost was approved. Captures, refunds and voids of its references always
succeed.
"""

import secrets
from datetime import date

from domain.errors import DomainError, ErrorCode
from domain.gateways import card_ledger
from domain.gateways.base import (
    CardDetails,
    CardSummary,
    FollowUp,
    GatewayResult,
    Operation,
    PaymentGateway,
    PaymentRequest,
)

DECLINES = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card was declined: insufficient funds.",
}


def _prefixes(*ranges: range) -> tuple[str, ...]:
    return tuple(str(p) for r in ranges for p in r)


BRANDS = (  # (prefixes, brand), the first match wins
    (("34", "37"), "amex"),
    (("4",), "visa"),
    (_prefixes(range(51, 56), range(2221, 2721)), "mastercard"),
    (("6011", "65", *_prefixes(range(644, 650))), "discover"),
)
CARD_FIELD = ["input", "card"]


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    for prefixes, brand in BRANDS:
        if digits.startswith(prefixes):
            return brand
    return "unknown"


def _error(message: str, name: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, message, [*CARD_FIELD, name])


def card_problems(card: CardDetails, today: date) -> list[DomainError]:
    errors = []
    digits = card.digits
    if not (digits.isdigit() and 12 <= len(digits) <= 19 and digits.isascii()):
        errors.append(_error("the card number must be 12 to 19 digits", "number"))
    elif not luhn_valid(digits):
        errors.append(_error("the card number is not valid (checksum)", "number"))
    if not 1 <= card.exp_month <= 12:
        errors.append(_error("expMonth must be 1 to 12", "expMonth"))
    year = card.full_year
    if not 2000 <= year <= 2100:
        errors.append(_error("expYear must be a year such as 2030 (or 30)", "expYear"))
    elif year < today.year:
        errors.append(_error("the card has expired", "expYear"))
    elif year == today.year and 1 <= card.exp_month < today.month:
        errors.append(_error("the card has expired", "expMonth"))
    if not (card.cvc.isdigit() and card.cvc.isascii() and len(card.cvc) in (3, 4)):
        errors.append(_error("the CVC must be 3 or 4 digits", "cvc"))
    return errors


class CardGateway(PaymentGateway):
    slug = "card"
    default_name = "Card"
    operations = frozenset(Operation)
    takes_card = True

    def check_details(self, card: CardDetails | None, today: date) -> list[DomainError]:
        if card is None:
            return [DomainError(ErrorCode.REQUIRED, "the card gateway needs a card", CARD_FIELD)]
        return card_problems(card, today)

    def card_summary(self, card: CardDetails | None) -> CardSummary | None:
        if card is None:
            return None
        return CardSummary(brand=brand_of(card.digits), last4=card.digits[-4:])

    def _charge(self, request: PaymentRequest) -> GatewayResult:
        assert request.card is not None  # check_details ran first
        decline = DECLINES.get(request.card.digits)
        answer = card_ledger.Answer(decline is None, _reference(), decline)
        card_ledger.remember(request.transaction_id, answer)
        return GatewayResult(answer.succeeded, answer.reference, answer.error_message)

    async def recover(self, request: PaymentRequest) -> GatewayResult | None:
        """What this gateway answered for the payment; one it never answered was not
        charged (the answer is recorded before it is given)."""
        answer = card_ledger.recall(request.transaction_id)
        if answer is None:
            return GatewayResult(False, None, "the gateway never received this payment")
        return GatewayResult(answer.succeeded, answer.reference, answer.error_message)

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        return self._charge(request)

    async def purchase(self, request: PaymentRequest) -> GatewayResult:
        return self._charge(request)

    async def capture(self, follow_up: FollowUp) -> GatewayResult:
        return GatewayResult(succeeded=True, reference=_reference())

    async def refund(self, follow_up: FollowUp) -> GatewayResult:
        return GatewayResult(succeeded=True, reference=_reference())

    async def void(self, follow_up: FollowUp) -> GatewayResult:
        return GatewayResult(succeeded=True, reference=_reference())


def _reference() -> str:
    return f"test_{secrets.token_hex(12)}"
