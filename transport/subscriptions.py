"""The per-token limit on running subscriptions (STOCKROOM_MAX_SUBSCRIPTIONS_PER_TOKEN).

Counted per server process, over all the WebSocket connections of one access token: each
process holds its own subscribers (domain/eventbus.py), so what one process can be made to
hold is bounded by its own count. Queries and mutations sent over a WebSocket finish at once
and are not counted.
"""

from functools import lru_cache

from graphql import GraphQLError, OperationType, get_operation_ast, parse


@lru_cache(maxsize=1000)
def is_subscription(query: str, operation_name: str | None) -> bool:
    """Whether the document's chosen operation is a subscription (a document that does not
    parse is left to GraphQL to report)."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


class SubscriptionSlots:
    """Running subscriptions per token key (a digest of the token)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: dict[str, int] = {}

    def take(self, key: str) -> bool:
        """One more subscription for `key`, unless it runs `limit` already."""
        running = self._running.get(key, 0)
        if running >= self.limit:
            return False
        self._running[key] = running + 1
        return True

    def give_back(self, key: str) -> None:
        running = self._running.get(key, 0) - 1
        if running > 0:
            self._running[key] = running
        else:
            self._running.pop(key, None)

    def running(self, key: str) -> int:
        return self._running.get(key, 0)

    def refusal(self) -> dict[str, object]:
        """The graphql-transport-ws `error` payload's one error for a refused subscription."""
        message = f"this token runs {self.limit} subscriptions already (the most at once)"
        return {"message": message, "extensions": {"code": "RATE_LIMITED"}}
