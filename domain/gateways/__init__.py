"""Payment gateways: the plugin interface (`base`), the registry, and the two built-ins.

Adding a provider is one module with a `PaymentGateway` subclass and one `register(...)` call
here; its row in the `gateway` table (name, enabled, settings) is seeded at start-up.
"""

from domain.gateways.base import PaymentGateway
from domain.gateways.card import CardGateway
from domain.gateways.manual import ManualGateway

REGISTRY: dict[str, PaymentGateway] = {}


def register(gateway: PaymentGateway) -> None:
    REGISTRY[gateway.slug] = gateway


def get(slug: str) -> PaymentGateway | None:
    return REGISTRY.get(slug)


register(ManualGateway())
register(CardGateway())
