"""Root fields that belong to no single area: `node(id:)`."""

import strawberry

from schema.base import Node, StrawberryInfo, described, resolve_node

NodeIdArg = described(strawberry.ID, "A global id, as any object's `id` field gives it.")


@strawberry.type
class CoreQuery:
    @strawberry.field(description="Any object by its global id, if the caller may see it.")
    async def node(self, info: StrawberryInfo, id: NodeIdArg) -> Node | None:
        return await resolve_node(info, id)
