"""`python server.py import-products FILE.csv`: a catalogue from a CSV file, with a progress
bar (rich, on stderr). The columns are documented in domain/product_import.py and README.md.
A file with any bad row imports nothing: every problem is printed with its line number."""

import asyncio
import sys
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from domain.product_import import import_rows, read_rows
from models.engine import Database
from models.settings import Settings


class _Rollback(Exception):
    """Ends the import's transaction without committing (a row was bad)."""


async def _import(settings: Settings, path: Path, problems: list[str]) -> int:
    with path.open(newline="", encoding="utf-8-sig") as lines:
        rows = read_rows(lines, problems)
    if not rows:  # an empty file, or a bad header
        return 0
    db = Database(settings.database_url)
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=None, transient=False, redirect_stdout=False) as bar:
            task = bar.add_task("rows", total=len(rows))
            try:
                async with db.transaction() as session:
                    created = await import_rows(
                        session, rows, problems, lambda n: bar.advance(task, n)
                    )
                    if problems:
                        raise _Rollback
            except _Rollback:
                return 0
        return created
    finally:
        await db.dispose()


def import_products(settings: Settings, file: str) -> int:
    """Run the import; the exit status is 0 when every row was imported, else 1."""
    path = Path(file)
    if not path.is_file():
        print(f"{file}: no such file", file=sys.stderr)
        return 1
    problems: list[str] = []
    try:
        created = asyncio.run(_import(settings, path, problems))
    except (UnicodeDecodeError, ValueError) as error:  # not UTF-8 text, or not CSV
        print(f"{file}: cannot read it as a UTF-8 CSV file ({error})", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"{file}: {problem}", file=sys.stderr)
    if problems:
        print(f"Imported nothing: {len(problems)} problem(s) to fix first.", file=sys.stderr)
        return 1
    print(f"Imported {created} products from {file}.", flush=True)
    return 0
