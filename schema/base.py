"""The API's conventions as reusable pieces (API.md section 3): Money, DisplayPrice, UserError,
payloads, Relay Node and connections, permissions."""

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from graphql import GraphQLInterfaceType, GraphQLObjectType
from strawberry.permission import BasePermission
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types import Info
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.enum import has_enum_definition

from domain import pricing
from domain.errors import DomainError, DomainErrors
from domain.errors import ErrorCode as DomainErrorCode
from domain.ids import encode_id
from domain.pagination import Page, PageRequest, PaginationError
from resolvers.context import Context, PublicError
from schema import execution

T = TypeVar("T")
Row = TypeVar("Row")
InputT = TypeVar("InputT")
_ABSENT = object()
StrawberryInfo = Info[Context, None]


LEAN = "stockroom.lean"


def lean_field(description: str) -> Any:
    """`@lean_field("...")` on a method `(self, info)` that takes no arguments and reads nothing
    of `info` but `info.context`: graphql-core calls it itself (`install_lean_resolvers`),
    without Strawberry's per-call wrapper (an Info object, argument conversion, an extension
    chain). For the fields every product of a listing resolves (price, stock status,
    categories: 60 calls a page). No arguments, permission classes or field extensions."""
    return strawberry.field(description=description, metadata={LEAN: True})


def _attribute(name: str) -> Callable[..., Any]:
    def resolve(source: Any, info: Any) -> Any:
        return getattr(source, name)

    setattr(resolve, execution.ATTRIBUTE, name)  # the compiled plans read it directly
    return resolve


def install_lean_resolvers(graphql_schema: Any) -> int:
    """Point each lean field of the built schema at its method, and each plain attribute
    field (no resolver: Strawberry's `_get_basic_result`, three calls deep) at a one-call
    attribute read; returns how many lean fields."""
    installed = 0
    for graphql_type in graphql_schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for name, graphql_field in graphql_type.fields.items():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            if field is None:
                continue
            if getattr(graphql_field.resolve, "_is_default", False):  # Strawberry's mark
                graphql_field.resolve = _attribute(field.python_name)
            if not field.metadata.get(LEAN):
                continue
            if field.arguments or field.permission_classes or field.extensions:
                raise TypeError(f"{graphql_type.name}.{name}: a lean field takes no arguments")
            graphql_field.resolve = field.base_resolver.wrapped_func
            setattr(graphql_field.resolve, execution.LEAN, True)
            installed += 1
    return installed


def describe_values(enum: Any, descriptions: dict[str, str]) -> None:
    """Describe each value of a schema enum made from a domain enum (`strawberry.enum(...)`),
    for the GraphiQL docs pane; every value must be described."""
    values = enum.__strawberry_definition__.values
    assert {v.name for v in values} == set(descriptions), enum
    for value in values:
        value.description = descriptions[value.name]


ErrorCode = strawberry.enum(
    DomainErrorCode, name="ErrorCode", description="Why a mutation did not succeed."
)
describe_values(
    ErrorCode,
    {
        "INVALID": "A value is malformed or out of range (the field path names it).",
        "REQUIRED": "A required value is missing or blank.",
        "NOT_FOUND": "No such object, or not one the caller may see.",
        "DUPLICATE": "The value must be unique and is taken (e.g. a SKU, slug or email).",
        "IN_USE": "The object is still used by others (e.g. a tax band of products).",
        "INSUFFICIENT_STOCK": "Not enough available stock for the quantity.",
        "PRODUCT_UNAVAILABLE": "The product is not for sale (not LIVE, or a parent product).",
        "CART_EMPTY": "The cart has no items (or never existed, or expired).",
        "SHIPPING_METHOD_REQUIRED": "The cart needs shipping and no shipping method was chosen.",
        "SHIPPING_METHOD_NOT_ELIGIBLE": "The shipping method is disabled or excludes the cart.",
        "INVALID_TRANSITION": "The order or transaction is not in a state that allows this.",
        "PAYMENT_DECLINED": "The gateway refused the payment (see the FAILED transaction).",
        "GATEWAY_DISABLED": "The payment gateway is disabled.",
        "UNSUPPORTED_GATEWAY_OPERATION": "The gateway does not support this operation.",
        "IDEMPOTENCY_KEY_REUSED": "The idempotency key was used with other arguments.",
        "INVALID_CREDENTIALS": "The email or password is wrong.",
        "FORBIDDEN": "The caller's role may not do this.",
        "PROMOTION_INVALID": "No such promotion code, or it is disabled, expired or not started.",
        "PROMOTION_NOT_APPLICABLE": "The cart does not meet the promotion's conditions (the "
        "message says which).",
        "PROMOTION_EXHAUSTED": "The promotion is used up: its usage limit, or the buyer's.",
        "RATE_LIMITED": "Too many failed attempts for this email or client: wait, then retry.",
    },
)


# --- permissions -----------------------------------------------------------------------


class IsAdmin(BasePermission):
    """Only admin (`client_credentials`) tokens."""

    message = "this operation needs an admin token"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: StrawberryInfo, **kwargs: Any) -> bool:
        return info.context.is_admin


class IsCustomer(BasePermission):
    """A signed-in customer (X-Customer-Token beside the bearer token)."""

    message = "this operation needs a customer token (X-Customer-Token)"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: StrawberryInfo, **kwargs: Any) -> bool:
        return info.context.customer_id is not None


class IsAdminOrCustomer(BasePermission):
    """Admins, or a signed-in customer (who then sees only their own records)."""

    message = "this operation needs an admin token or a customer token"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: StrawberryInfo, **kwargs: Any) -> bool:
        return info.context.is_admin or info.context.customer_id is not None


# --- errors and payloads ---------------------------------------------------------------


@strawberry.type(description="A business failure of a mutation; the mutation changed nothing.")
class UserError:
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: list[str] | None = strawberry.field(
        description='Path into the mutation arguments, e.g. ["input", "quantity"].'
    )

    @classmethod
    def from_domain(cls, error: DomainError) -> "UserError":
        return cls(code=error.code, message=error.message, field=error.field)


async def mutate(payload: type[T], run: Callable[[], Awaitable[dict[str, Any]]]) -> T:
    """Run a mutation body; DomainErrors become the payload's `errors` (the body's write
    transaction has already rolled back, so nothing changed)."""
    try:
        fields = await run()
    except DomainError as error:
        return payload(errors=[UserError.from_domain(error)])  # type: ignore[call-arg]
    except DomainErrors as many:
        return payload(errors=[UserError.from_domain(e) for e in many.errors])  # type: ignore[call-arg]
    return payload(**fields, errors=[])  # type: ignore[call-arg]


def mutate_row(
    payload: type[T], key: str, convert: Callable[[Any], Any], work: Callable[[], Awaitable[Any]]
) -> Awaitable[T]:
    """`mutate` for the common case: `work()` returns one row, shown as `convert(row)` in the
    payload's `key` field."""

    async def run() -> dict[str, Any]:
        return {key: convert(await work())}

    return mutate(payload, run)


def row_result(
    payload: type[T], key: str, convert: Callable[[Any], Any]
) -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[T]]:
    """`mutate_row` for one payload type, so a mutation's body is one line:
    `return await tax_band_result(lambda: resolve.create_tax_band(info.context, data))`."""
    return functools.partial(mutate_row, payload, key, convert)


# --- money -----------------------------------------------------------------------------


@strawberry.type(description="An amount of money in integer minor units (cents for USD).")
class Money:
    amount: int = strawberry.field(description="Minor units, e.g. 1999 for $19.99.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    formatted: str = strawberry.field(description="Formatted per the currency, e.g. `$19.99`.")

    @classmethod
    def of(cls, money: pricing.Money) -> "Money":
        return cls(amount=money.amount, currency=money.currency.code, formatted=money.formatted)


@strawberry.type(description="A price with and without tax, and the tax itself.")
class DisplayPrice:
    with_tax: Money = strawberry.field(description="The price including tax: what is paid.")
    without_tax: Money = strawberry.field(description="The price before tax.")
    tax: Money = strawberry.field(description="The tax: withTax - withoutTax.")

    @classmethod
    def of(cls, price: pricing.PriceBreakdown) -> "DisplayPrice":
        return cls(
            with_tax=Money.of(price.with_tax),
            without_tax=Money.of(price.without_tax),
            tax=Money.of(price.tax),
        )


# --- relay -----------------------------------------------------------------------------


@strawberry.enum(description="Sort direction of a list.")
class SortDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Ascending: smallest, oldest or A first.")
    DESC = strawberry.enum_value("DESC", description="Descending: largest, newest or Z first.")


@strawberry.interface(description="An object with an opaque, globally unique id.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id (Relay).")

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Node | None":
        """The object of this type with primary key `pk`, if the caller may see it: what
        `node(id:)` answers. Every Node type says how (its area lists it in NODE_TYPES)."""
        raise NotImplementedError(cls.__name__)


async def admin_node(
    info: StrawberryInfo,
    load: Callable[[Context], Awaitable[Row | None]],
    make: Callable[[Row], T],
) -> T | None:
    """`node(id:)` of an admin-only type: null for anyone else (no read is made) and for an
    unknown id, else `make(row)`."""
    if not info.context.is_admin:
        return None
    row = await load(info.context)
    return make(row) if row is not None else None


def global_id(type_name: str, pk: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(encode_id(type_name, pk))


@strawberry.type(description="Where a page sits in the whole list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="More items come before this page.")
    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor (pass as `before` for the previous page)."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor (pass as `after` for the next page)."
    )


@strawberry.type(description="One item of a page and its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as after/before to page from here.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page's items in order.")
    page_info: PageInfo = strawberry.field(description="Where the page sits in the list.")
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="How many items match, over all pages.")
    async def total_count(self, info: StrawberryInfo) -> int:
        if self.page.total is not None:
            return self.page.total
        async with info.context.read() as session:
            return int(await session.scalar(self.page.count_statement, self.page.params) or 0)

    @classmethod
    def of(cls, page: Page[Row], convert: Callable[[Row], T]) -> "Connection[T]":
        edges = [
            Edge(cursor=c, node=convert(r)) for r, c in zip(page.items, page.cursors, strict=True)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            page=page,
        )


def described(kind: Any, text: str) -> Any:
    """An argument type with its description (for the GraphiQL docs pane)."""
    return Annotated[kind, strawberry.argument(description=text)]


FirstArg = described(int | None, "Page size from the start of the list (at most 100; default 20).")
AfterArg = described(str | None, "Start after this cursor (an edge's cursor or endCursor).")
LastArg = described(int | None, "Page size from the end of the list (at most 100).")
BeforeArg = described(str | None, "End before this cursor (an edge's cursor or startCursor).")


def page_request(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageRequest:
    """Pagination arguments, or a clear INVALID error (e.g. `first` above 100)."""
    try:
        return PageRequest(first=first, after=after, last=last, before=before)
    except PaginationError as exc:
        raise PublicError(str(exc), "INVALID") from exc


def _unchanged(type_: Any, scalars: Mapping[object, Any]) -> bool:
    """Whether Strawberry's conversion returns input values of `type_` as they are: scalars
    (not GlobalID) and enums, which GraphQL already parsed, nullable or not."""
    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        type_ = type_.of_type
    return type_ is not GlobalID and (is_scalar(type_, scalars) or has_enum_definition(type_))


def quick_input(cls: type[InputT]) -> type[InputT]:
    """Build `cls`'s values with its fields' GraphQL names and types resolved once, through
    Strawberry's `from_input` hook: Strawberry's own conversion resolves every field's type
    annotation and name again for each value, and walks its checks for every scalar (a
    500-product productBulkCreate spent ~30% of its time there). The value is the same: each
    field sent converted as Strawberry converts it (scalars and enums as GraphQL parsed them),
    the others left at their defaults. The SDL does not change. Not for types with `Maybe`
    fields (Strawberry skips its null check for types with this hook)."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    if any(isinstance(f.type, StrawberryMaybe) for f in definition.fields):
        raise TypeError(f"{cls.__name__} has Maybe fields: convert it the usual way")
    fields: list[tuple[str, str, Any]] = []  # GraphQL name, Python name, type (None: as is)

    def from_input(type_: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not fields:
            fields.extend(  # all or nothing: a list, not a generator
                [
                    (
                        context.config.name_converter.from_field(f),
                        f.python_name,
                        None if _unchanged(resolved, context.scalar_registry) else resolved,
                    )
                    for f in definition.fields
                    for resolved in [f.resolve_type(type_definition=definition)]
                ]
            )
        kwargs = {
            python_name: given if field_type is None else context.convert(given, field_type, name)
            for name, python_name, field_type in fields
            if (given := value.get(name, _ABSENT)) is not _ABSENT
        }
        return type_(**kwargs)

    definition.from_input = from_input
    return cls


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Field values `input_data` returns as they are without a call (most of a bulk input's)."""


def input_data(obj: Any) -> dict[str, Any]:
    """The fields a client actually sent in an input object (UNSET ones left out), recursively
    as plain dicts, keyed by their Python (snake_case) names."""
    if isinstance(obj, list):
        return [input_data(v) for v in obj]  # type: ignore[return-value]
    if isinstance(obj, Enum) or not hasattr(obj, "__strawberry_definition__"):
        return obj  # enum members carry their class's strawberry definition: not inputs
    return {
        name: value if type(value) in _PLAIN else input_data(value)
        for name, value in vars(obj).items()
        if value is not strawberry.UNSET
    }
