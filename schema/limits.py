"""Checks of a parsed document that run before GraphQL validation, in time linear in the
document: depth, aliases, fragment nesting and the operation to run.

A fragment is measured once and its measure reused wherever it is spread: a document whose
fragments each spread the next one twice (`fragment F0 on Query {...F1 ...F1}`, 30 levels in
251 tokens) expands to 2^30 selections, and a limiter that walks the expansion (as
Strawberry's QueryDepthLimiter and MaxAliasesLimiter do) never finishes. Counting here is
done on the memo, so a count may describe the whole expansion without walking it; other
per-fragment measures (e.g. a query cost) can follow the same pattern (`DocumentMeasure`).

Only a document that passes these checks goes on to GraphQL's own validation (the slower,
cached step), and only a valid one runs.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_FRAGMENT_NESTING = 50
"""Fragments spreading fragments (spreading fragments ...) at most this deep."""
VALIDATION_CACHE_SIZE = 1000


class DocumentTooComplex(Exception):
    """Raised while measuring: the document is refused with this message."""


@dataclass(frozen=True, slots=True)
class Measure:
    """A selection set's nesting depth (in fields, introspection fields not counted) and the
    aliases in its full expansion (a fragment spread twice counts twice)."""

    depth: int = 0
    aliases: int = 0


class DocumentMeasure:
    """Measures selection sets, each fragment once (memoised), refusing a depth past
    `max_depth` as soon as it is seen (deeper selections are not walked)."""

    def __init__(self, document: DocumentNode, max_depth: int) -> None:
        self.max_depth = max_depth
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._memo: dict[str, Measure] = {}
        self._open: list[str] = []  # fragments being measured (outermost first)

    def selection_set(self, selections: SelectionSetNode | None, depth_so_far: int) -> Measure:
        depth = aliases = 0
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                inner = self.field(selection, depth_so_far)
                aliases += inner.aliases + (1 if selection.alias else 0)
            elif isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set, depth_so_far)
                aliases += inner.aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value, depth_so_far)
                aliases += inner.aliases
            else:  # pragma: no cover - the parser makes no other selections
                continue
            depth = max(depth, inner.depth)
        return Measure(depth, aliases)

    def field(self, node: FieldNode, depth_so_far: int) -> Measure:
        if node.selection_set is None or node.name.value.startswith("__"):
            return Measure()  # a leaf, or introspection (never deep: its types are fixed)
        if depth_so_far + 1 > self.max_depth:
            raise DocumentTooComplex(f"the document nests deeper than {self.max_depth} fields")
        inner = self.selection_set(node.selection_set, depth_so_far + 1)
        return Measure(inner.depth + 1, inner.aliases)

    def fragment(self, name: str, depth_so_far: int) -> Measure:
        """A fragment's own measure, whatever spreads it; its depth counted from where it is
        spread (checked against the limit there)."""
        definition = self.fragments.get(name)
        if definition is None or name in self._open:
            return Measure()  # unknown fragments and cycles are errors of GraphQL validation
        measure = self._memo.get(name)
        if measure is None:
            if len(self._open) >= MAX_FRAGMENT_NESTING:
                raise DocumentTooComplex(
                    f"fragments spread fragments more than {MAX_FRAGMENT_NESTING} deep"
                )
            self._open.append(name)
            try:
                measure = self.selection_set(definition.selection_set, 0)
            finally:
                self._open.pop()
            self._memo[name] = measure
        if depth_so_far + measure.depth > self.max_depth:
            raise DocumentTooComplex(f"the document nests deeper than {self.max_depth} fields")
        return measure


def operations(document: DocumentNode) -> Iterator[OperationDefinitionNode]:
    return (d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def limit_errors(document: DocumentNode, max_depth: int, max_aliases: int) -> list[GraphQLError]:
    """Why the document is refused by the depth and alias limits (empty: it is not)."""
    measure = DocumentMeasure(document, max_depth)
    aliases = 0
    try:
        for operation in operations(document):
            aliases += measure.selection_set(operation.selection_set, 0).aliases
    except DocumentTooComplex as refused:
        return [_too_complex(str(refused))]
    if aliases > max_aliases:
        return [_too_complex(f"{aliases} aliases found; at most {max_aliases} are allowed")]
    return []


def _too_complex(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})


def operation_name_error(document: DocumentNode, operation_name: str | None) -> GraphQLError | None:
    """A document of several operations must say which to run (GraphQL spec, "GetOperation");
    Strawberry would otherwise run the first."""
    if operation_name is None and sum(1 for _ in operations(document)) > 1:
        return GraphQLError(
            "the document has several operations: send operationName to choose one",
            extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
        )
    return None


def checked_validation(
    max_depth: int, max_aliases: int
) -> Callable[[GraphQLSchema, DocumentNode, tuple[type[ASTValidationRule], ...]], list]:
    """The validation step, cached per document: the linear limits first, then (only for a
    document within them) GraphQL's rules."""

    @lru_cache(maxsize=VALIDATION_CACHE_SIZE)
    def validate(
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        return limit_errors(document, max_depth, max_aliases) or validate_document(
            schema, document, rules
        )

    return validate


class CheckedValidation(SchemaExtension):
    """Replaces Strawberry's validation step (and its ValidationCache) with
    `checked_validation`, preceded by the operation-name check."""

    def __init__(self, validate: Callable[..., list[GraphQLError]]) -> None:
        super().__init__()
        self.validate = validate

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        # Strawberry's operation_name falls back to the first operation's name.
        provided = context._provided_operation_name
        wrong_name = operation_name_error(document, provided)
        context.pre_execution_errors = (
            [wrong_name]
            if wrong_name
            else self.validate(context.schema._schema, document, tuple(context.validation_rules))
        )
        yield
