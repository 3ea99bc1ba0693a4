"""product search rows carry each product's category ids (SQLite)

`product_search_row` (one per product, the FTS5 rowid) gains `category_ids`: a JSON array of
the product's category ids (its `product_category` links, in no particular order), kept in
step by triggers on `product_category` (insert: appended; delete and update: recomputed from
the links), in the writing transaction. The facets of a storefront search (domain/facets.py)
then count categories with `json_each` over the hits' search rows, instead of looking up
each hit's links in the `product_category` primary key by product UUID (at 100k products,
two links a product: the categories part of a one-word search's counts, 5k hits, about 9 ->
4.5 ms in SQL).

The triggers are on `product_category`: a migration that rebuilds that table on SQLite
(batch "move and copy") drops them and must call `create_sqlite_triggers` again.
Nothing on PostgreSQL.

Revision ID: a1b2c3d4e5f7
Revises: f1a2b3c4d5e6
Create Date: 2026-12-01 13:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a1b2c3d4e5f7"
down_revision: str | None = "f1a2b3c4d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recomputed(product_id: str) -> str:
    return f"""UPDATE product_search_row SET category_ids = (
           SELECT json_group_array(category_id) FROM product_category
           WHERE product_id = {product_id})
         WHERE product_id = {product_id};"""


TRIGGERS = [
    """CREATE TRIGGER product_category_search_insert AFTER INSERT ON product_category BEGIN
         UPDATE product_search_row
         SET category_ids = json_insert(category_ids, '$[#]', new.category_id)
         WHERE product_id = new.product_id;
       END""",
    f"""CREATE TRIGGER product_category_search_delete AFTER DELETE ON product_category BEGIN
         {_recomputed("old.product_id")}
       END""",
    f"""CREATE TRIGGER product_category_search_update AFTER UPDATE ON product_category BEGIN
         {_recomputed("old.product_id")}
         {_recomputed("new.product_id")}
       END""",
]
DROP = [
    "DROP TRIGGER product_category_search_insert",
    "DROP TRIGGER product_category_search_delete",
    "DROP TRIGGER product_category_search_update",
]
BACKFILL = """UPDATE product_search_row SET category_ids = (
    SELECT json_group_array(category_id) FROM product_category
    WHERE product_id = product_search_row.product_id)"""


def create_sqlite_triggers() -> None:
    for statement in TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE product_search_row ADD COLUMN category_ids TEXT NOT NULL DEFAULT '[]'")
    op.execute(BACKFILL)
    create_sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in DROP:
        op.execute(statement)
    op.execute("ALTER TABLE product_search_row DROP COLUMN category_ids")
