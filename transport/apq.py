"""Automatic persisted queries, Apollo's protocol (API.md section 14).

A request's `extensions.persistedQuery {version: 1, sha256Hash}` names its document by hash:
- with the document (`query`), the hash is checked and the document, when it is valid against
  the schema, remembered in the database (so every server process knows it) and in this
  process's memory (an invalid one runs into its errors and is not kept);
- without it, the remembered document runs; an unknown hash gets the error Apollo's clients
  expect (`PersistedQueryNotFound`, code `PERSISTED_QUERY_NOT_FOUND`), and they retry with
  the document. Works over GET (URL parameter `extensions`) and POST alike.
"""

import re
from collections import OrderedDict
from collections.abc import Callable

from graphql import GraphQLError, GraphQLSchema, parse, validate
from strawberry.http import GraphQLRequestData

from domain.persisted import document_hash, store_query, stored_query
from models.engine import Database

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
NOT_FOUND = "PersistedQueryNotFound"


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


class PersistedQueries:
    """Documents by hash: a bounded in-memory LRU in front of the `persisted_query` table."""

    def __init__(
        self, db: Database, schema: GraphQLSchema, stored_max: int, max_size: int = 5000
    ) -> None:
        self.db = db
        self.valid: Callable[[str], bool] = lambda query: _valid(schema, query)
        self.stored_max = stored_max
        """Documents the database keeps (Settings.persisted_queries_max)."""
        self.max_size = max_size
        self._known: OrderedDict[str, str] = OrderedDict()

    async def resolve(self, data: GraphQLRequestData) -> GraphQLError | None:
        """Fill in `data.query` from its persisted-query hash; the error to answer with, if
        any (nothing to do without the extension)."""
        extension = (data.extensions or {}).get("persistedQuery")
        if extension is None:
            return None
        if not isinstance(extension, dict) or extension.get("version") != 1:
            return _error("Unsupported persisted query version (send version 1)", "INVALID")
        sha = extension.get("sha256Hash")
        if not isinstance(sha, str) or not SHA256_HEX.match(sha.lower()):
            return _error("persistedQuery.sha256Hash must be a SHA-256 in hex", "INVALID")
        sha = sha.lower()
        if data.query is not None:
            if document_hash(data.query) != sha:
                return _error("provided sha does not match query", "INVALID")
            if sha not in self._known and self.valid(data.query):
                await self._register(sha, data.query)
            return None
        query = await self._lookup(sha)
        if query is None:
            return _error(NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND")
        data.query = query
        return None

    async def _lookup(self, sha: str) -> str | None:
        query = self._known.get(sha)
        if query is None:
            async with self.db.reader() as session:
                query = await stored_query(session, sha)
            if query is not None:
                self._remember(sha, query)
        else:
            self._known.move_to_end(sha)
        return query

    async def _register(self, sha: str, query: str) -> None:
        async with self.db.reader() as session:
            stored = await stored_query(session, sha) is not None
        if not stored:
            async with self.db.transaction() as session:
                await store_query(session, sha, query, self.stored_max)
        self._remember(sha, query)

    def _remember(self, sha: str, query: str) -> None:
        self._known[sha] = query
        while len(self._known) > self.max_size:
            self._known.popitem(last=False)


def _valid(schema: GraphQLSchema, query: str) -> bool:
    """Whether the document parses and validates (the limits on depth, aliases and cost are
    checked when it runs, as for any document)."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    return not validate(schema, document)
