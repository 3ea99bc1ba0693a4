"""Root fields that belong to no single area: `node(id:)`."""

from collections.abc import Mapping

import strawberry

from resolvers.ids import parse_id
from schema.base import Node, StrawberryInfo, described

NodeIdArg = described(strawberry.ID, "A global id, as any object's `id` field gives it.")


def node_query(node_types: Mapping[str, type[Node]]) -> type:
    """The `node(id:)` root field over `node_types` (GraphQL type name -> Node type), which
    schema assembly collects from every area's NODE_TYPES."""

    @strawberry.type
    class CoreQuery:
        @strawberry.field(description="Any object by its global id, if the caller may see it.")
        async def node(self, info: StrawberryInfo, id: NodeIdArg) -> Node | None:
            parsed = parse_id(id)
            node_type = node_types.get(parsed[0]) if parsed else None
            if parsed is None or node_type is None:
                return None
            return await node_type.resolve_node(info, parsed[1])

    return CoreQuery
