"""HTTP caching of GraphQL answers (API.md section 14): which answers are public, their
Cache-Control, Vary and ETag, and 304 for a matching If-None-Match.

An answer is *public* when its document only reads storefront data that no customer or cart
changes (the catalogue, currencies, tax bands, shipping methods, gateways), it ran without
errors and the caller is not an admin (admins read drafts and stock figures). Everything else
is `private, no-store`. Documents are classified once (memoised by text).
"""

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from enum import IntEnum

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from starlette.requests import Request
from starlette.responses import Response

CATALOGUE_ROOTS = frozenset(
    {
        "__typename",
        "taxBands",
        "taxBand",
        "currencies",
        "currency",
        "products",
        "product",
        "categories",
        "category",
        "brands",
        "brand",
        "collections",
        "collection",
        "productFacets",
    }
)
"""Root fields of catalogue reads: whole answers may be cached server-side (the version stamps
of the catalogue, currencies and tax bands say when they go stale)."""

PUBLIC_ROOTS = CATALOGUE_ROOTS | {"shippingMethods", "shippingMethod", "gateways"}
"""Root fields whose answers hold nothing customer- or cart-specific."""

VARY = "Accept, Authorization, X-Currency"
PRIVATE = "private, no-store"


class Kind(IntEnum):
    """What a document reads, from least to most shareable (a batch is its least)."""

    PRIVATE = 0
    PUBLIC = 1
    CATALOGUE = 2


@dataclass(frozen=True, slots=True)
class Reading:
    """What an operation is: a query (not a mutation or subscription), and its Kind."""

    is_query: bool
    kind: Kind


UNKNOWN = Reading(is_query=False, kind=Kind.PRIVATE)


class Classifier:
    """The Reading of each document text and operation name, memoised (bounded LRU)."""

    def __init__(self, max_size: int = 2000) -> None:
        self.max_size = max_size
        self._readings: OrderedDict[tuple[str, str | None], Reading] = OrderedDict()

    def reading(self, query: object, operation_name: object) -> Reading:
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return UNKNOWN  # GraphQL itself reports what is wrong with the request
        key = (query, operation_name)
        found = self._readings.get(key)
        if found is None:
            found = self._readings[key] = _classify(query, operation_name)
            while len(self._readings) > self.max_size:
                self._readings.popitem(last=False)
        return found


def _classify(query: str, operation_name: str | None) -> Reading:
    try:
        document = parse(query)
    except GraphQLError:
        return UNKNOWN
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    if len(chosen) != 1 or chosen[0].operation != OperationType.QUERY:
        return UNKNOWN
    roots = _root_fields(chosen[0].selection_set, fragments, set())
    if roots is None or not roots <= PUBLIC_ROOTS:
        return Reading(is_query=True, kind=Kind.PRIVATE)
    kind = Kind.CATALOGUE if roots <= CATALOGUE_ROOTS else Kind.PUBLIC
    return Reading(is_query=True, kind=kind)


def _root_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
    known: dict[str, set[str] | None] | None = None,
) -> set[str] | None:
    """The root field names a selection set reads through any fragments (None: unknown).
    Each fragment is walked once (`known`): a document that spreads fragments into one
    another exponentially (a fragment bomb) costs its size, not its expansion."""
    known = {} if known is None else known
    names: set[str] = set()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
            continue
        if isinstance(selection, InlineFragmentNode):
            inner = _root_fields(selection.selection_set, fragments, seen, known)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            name = selection.name.value
            if name not in known:
                fragment = fragments.get(name)
                known[name] = (
                    None
                    if fragment is None
                    else _root_fields(fragment.selection_set, fragments, seen | {name}, known)
                )
            inner = known[name]
        else:
            inner = set()
        if inner is None:
            return None
        names |= inner
    return names


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def cache_headers(kind: Kind, max_age: int) -> dict[str, str]:
    """Cache-Control (and Vary for public answers) of an answer of this kind."""
    if kind is Kind.PRIVATE:
        return {"Cache-Control": PRIVATE}
    return {"Cache-Control": f"public, max-age={max_age}", "Vary": VARY}


def not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    return bool(wanted) and matches(wanted, etag)


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header value names the ETag (weak comparison, or `*`)."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def label(request: Request, response: Response, kind: Kind, max_age: int) -> None:
    """Give the answer its caching headers (and an ETag when it is a GET's success)."""
    if response.status_code != 200:
        kind = Kind.PRIVATE
    for name, value in cache_headers(kind, max_age).items():
        response.headers[name] = value
    if request.method == "GET" and response.status_code == 200:
        response.headers["ETag"] = entity_tag(bytes(response.body))


def conditional(request: Request, response: Response) -> Response:
    """304 Not Modified when the client's If-None-Match holds the answer's ETag."""
    etag = response.headers.get("etag")
    if etag is None or not not_modified(request, etag):
        return response
    return Response(status_code=304, headers=_kept_for_304(response))


def _kept_for_304(response: Response) -> dict[str, str]:
    keep = ("etag", "cache-control", "vary", "x-request-id")
    return {k: v for k, v in response.headers.items() if k.lower() in keep}
