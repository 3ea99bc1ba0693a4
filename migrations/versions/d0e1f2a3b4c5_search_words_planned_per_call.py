"""product search: `search_word`'s triggers plan their statement on every call (PostgreSQL)

PL/pgSQL keeps a statement's plan for the life of the connection. The triggers of migration
b8c9d0e1f2a3 were planned on their first call, and on a young store `search_word` is nearly
empty then: the plan read the whole table for every new word, and that plan stayed while
the table grew. A bulk load on one connection became quadratic (100k generated products: 196
s; batches of 2,000 went from 0.17 to 2.2 s over 30k products) and a product edit read every
word. Their statements now run through EXECUTE, planned on each call against the table as it
is (an index probe per new word; one call per inserted batch, or per edited product).

Revision ID: d0e1f2a3b4c5
Revises: c9d0e1f2a3b4
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d0e1f2a3b4c5"
down_revision: str | None = "c9d0e1f2a3b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ABSENT = '(SELECT true FROM search_word s WHERE s.word = w COLLATE "C" LIMIT 1) IS NULL'
"""A word not there yet: one index probe per new word (see migration b8c9d0e1f2a3)."""
INSERTED = f"""INSERT INTO search_word (word)
  SELECT w FROM (
    SELECT DISTINCT w FROM new_products, unnest(tsvector_to_array(search_vector)) AS w
  ) AS new_words
  WHERE {ABSENT}"""
UPDATED = f"""INSERT INTO search_word (word)
  SELECT w FROM unnest(tsvector_to_array($1)) AS w
  WHERE {ABSENT}"""


def _function(name: str, body: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        {body};
        RETURN NULL;
      END $$"""


def _quoted(statement: str) -> str:
    return "'" + statement.replace("'", "''") + "'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(_function("stockroom_search_words_inserted", f"EXECUTE {_quoted(INSERTED)}"))
    op.execute(
        _function(
            "stockroom_search_words_updated",
            f"EXECUTE {_quoted(UPDATED)} USING NEW.search_vector",
        )
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(_function("stockroom_search_words_inserted", INSERTED))
    op.execute(
        _function("stockroom_search_words_updated", UPDATED.replace("$1", "NEW.search_vector"))
    )
