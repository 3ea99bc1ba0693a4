"""product search index (API.md section 15)

PostgreSQL: a stored generated tsvector column `product.search_vector` (name and SKU weighted
A, description C; the `simple` configuration) with a GIN index, over `stockroom_search_text`:
unaccent, then ASCII punctuation as spaces, so words split as SQLite's unicode61 splits them
("t-shirt" is "t shirt", "1.5" is "1 5"). unaccent() is only STABLE (it looks its dictionary
up by name), so the IMMUTABLE SQL wrapper names the dictionary explicitly; that makes it
usable in a generated column. Searches pass their words through the same function.

SQLite: an FTS5 table `product_search` (unicode61, diacritics removed, prefix indexes for 2 and
3 characters) kept in step with `product` by triggers, in the writing transaction. FTS rows are
tied to products through `product_search_row`, whose INTEGER PRIMARY KEY is the FTS rowid:
product's own rowid is not stable (VACUUM may renumber a table without an INTEGER PRIMARY KEY).
It also keeps each product's status, so a storefront search ranks and pages its hits without
reading every hit's product row.

Both build the index for the rows that already exist. A later SQLite migration that rebuilds
the product table (batch_alter_table "move and copy") drops the triggers with the old table:
recreate them with `create_sqlite_triggers`, then f1a2b3c4d5e6's `replace_sqlite_triggers`
(tests/test_search.py checks they exist at head).

Revision ID: 5c3a9f1d2b7e
Revises: 32e4f0e87a00
Create Date: 2026-11-30 22:40:00
"""

import string
from collections.abc import Sequence

from alembic import op

revision: str = "5c3a9f1d2b7e"
down_revision: str | None = "32e4f0e87a00"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUNCTUATION = string.punctuation
PUNCTUATION_SQL = PUNCTUATION.replace("'", "''")
PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""CREATE OR REPLACE FUNCTION stockroom_search_text(text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
       AS $$ SELECT translate(public.unaccent('public.unaccent'::regdictionary, $1),
                              '{PUNCTUATION_SQL}', '{" " * len(PUNCTUATION)}') $$""",
    """ALTER TABLE product ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
         setweight(to_tsvector('simple'::regconfig, stockroom_search_text(name)), 'A')
         || setweight(to_tsvector('simple'::regconfig, stockroom_search_text(sku)), 'A')
         || setweight(to_tsvector('simple'::regconfig, stockroom_search_text(description)), 'C')
       ) STORED""",
    "CREATE INDEX ix_product_search ON product USING gin (search_vector)",
]
PG_DOWN = [
    "DROP INDEX ix_product_search",
    "ALTER TABLE product DROP COLUMN search_vector",
    "DROP FUNCTION stockroom_search_text(text)",
]

SQLITE_TABLES = [
    """CREATE TABLE product_search_row (
         row INTEGER PRIMARY KEY,
         product_id CHAR(32) NOT NULL UNIQUE,
         status VARCHAR(10) NOT NULL
       )""",
    """CREATE VIRTUAL TABLE product_search USING fts5(
         name, sku, description,
         tokenize = 'unicode61 remove_diacritics 2',
         prefix = '2 3'
       )""",
]
SQLITE_TRIGGERS = [
    """CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN
         INSERT INTO product_search_row (product_id, status) VALUES (new.id, new.status);
         INSERT INTO product_search (rowid, name, sku, description) VALUES (
           (SELECT row FROM product_search_row WHERE product_id = new.id),
           new.name, new.sku, new.description);
       END""",
    """CREATE TRIGGER product_search_update AFTER UPDATE OF name, sku, description ON product
       BEGIN
         UPDATE product_search SET name = new.name, sku = new.sku, description = new.description
         WHERE rowid = (SELECT row FROM product_search_row WHERE product_id = new.id);
       END""",
    """CREATE TRIGGER product_search_status AFTER UPDATE OF status ON product BEGIN
         UPDATE product_search_row SET status = new.status WHERE product_id = new.id;
       END""",
    """CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN
         DELETE FROM product_search
         WHERE rowid = (SELECT row FROM product_search_row WHERE product_id = old.id);
         DELETE FROM product_search_row WHERE product_id = old.id;
       END""",
]
SQLITE_BACKFILL = [
    """INSERT INTO product_search_row (product_id, status)
       SELECT id, status FROM product ORDER BY rowid""",
    """INSERT INTO product_search (rowid, name, sku, description)
       SELECT r.row, p.name, p.sku, p.description
       FROM product_search_row AS r JOIN product AS p ON p.id = r.product_id""",
]
SQLITE_DOWN = [
    "DROP TRIGGER product_search_insert",
    "DROP TRIGGER product_search_update",
    "DROP TRIGGER product_search_status",
    "DROP TRIGGER product_search_delete",
    "DROP TABLE product_search",
    "DROP TABLE product_search_row",
]


def create_sqlite_triggers() -> None:
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TABLES + SQLITE_BACKFILL:
            op.execute(statement)
        create_sqlite_triggers()
    else:
        for statement in PG_UP:
            op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN
    for statement in statements:
        op.execute(statement)
