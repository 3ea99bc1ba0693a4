"""Compiled execution of catalogue reads (issue 10).

graphql-core executes a document generically: for each of a listing's ~550 fields it looks the
field up, builds a resolve-info object, asks whether the result is awaitable, then walks the
return type's wrappers (non-null? list? leaf? abstract? object?) to complete it; that was most
of a listing's CPU once the database work was lean. A catalogue document is asked again and
again (a storefront has a handful), so the first run of each compiles a *plan*: per selected
field its response key, how to read it (an attribute, a lean method, or the field's resolver)
and a completer made for its return type. Later runs follow the plan.

The plan is only taken where it gives exactly the answer graphql-core would:
- a query that reads the public catalogue only (the transport sets `Context.catalogue_read`):
  running it again changes nothing, which the fallback below needs;
- no directives anywhere (`@skip`/`@include` make the selection depend on variables;
  `@defer`/`@stream` change the response), no fragment arguments, no introspection fields
  but `__typename`, no interface or union return types, no field middleware (tracing);
- while running, anything but the plain case (a resolver raising, a null for a non-null field,
  a value of the wrong shape, an `is_type_of` refusal) abandons the compiled run and executes
  the operation again with graphql-core, which reports it with its exact error and path.
Resolvers run the same way in both (same arguments and Info; sibling async resolvers are
awaited together, so DataLoaders batch as before). `tests/test_compiled_execution.py` compares
both executors' answers for every catalogue document shape.
"""

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from graphql import (
    DirectiveNode,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    Undefined,
    get_nullable_type,
    is_leaf_type,
    visit,
)
from graphql.execution.values import get_argument_values
from graphql.language import Visitor
from graphql.pyutils import Path, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

ATTRIBUTE = "stockroom.attribute"
"""Marks a resolver that only reads an attribute of its source (its value: the name)."""
LEAN = "stockroom.lean_resolver"
"""Marks a lean field's method: called with an object holding only `context` as its info."""
TEXT_TYPES = (GraphQLString, GraphQLID)
"""Scalars whose output of a `str` is the `str` itself (graphql-core's coercion)."""
PLANS_KEPT = 1000  # as many as the parser cache keeps documents
FALLBACKS_KEPT = 3

Completer = Callable[["_Run", Any, Path | None], Any]


class _Fallback(Exception):
    """The compiled run met a case only graphql-core answers exactly: run it there."""


class _ContextOnly:
    """The info a lean field's method and Strawberry's `is_type_of` are given."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


class _Field:
    __slots__ = ("complete", "details", "field_def", "key", "kind", "needs_path", "read")

    def __init__(
        self,
        key: str,
        kind: str,
        read: Any,
        complete: Completer | None,
        field_def: Any,
        details: Any,
        needs_path: bool,
    ) -> None:
        self.key = key
        self.kind = kind
        self.read = read
        self.complete = complete
        self.field_def = field_def
        self.details = details
        self.needs_path = needs_path


class _Object:
    __slots__ = ("fields", "is_type_of", "name", "needs_path", "type")

    def __init__(self, object_type: GraphQLObjectType) -> None:
        self.type = object_type
        self.name = object_type.name
        self.fields: tuple[_Field, ...] = ()
        self.is_type_of = object_type.is_type_of
        self.needs_path = False


class _HasDirectives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        self.found = True
        return self.BREAK


def _plain_document(executor: StrawberryGraphQLCoreExecutionContext) -> bool:
    finder = _HasDirectives()
    visit(executor.operation, finder)
    for details in executor.fragments.values():
        if details.variable_signatures:
            return False
        visit(details.definition, finder)
    return not finder.found


class _Compiler:
    """Builds the plan of one operation from graphql-core's own field collection."""

    def __init__(self, executor: StrawberryGraphQLCoreExecutionContext) -> None:
        self.executor = executor

    def object_plan(self, object_type: GraphQLObjectType, grouped: dict[str, Any]) -> _Object:
        plan = _Object(object_type)
        fields = []
        for key, details in grouped.items():
            field = self.field(object_type, key, details)
            if field is not None:
                fields.append(field)
        plan.fields = tuple(fields)
        plan.needs_path = any(f.needs_path for f in fields)
        return plan

    def field(self, parent: GraphQLObjectType, key: str, details: Any) -> _Field | None:
        if any(d.fragment_variable_values or d.defer_usage for d in details):
            raise _Fallback
        name = details[0].node.name.value
        if name == "__typename":
            return _Field(key, "typename", parent.name, None, None, details, False)
        if name.startswith("__"):
            raise _Fallback  # introspection
        field_def = self.executor.schema.get_field(parent, name)
        if field_def is None:
            return None  # graphql-core leaves it out too
        complete, deep_path = self.completer(field_def.type, details)
        resolve = field_def.resolve
        attribute = getattr(resolve, ATTRIBUTE, None)
        if attribute is not None and not field_def.args:
            kind = "text" if get_nullable_type(field_def.type) in TEXT_TYPES else "attribute"
            return _Field(key, kind, attribute, complete, field_def, details, deep_path)
        if getattr(resolve, LEAN, False) and not field_def.args:
            return _Field(key, "lean", resolve, complete, field_def, details, deep_path)
        return _Field(key, "resolver", resolve, complete, field_def, details, True)

    def completer(self, return_type: Any, details: Any) -> tuple[Completer, bool]:
        """The completer for a return type, and whether it needs the response path."""
        if isinstance(return_type, GraphQLNonNull):
            inner, deep = self.completer(return_type.of_type, details)
            return _non_null(inner), deep
        if isinstance(return_type, GraphQLList):
            inner, deep = self.completer(return_type.of_type, details)
            return _list_of(inner, deep), deep
        if is_leaf_type(return_type):
            return _leaf(return_type.coerce_output_value), False
        if isinstance(return_type, GraphQLObjectType):
            grouped = self.executor.collect_subfields(return_type, details).grouped_field_set
            plan = self.object_plan(return_type, grouped)
            return _object_of(plan), plan.needs_path
        raise _Fallback  # an interface or a union: the runtime type decides


def _non_null(inner: Completer) -> Completer:
    def complete(run: "_Run", value: Any, path: Path | None) -> Any:
        completed = inner(run, value, path)
        if completed is None:
            raise _Fallback
        return completed

    return complete


def _list_of(inner: Completer, needs_path: bool) -> Completer:
    def complete(run: "_Run", value: Any, path: Path | None) -> Any:
        if value is None:
            return None
        if not is_iterable(value) or isinstance(value, Exception):
            raise _Fallback
        if needs_path:
            return [inner(run, item, Path(path, i, None)) for i, item in enumerate(value)]
        return [inner(run, item, None) for item in value]

    return complete


def _leaf(coerce: Callable[[Any], Any]) -> Completer:
    def complete(run: "_Run", value: Any, path: Path | None) -> Any:
        if value is None:
            return None
        if isinstance(value, Exception) or run.is_awaitable(value):
            raise _Fallback
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Fallback
        return coerced

    return complete


def _object_of(plan: _Object) -> Completer:
    def complete(run: "_Run", value: Any, path: Path | None) -> Any:
        if value is None:
            return None
        return run.object_value(plan, value, path)

    return complete


class _Run:
    """One run of a plan: the values, and the async resolvers' results still awaited."""

    def __init__(self, executor: StrawberryGraphQLCoreExecutionContext) -> None:
        self.executor = executor
        self.info = _ContextOnly(executor.context_value)
        self.is_awaitable = executor.is_awaitable
        self.pending: list[tuple[dict[str, Any], _Field, Any, Path]] = []

    def object_value(self, plan: _Object, source: Any, path: Path | None) -> dict[str, Any]:
        if isinstance(source, Exception):
            raise _Fallback
        if plan.is_type_of is not None and not plan.is_type_of(source, self.info):
            raise _Fallback
        out: dict[str, Any] = {}
        for field in plan.fields:
            kind = field.kind
            if kind == "text":  # most of a page's fields: a string read as it is
                value = getattr(source, field.read)
                if type(value) is str:
                    out[field.key] = value
                    continue
            elif kind == "attribute":
                value = getattr(source, field.read)
            elif kind == "lean":
                value = field.read(source, self.info)
                if self.is_awaitable(value):  # e.g. categories not prefetched
                    out[field.key] = None
                    item_path = Path(path, field.key, plan.name) if field.needs_path else None
                    self.pending.append((out, field, value, item_path))  # type: ignore[arg-type]
                    continue
            elif kind == "typename":
                out[field.key] = field.read
                continue
            else:
                field_path = Path(path, field.key, plan.name)
                value = self.resolve(plan.type, field, source, field_path)
                if self.is_awaitable(value):
                    out[field.key] = None  # keeps the key's place in the answer
                    self.pending.append((out, field, value, field_path))
                    continue
                out[field.key] = field.complete(self, value, field_path)  # type: ignore[misc]
                continue
            item_path = Path(path, field.key, plan.name) if field.needs_path else None
            out[field.key] = field.complete(self, value, item_path)  # type: ignore[misc]
        return out

    def resolve(self, parent: GraphQLObjectType, field: _Field, source: Any, path: Path) -> Any:
        """As graphql-core's `execute_field` calls a resolver: the same Info and arguments."""
        executor = self.executor
        field_def = field.field_def
        details = field.details
        info = executor.build_resolve_info(field_def, [d.node for d in details], parent, path)
        node = details[0].node
        args = (
            get_argument_values(
                field_def, node, executor.variable_values, None, executor.hide_suggestions
            )
            if field_def.args or node.arguments
            else {}
        )
        resolve = field.read or executor.field_resolver
        return resolve(source, info, **args)

    async def settle(self) -> None:
        """Await the async resolvers, each wave together (as graphql-core gathers siblings,
        so DataLoaders batch), completing their values (which may start the next wave)."""
        while self.pending:
            wave, self.pending = self.pending, []
            values = await asyncio.gather(*(w[2] for w in wave), return_exceptions=True)
            for (out, field, _, path), value in zip(wave, values, strict=True):
                if isinstance(value, BaseException):
                    raise value
                out[field.key] = field.complete(self, value, path)  # type: ignore[misc]

    def abandon(self) -> None:
        for _, _, awaitable, _ in self.pending:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
        self.pending = []


class _Plans:
    """Compiled plans by operation (the parser cache hands out the same node for the same
    document), for the schema they were compiled against; None: not compilable, or fell back
    FALLBACKS_KEPT times (a document that keeps meeting errors runs by graphql-core only)."""

    def __init__(self) -> None:
        self._plans: dict[int, list[Any]] = {}
        self.runs = 0
        """Operations answered by their plan (tests read it)."""
        self.fallbacks = 0
        """Plan runs abandoned for graphql-core."""

    def get(
        self,
        executor: StrawberryGraphQLCoreExecutionContext,
        root: GraphQLObjectType,
        grouped: dict[str, Any],
    ) -> _Object | None:
        operation = executor.operation
        found = self._plans.get(id(operation))
        if found is not None and found[0] is operation and found[1] is executor.schema:
            return found[2]
        plan = self._compile(executor, root, grouped)
        if len(self._plans) >= PLANS_KEPT:
            self._plans.clear()
        self._plans[id(operation)] = [operation, executor.schema, plan, 0]
        return plan

    def fell_back(self, executor: StrawberryGraphQLCoreExecutionContext) -> None:
        self.fallbacks += 1
        found = self._plans.get(id(executor.operation))
        if found is not None and found[0] is executor.operation:
            found[3] += 1
            if found[3] >= FALLBACKS_KEPT:
                found[2] = None

    @staticmethod
    def _compile(
        executor: StrawberryGraphQLCoreExecutionContext,
        root: GraphQLObjectType,
        grouped: dict[str, Any],
    ) -> _Object | None:
        if not _plain_document(executor):
            return None
        try:
            return _Compiler(executor).object_plan(root, grouped)
        except _Fallback:
            return None


PLANS = _Plans()


class StockroomExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with catalogue reads run by their compiled plan."""

    def execute_collected_root_fields(  # type: ignore[override]
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: Any,
        serially: bool,
        new_defer_usages: Any,
    ) -> Any:
        plan = None
        if (
            not serially
            and not new_defer_usages
            and getattr(self.context_value, "catalogue_read", False)
            and (self.middleware_manager is None or not self.middleware_manager.middlewares)
        ):
            plan = PLANS.get(self, root_type, grouped_field_set)
        if plan is None:
            return super().execute_collected_root_fields(
                root_type, root_value, grouped_field_set, serially, new_defer_usages
            )
        return self._run_plan(plan, root_type, root_value, grouped_field_set)

    async def _run_plan(
        self, plan: _Object, root_type: GraphQLObjectType, root_value: Any, grouped: Any
    ) -> Any:
        run = _Run(self)
        try:
            data = run.object_value(plan, root_value, None)
            await run.settle()
            PLANS.runs += 1
            return data
        except Exception:  # a resolver's error, or a case the plan leaves to graphql-core
            run.abandon()
            PLANS.fell_back(self)
            # A failed statement may have spoilt the shared read transaction (PostgreSQL).
            await self.context_value.end_shared_reads()
        result = super().execute_collected_root_fields(root_type, root_value, grouped, False, ())
        if self.is_awaitable(result):
            return await result
        return result
