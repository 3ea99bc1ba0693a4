"""Query cost (API.md section 14): a static price for a document, known before it runs.

What costs is fetching rows: a root field or a list of objects costs 1 plus its selection; a
scalar or enum costs nothing, nor does a single object nested in another (a price, a brand:
loaded with its parent or batched). A connection (a field with `first`/`last` arguments) costs
1 plus its page size times its selection's cost: `first`, else `last`, else the default page
size (20), at most the largest page (100; a larger one is refused when it runs). The page size
may be a variable: then it is read from the request's variables. So a storefront listing
`products(first: 100) { edges { node { name price { withTax { formatted } } categories
{ name } } } }` costs 1 + 100 x (edges 1 + categories 1) = 201, and a connection of 100 nested
in another of 100 about 10,000.

A document is compiled once (per operation name) into a small cost expression and kept beside
the parser cache's document: repeated requests only evaluate it, and a document without
variable page sizes is a constant. Compiling visits each fragment once (a fragment spread
reuses the fragment's compiled cost), and evaluating does too (per-evaluation memo), so both
are linear in the document's size however often fragments are spread.

Every answer reports `extensions.cost {requestedQueryCost, maximumAvailable}`; a document over
STOCKROOM_MAX_QUERY_COST is refused before it runs with `extensions.code` QUERY_TOO_COMPLEX.
"""

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from strawberry.extensions import SchemaExtension

from domain.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True, slots=True)
class Sum:
    """The cost of a selection set: the sum of its parts (constants already folded)."""

    constant: int
    parts: tuple["Cost", ...]


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection over a variable-dependent selection or with a variable page size (a
    variable's name): 1 + size * the selection's cost."""

    size: int | str
    selection: "Cost"


@dataclass(frozen=True, slots=True)
class Spread:
    """A fragment spread whose cost depends on variables (evaluated once per request)."""

    name: str
    cost: "Cost"


Cost = int | Sum | Connection | Spread


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.compiled: dict[str, Cost] = {}
        self.roots = {schema.query_type, schema.mutation_type, schema.subscription_type}

    def operation(self, operation: OperationDefinitionNode) -> Cost:
        root = {
            OperationType.QUERY: self.schema.query_type,
            OperationType.MUTATION: self.schema.mutation_type,
            OperationType.SUBSCRIPTION: self.schema.subscription_type,
        }[operation.operation]
        return self.selection_set(root, operation.selection_set)

    def selection_set(self, parent: GraphQLNamedType | None, node: SelectionSetNode | None) -> Cost:
        if node is None:
            return 0
        constant, parts = 0, []
        for cost in self._selections(parent, node):
            if isinstance(cost, int):
                constant += cost
            else:
                parts.append(cost)
        return Sum(constant, tuple(parts)) if parts else constant

    def _selections(
        self, parent: GraphQLNamedType | None, node: SelectionSetNode
    ) -> Iterator[Cost]:
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                yield self.field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                yield self.selection_set(inner, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                yield self.spread(selection.name.value)

    def spread(self, name: str) -> Cost:
        if name not in self.compiled:
            fragment = self.fragments.get(name)
            self.compiled[name] = 0  # a cycle (refused by validation anyway) ends here
            if fragment is not None:
                parent = self.schema.get_type(fragment.type_condition.name.value)
                self.compiled[name] = self.selection_set(parent, fragment.selection_set)
        cost = self.compiled[name]
        return cost if isinstance(cost, int) else Spread(name, cost)

    def field(self, parent: GraphQLNamedType | None, node: FieldNode) -> Cost:
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        if node.selection_set is None:
            return 0  # a scalar or enum
        child_type = get_named_type(definition.type) if definition else None
        selection = self.selection_set(child_type, node.selection_set)
        if definition is None or not any(a in definition.args for a in PAGE_ARGUMENTS):
            fetches = (
                definition is None
                or parent in self.roots
                or is_list_type(get_nullable_type(definition.type))
            )
            if not fetches:
                return selection
            return 1 + selection if isinstance(selection, int) else Sum(1, (selection,))
        size: int | str = DEFAULT_PAGE_SIZE
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name in PAGE_ARGUMENTS:
            value = given.get(name)
            if isinstance(value, IntValueNode):
                size = min(int(value.value), MAX_PAGE_SIZE)
                break
            if isinstance(value, VariableNode):
                size = value.name.value
                break
        if isinstance(size, int) and isinstance(selection, int):
            return 1 + size * selection
        return Connection(size, selection)


def evaluate(cost: Cost, variables: Mapping[str, Any], memo: dict[str, int]) -> int:
    """The cost for these variables; each fragment is evaluated once (memo by name)."""
    if isinstance(cost, int):
        return cost
    if isinstance(cost, Sum):
        return cost.constant + sum(evaluate(p, variables, memo) for p in cost.parts)
    if isinstance(cost, Connection):
        size = cost.size if isinstance(cost.size, int) else variables.get(cost.size)
        size = (
            min(size, MAX_PAGE_SIZE) if isinstance(size, int) and size >= 0 else DEFAULT_PAGE_SIZE
        )
        return 1 + size * evaluate(cost.selection, variables, memo)
    if cost.name not in memo:
        memo[cost.name] = evaluate(cost.cost, variables, memo)
    return memo[cost.name]


_compiled: dict[int, dict[str | None, Cost]] = {}
"""Compiled costs by document identity (the parser cache hands out one document per query
text; graphql-core's nodes hash and compare by deep value, which would cost a walk per lookup).
An entry goes when its document is collected."""


def _compiled_for(document: DocumentNode) -> dict[str | None, Cost]:
    key = id(document)
    entry = _compiled.get(key)
    if entry is None:
        entry = _compiled[key] = {}
        weakref.finalize(document, _compiled.pop, key, None)
    return entry


def document_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int | None:
    """The operation's cost, or None when the document names no such operation."""
    per_operation = _compiled_for(document)
    if operation_name not in per_operation:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            o
            for o in operations
            if operation_name is None or (o.name is not None and o.name.value == operation_name)
        ]
        if len(chosen) != 1:
            return None
        per_operation[operation_name] = _Compiler(schema, document).operation(chosen[0])
    return evaluate(per_operation[operation_name], variables or {}, {})


class QueryCost(SchemaExtension):
    """Prices each valid document before it runs; refuses it over the maximum."""

    maximum = 1000
    cost: int | None = None

    def on_validate(self) -> Iterator[None]:
        """Runs after ValidationCache has validated (it precedes this extension and validates
        before yielding): a valid document is priced, and refused here, before the runner's
        check for pre-execution errors."""
        context = self.execution_context
        if context.pre_execution_errors == [] and context.graphql_document is not None:
            self.cost = document_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            if self.cost is not None and self.cost > self.maximum:
                context.pre_execution_errors = [self._too_complex()]
        yield

    def _too_complex(self) -> GraphQLError:
        return GraphQLError(
            f"the query costs {self.cost}, more than the maximum of {self.maximum} (a "
            "connection costs its page size times its selection: ask for smaller pages or "
            "fewer fields)",
            extensions={"code": "QUERY_TOO_COMPLEX", "cost": self._report()},
        )

    def _report(self) -> dict[str, int]:
        return {"requestedQueryCost": self.cost or 0, "maximumAvailable": self.maximum}

    def get_results(self) -> dict[str, Any]:
        return {"cost": self._report()} if self.cost is not None else {}


def query_cost_extension(maximum: int) -> type[QueryCost]:
    """The extension class with the configured maximum (a class, made once: see build_schema)."""
    return type("ConfiguredQueryCost", (QueryCost,), {"maximum": maximum})
