"""The code's shape: imports point down the layers and never go round in a circle; every Node
type is found by node(id:)."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp

PACKAGES = ("transport", "schema", "resolvers", "domain", "models")
ROOT = Path(__file__).resolve().parent.parent


def import_cycles(graph: grimp.ImportGraph) -> Iterator[list[str]]:
    """Each group of modules that import one another, directly or through others (Tarjan's
    strongly connected components over every import, function-level ones included)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module) & graph.modules:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return iter(found)


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert list(import_cycles(graph)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert list(import_cycles(graph)) == [["a.b", "a.c"]]


def test_layers_contract_is_kept() -> None:
    """pyproject's import-linter contract: transport -> schema -> resolvers -> domain -> models."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_every_node_type_is_listed_and_resolves_itself() -> None:
    """`node(id:)` finds every type that implements Node: each is in its area's NODE_TYPES and
    has its own `resolve_node`."""
    from models.settings import Settings
    from schema import NODE_TYPES, build_schema
    from schema.base import Node

    schema = build_schema(Settings())
    implementers = {
        name
        for name, kind in schema._schema.type_map.items()
        if any(i.name == "Node" for i in getattr(kind, "interfaces", ()))
    }
    assert implementers == set(NODE_TYPES)
    assert all(
        t.resolve_node.__func__ is not Node.resolve_node.__func__ for t in NODE_TYPES.values()
    )
