"""Schema assembly: each area contributes its Query and Mutation types (QUERIES, MUTATIONS),
if it has any its Subscription types (SUBSCRIPTIONS), and the Node types `node(id:)` finds
(NODE_TYPES, each resolving itself with its `resolve_node` classmethod)."""

from graphql import GraphQLError
from strawberry import Schema
from strawberry.extensions import MaxTokensLimiter, ParserCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from models.settings import Settings
from schema import (
    carts,
    catalog,
    customers,
    inventory,
    orders,
    payments,
    search,
    shipping,
    webhooks,
)
from schema.base import Node, install_lean_resolvers
from schema.core.queries import node_query
from schema.cost import query_cost_extension
from schema.errors import ClientSafeErrors
from schema.execution import StockroomExecutionContext
from schema.limits import CheckedValidation, checked_validation
from schema.observability import RecordOperations
from schema.promotions import area as promotions
from schema.tracing import tracing_extensions

AREAS = (
    catalog,
    search,
    shipping,
    customers,
    carts,
    orders,
    payments,
    inventory,
    promotions,
    webhooks,
)
NODE_TYPES: dict[str, type[Node]] = {
    t.__strawberry_definition__.name: t  # type: ignore[attr-defined]
    for area in AREAS
    for t in area.NODE_TYPES
}
QUERY_TYPES: tuple[type, ...] = (
    node_query(NODE_TYPES),
    *(t for area in AREAS for t in area.QUERIES),
)
MUTATION_TYPES: tuple[type, ...] = tuple(t for area in AREAS for t in area.MUTATIONS)
SUBSCRIPTION_TYPES: tuple[type, ...] = tuple(
    t for area in AREAS for t in getattr(area, "SUBSCRIPTIONS", ())
)


def root_type(name: str, types: tuple[type, ...], description: str) -> type:
    """One root type from every area's root fields, described for the GraphiQL docs pane."""
    merged = merge_types(name, types)
    merged.__strawberry_definition__.description = description  # type: ignore[attr-defined]
    return merged


class StockroomSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Internal errors are logged by ClientSafeErrors (with the request id); others are the
        client's business, so nothing more to log here."""


def build_schema(settings: Settings) -> Schema:
    # Depth and alias limits in linear time, before GraphQL's rules; cached per document
    # across requests (one function per schema).
    validate = checked_validation(settings.max_query_depth, settings.max_aliases)
    cost = query_cost_extension(settings.max_query_cost)
    schema = StockroomSchema(
        query=root_type(
            "Query",
            QUERY_TYPES,
            "Reads. Prices show in the X-Currency currency (else the store's).",
        ),
        mutation=root_type(
            "Mutation",
            MUTATION_TYPES,
            "Changes. Business failures come back as the payload's `errors` (UserError), and a "
            "failed mutation changes nothing.",
        ),
        subscription=root_type(
            "Subscription",
            SUBSCRIPTION_TYPES,
            "Live updates over WebSocket (graphql-transport-ws at /graphql).",
        ),
        types=[],
        execution_context_class=StockroomExecutionContext,
        config=StrawberryConfig(
            auto_camel_case=True,
            # Apollo's BatchHttpLink and the like: a JSON array of operations, run one after
            # another (transport/http.py), at most this many per request.
            batching_config={"max_operations": settings.max_batch_operations},
        ),
        extensions=[
            RecordOperations,  # outermost: it sees the errors as clients get them
            ClientSafeErrors,
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: ParserCache(maxsize=1000),  # the LRU cache is shared across requests
            lambda: CheckedValidation(validate),
            cost,  # after CheckedValidation: it prices documents that validation passed
            *tracing_extensions(),
        ],
    )
    install_lean_resolvers(schema._schema)
    return schema
