"""The per-request context: database access, caller identity, display currency, DataLoaders."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from domain.auth import Principal
from domain.currencies import CurrencyTable, load_currency_table
from domain.pricing import CurrencySpec
from domain.ratelimit import FailureLimits
from domain.tax_bands import load_tax_rates
from domain.versions import CURRENCY, TAX
from models.base import rows_by_ids
from models.engine import Database
from models.settings import Settings
from models.versions import Stamps

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
    stamps: Stamps | None = None
    """The version stamps as the request found them (read on first need)."""
    failure_limits: FailureLimits | None = None  # failed sign-ins per email (API.md 14)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    _currencies: CurrencyTable | None = None
    _tax_rates: Mapping[uuid.UUID, Decimal] | None = None
    _shared: AsyncSession | None = None
    _sharing: int = 0
    catalogue_read: bool = False
    """The running operation only reads the public catalogue (the transport says so): it may
    run by its compiled plan, and run again by graphql-core if the plan meets an error."""

    def forget_cached(self) -> None:
        """Drop the DataLoaders and the currency table: what follows reads the data as it is
        now. Done after each write, and before each operation (over a WebSocket one context
        serves every operation of the connection). Work still running makes new loaders."""
        self._loaders = {}
        self._currencies = None
        self._tax_rates = None
        self.stamps = None

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.is_admin

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read session. Reads of one request take turns: one connection per request; while
        a query runs (`sharing_reads`), all its reads share one session and transaction."""
        async with self._lock:
            if not self._sharing:
                async with self.db.reader() as session:
                    yield session
                return
            if self._shared is None:
                self._shared = self.db.read_session()
            yield self._shared

    @asynccontextmanager
    async def sharing_reads(self) -> AsyncIterator[None]:
        """Within the block, reads share one session (one BEGIN/ROLLBACK for a whole query
        instead of one per resolver batch). Not for mutations: a write's poll loop (e.g. the
        idempotency wait) needs fresh snapshots."""
        self._sharing += 1
        try:
            yield
        finally:
            self._sharing -= 1
            if not self._sharing:
                await self.end_shared_reads()

    async def end_shared_reads(self) -> None:
        """Close the shared read session (the next read opens a new one)."""
        session, self._shared = self._shared, None
        if session is not None:
            await session.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction; any exception (a DomainError too) rolls it all back. What
        the request had cached is forgotten once it commits: the next mutation of the document
        (mutations run one after another) reads the data as this one left it."""
        async with self.db.transaction() as session:
            yield session
        self.forget_cached()
        await self.end_shared_reads()  # its snapshot predates the write

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

    async def version_stamps(self) -> Stamps:
        if self.stamps is None:
            self.stamps = await self.db.stamps.read()
        return self.stamps

    async def kept(self, name: str, kinds: Sequence[str], load: Callable[[], Awaitable[V]]) -> V:
        """`await load()`, kept by the process until the version stamp of any of `kinds`
        moves (a change committed by any process): reference data read by most requests."""
        stamps = await self.version_stamps()
        version = tuple(stamps.get(kind, 0) for kind in kinds)
        value: V = await self.db.stamps.value(name, version, load)
        return value

    async def currencies(self) -> CurrencyTable:
        """The currency table, kept by the process until a currency changes (any process's
        change moves the `currency` version stamp)."""
        if self._currencies is None:
            version = (await self.version_stamps()).get(CURRENCY, 0)
            self._currencies = await self.db.stamps.value(
                "currency_table", version, self._load_currencies
            )
        return self._currencies

    async def _load_currencies(self) -> CurrencyTable:
        async with self.read() as session:
            return await load_currency_table(session)

    async def tax_rates(self) -> Mapping[uuid.UUID, Decimal]:
        """Every tax band's rate, kept by the process until a tax band changes."""
        if self._tax_rates is None:
            version = (await self.version_stamps()).get(TAX, 0)
            self._tax_rates = await self.db.stamps.value("tax_rates", version, self._load_rates)
        return self._tax_rates

    async def _load_rates(self) -> Mapping[uuid.UUID, Decimal]:
        async with self.read() as session:
            return await load_tax_rates(session)

    async def prepare_prices(self) -> None:
        """Load what showing a price needs (from the process's caches, as a rule), so that
        price fields then resolve without awaiting."""
        await self.currencies()
        await self.tax_rates()

    def price_tables(self) -> tuple[CurrencyTable, Mapping[uuid.UUID, Decimal]] | None:
        """The currency table and tax rates when loaded (see `prepare_prices`)."""
        if self._currencies is None or self._tax_rates is None:
            return None
        return self._currencies, self._tax_rates

    def display_spec(self, table: CurrencyTable) -> CurrencySpec:
        """The X-Currency header's currency when given (it must be enabled), else the store's."""
        if not self.requested_currency:
            return table.store
        spec = table.enabled.get(self.requested_currency.upper())
        if spec is None:
            raise PublicError(
                f"X-Currency {self.requested_currency!r} is not an enabled currency", "INVALID"
            )
        return spec

    async def store_currency(self) -> CurrencySpec:
        return (await self.currencies()).store

    async def display_currency(self) -> CurrencySpec:
        """The X-Currency header's currency when given (it must be enabled), else the store's."""
        return self.display_spec(await self.currencies())
