"""Business failures. Domain code raises these; the schema layer turns them into UserErrors."""

from collections.abc import Sequence
from enum import Enum


class ErrorCode(Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    IN_USE = "IN_USE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    CART_EMPTY = "CART_EMPTY"
    SHIPPING_METHOD_REQUIRED = "SHIPPING_METHOD_REQUIRED"
    SHIPPING_METHOD_NOT_ELIGIBLE = "SHIPPING_METHOD_NOT_ELIGIBLE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    GATEWAY_DISABLED = "GATEWAY_DISABLED"
    UNSUPPORTED_GATEWAY_OPERATION = "UNSUPPORTED_GATEWAY_OPERATION"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    FORBIDDEN = "FORBIDDEN"
    PROMOTION_INVALID = "PROMOTION_INVALID"
    PROMOTION_NOT_APPLICABLE = "PROMOTION_NOT_APPLICABLE"
    PROMOTION_EXHAUSTED = "PROMOTION_EXHAUSTED"
    RATE_LIMITED = "RATE_LIMITED"


class DomainError(Exception):
    """One business failure; `field` is the path into the mutation's arguments."""

    def __init__(self, code: ErrorCode, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = list(field) if field is not None else None


class DomainErrors(Exception):
    """Several failures found at once (e.g. every invalid field of an input)."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def raise_all(errors: Sequence[DomainError]) -> None:
    """Raise the collected errors, if any."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DomainErrors(errors)
