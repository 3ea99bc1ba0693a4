"""The schema guard: the committed SDL (schema.graphql) is what the code serves, and nothing
breaks clients of the last release unless the change is declared."""

import re
import subprocess
import sys
from pathlib import Path

from graphql import build_schema as build_sdl
from graphql import find_breaking_changes

from tests.conftest import ROOT

RELEASES = ROOT / "schema" / "releases"
LAST_RELEASE = RELEASES / "0.1.0.graphql"
DECLARED = RELEASES / "declared-breaking-changes.txt"
REGENERATE = "python server.py export-schema > schema.graphql (or: make schema)"


def exported_sdl() -> str:
    result = subprocess.run(
        [sys.executable, "server.py", "export-schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "STOCKROOM_LOG_LEVEL": "ERROR"},
    )
    return result.stdout


def declared_changes(path: Path) -> set[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert exported_sdl() == committed, f"schema.graphql is out of date: {REGENERATE}"


def test_no_undeclared_breaking_change_since_the_last_release() -> None:
    released = build_sdl(LAST_RELEASE.read_text())
    current = build_sdl((ROOT / "schema.graphql").read_text())
    changes = {f"{c.type.name}: {c.description}" for c in find_breaking_changes(released, current)}
    undeclared = sorted(changes - declared_changes(DECLARED))
    assert undeclared == [], (
        f"breaking changes against {LAST_RELEASE.name}; keep the old names (deprecate them), "
        f"or declare each line in {DECLARED.relative_to(ROOT)}: {undeclared}"
    )


def test_the_guard_sees_a_removed_field(tmp_path: Path) -> None:
    """The check itself: dropping a field of the release is a breaking change, and declaring
    it lets it through."""
    released_sdl = LAST_RELEASE.read_text()
    released = build_sdl(released_sdl)
    trimmed = build_sdl(re.sub(r'(  """[^"]*"""\n)?  sku: String!\n', "", released_sdl, count=1))
    changes = {f"{c.type.name}: {c.description}" for c in find_breaking_changes(released, trimmed)}
    assert any(change.startswith("FIELD_REMOVED: ") and ".sku" in change for change in changes)
    declared = tmp_path / "declared.txt"
    declared.write_text("# on purpose\n" + "\n".join(changes) + "\n")
    assert changes - declared_changes(declared) == set()
