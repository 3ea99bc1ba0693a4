"""Root fields that belong to no single area: `node(id:)`."""

from schema.core.queries import CoreQuery

QUERIES: tuple[type, ...] = (CoreQuery,)
MUTATIONS: tuple[type, ...] = ()
MUTATIONS: tuple[type, ...] = ()
