"""Alembic environment: always handed a live connection by models.migrate."""

from alembic import context

import models

config = context.config
# Search index tables made by hand-written DDL (FTS5 and its shadow tables), not by models/.
UNMODELLED_TABLES = "product_search"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and (name or "").startswith(UNMODELLED_TABLES))


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through models.migrate (make migration / server.py)")
    context.configure(
        connection=connection,
        target_metadata=models.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    context.run_migrations()


run_migrations()
