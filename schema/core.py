"""Root fields that belong to no single area: `node(id:)`."""

import strawberry

from schema.base import Node, StrawberryInfo, resolve_node


@strawberry.type
class CoreQuery:
    @strawberry.field(description="Any object by its global id, if the caller may see it.")
    async def node(self, info: StrawberryInfo, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)


QUERIES: tuple[type, ...] = (CoreQuery,)
MUTATIONS: tuple[type, ...] = ()
