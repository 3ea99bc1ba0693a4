"""The per-request context: database access, caller identity, display currency, DataLoaders."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from domain.auth import Principal
from domain.currencies import CurrencyTable, load_currency_table
from domain.pricing import CurrencySpec
from models.base import rows_by_ids
from models.engine import Database
from models.settings import Settings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Row = TypeVar("Row")
BatchFn = Callable[["Context", Sequence[Any]], Awaitable[Sequence[Any]]]


class PublicError(GraphQLError):
    """A GraphQL error meant for the client (never masked), with an `extensions.code`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


@dataclass
class Context:
    db: Database
    settings: Settings
    principal: Principal | None
    request: Any = None
    response: Any = None
    customer_id: uuid.UUID | None = None
    requested_currency: str | None = None
    connection_params: Any = None  # a WebSocket's connection_init payload (holds the token)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    _currencies: CurrencyTable | None = None

    def forget_cached(self) -> None:
        """Drop the DataLoaders and the currency table: what follows reads the data as it is
        now. Done after each write, and before each operation (over a WebSocket one context
        serves every operation of the connection). Work still running makes new loaders."""
        self._loaders = {}
        self._currencies = None

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.is_admin

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read session. Reads of one request take turns: one connection per request."""
        async with self._lock, self.db.reader() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction; any exception (a DomainError too) rolls it all back. What
        the request had cached is forgotten once it commits: the next mutation of the document
        (mutations run one after another) reads the data as this one left it."""
        async with self.db.transaction() as session:
            yield session
        self.forget_cached()

    async def written(self, work: Callable[..., Awaitable[V]], *args: Any) -> V:
        """`work(session, *args)` in one write transaction (see `write`): what most mutations'
        resolvers do."""
        async with self.write() as session:
            return await work(session, *args)

    def loader(self, batch_fn: BatchFn) -> DataLoader[Any, Any]:
        """The request's DataLoader for `batch_fn(context, keys)`, made on first use."""

        async def load(keys: Sequence[Any]) -> Sequence[Any]:
            return await batch_fn(self, keys)

        return self._loader(f"{batch_fn.__module__}.{batch_fn.__qualname__}", load)

    def load_by_ids(self, model: type[Row]) -> "DataLoader[uuid.UUID, Row | None]":
        """The request's DataLoader of `model` rows by primary key (None where there is none):
        one `SELECT ... WHERE id IN (...)` per batch, whatever the table."""

        async def load(ids: Sequence[uuid.UUID]) -> Sequence[Row | None]:
            async with self.read() as session:
                return await rows_by_ids(session, model, ids)

        return self._loader(f"by_id:{model.__name__}", load)

    def _loader(self, key: str, load: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]) -> Any:
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = DataLoader(load_fn=load)
        return loader

    async def currencies(self) -> CurrencyTable:
        if self._currencies is None:
            async with self.read() as session:
                if self._currencies is None:  # concurrent resolvers queue here: load once
                    self._currencies = await load_currency_table(session)
        return self._currencies

    async def store_currency(self) -> CurrencySpec:
        return (await self.currencies()).store

    async def display_currency(self) -> CurrencySpec:
        """The X-Currency header's currency when given (it must be enabled), else the store's."""
        table = await self.currencies()
        if not self.requested_currency:
            return table.store
        spec = table.enabled.get(self.requested_currency.upper())
        if spec is None:
            raise PublicError(
                f"X-Currency {self.requested_currency!r} is not an enabled currency", "INVALID"
            )
        return spec
