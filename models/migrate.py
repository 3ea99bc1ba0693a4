"""Alembic migrations, run in-process: `upgrade(db)` brings a database to head.

`python -m models.migrate revision "message"` autogenerates a new migration by comparing the
tables in `models/` with a scratch SQLite database upgraded to the current head.
`python -m models.migrate reset` regenerates the single initial migration from scratch; it is
for development before the first release only (no deployed database has that migration yet).
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from models.engine import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
PG_MIGRATION_LOCK_KEY = 724_011_301  # any constant: serialises migrators sharing one database


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply pending migrations (up to `revision`); safe when several processes start at once."""
    async with db.write_engine.connect() as conn:
        if db.is_sqlite:
            await conn.run_sync(_sqlite_foreign_keys, False)
        try:
            async with conn.begin():
                if not db.is_sqlite:
                    await conn.execute(
                        text(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK_KEY})")
                    )
                await conn.run_sync(_upgrade, revision)
                if db.is_sqlite:
                    await conn.run_sync(_check_sqlite_foreign_keys)
        finally:
            if db.is_sqlite:
                await conn.run_sync(_sqlite_foreign_keys, True)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """SQLite migrations run with foreign keys off (Alembic's batch mode rebuilds a table by
    dropping it, and with foreign keys on the drop would cascade to the rows referencing it).
    The pragma only takes effect outside a transaction, so it is set on the raw connection."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    """With the checks off during the migration, check every reference once at the end."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"the migration leaves rows whose references are broken: {broken[:5]}")


async def _autogenerate(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/scratch.db")
        await upgrade(db)

        def revision(connection: Connection) -> None:
            command.revision(alembic_config(connection), message=message, autogenerate=True)

        async with db.write_engine.begin() as conn:
            await conn.run_sync(revision)
        await db.dispose()


def _reset() -> None:
    versions = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    if len(versions) > 1:
        sys.exit("more than one migration exists: add a revision instead of resetting")
    for path in versions:
        path.unlink()
    asyncio.run(_autogenerate("initial schema"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["reset"]:
        _reset()
    elif len(sys.argv) == 3 and sys.argv[1] == "revision":
        asyncio.run(_autogenerate(sys.argv[2]))
    else:
        sys.exit('usage: python -m models.migrate revision "message" | reset')
