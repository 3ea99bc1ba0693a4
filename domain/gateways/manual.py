"""`manual`: money taken outside the system (cash on delivery, bank transfer).

AUTHORIZE records a promise to pay and CAPTURE records that the money arrived; PURCHASE marks
an order paid at once, so it is for admin tokens only: a storefront must never be able to mark
its own order paid. Nothing leaves the system, so every operation succeeds.
"""

from typing import ClassVar

from domain.gateways.base import FollowUp, GatewayResult, Operation, PaymentGateway, PaymentRequest


class ManualGateway(PaymentGateway):
    slug = "manual"
    default_name = "Pay on delivery / bank transfer"
    operations = frozenset(Operation)
    admin_only = frozenset({Operation.PURCHASE})
    setting_types: ClassVar = {"instructions": str}

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        return GatewayResult(succeeded=True)

    async def purchase(self, request: PaymentRequest) -> GatewayResult:
        return GatewayResult(succeeded=True)

    async def capture(self, follow_up: FollowUp) -> GatewayResult:
        return GatewayResult(succeeded=True)

    async def refund(self, follow_up: FollowUp) -> GatewayResult:
        return GatewayResult(succeeded=True)

    async def void(self, follow_up: FollowUp) -> GatewayResult:
        return GatewayResult(succeeded=True)
