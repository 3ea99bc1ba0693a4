"""product search rows carry each product's facet columns (SQLite)

`product_search_row` (one per product, the FTS5 rowid) gains `price`, `brand_id` and
`in_stock` (1 when the product does not manage stock or has some available), kept in step by
the insert trigger and by `product_search_status`, now fired by an update of any of status,
price, brand, manage_stock, stock_total or stock_allocated. The facets of a storefront search
(domain/facets.py) then count the FTS hits from these rows alone: at 100k products a one-word
search's 5k hits were 5k lookups of the product table by its UUID (its unique index, then
the row), about 40% of the facet statement.

The insert trigger also finds the new row by last_insert_rowid() (inside a trigger, the
rowid of the trigger's own last INSERT) instead of looking product_search_row up by product
id once more per product.

A later migration that rebuilds the product table on SQLite (which drops its triggers) must
call the search migration's `create_sqlite_triggers` and then this one's
`replace_sqlite_triggers`.
Nothing on PostgreSQL.

Revision ID: f1a2b3c4d5e6
Revises: e7f8a9b0c1d2
Create Date: 2026-12-01 11:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f1a2b3c4d5e6"
down_revision: str | None = "e7f8a9b0c1d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_STOCK = (
    "CASE WHEN new.manage_stock = 0 OR new.stock_total - new.stock_allocated > 0 THEN 1 ELSE 0 END"
)
"""domain.catalog.in_stock_condition(True) of the new row."""
TRIGGERS = [
    f"""CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN
         INSERT INTO product_search_row (product_id, status, price, brand_id, in_stock)
         VALUES (new.id, new.status, new.price, new.brand_id, {IN_STOCK});
         INSERT INTO product_search (rowid, name, sku, description)
         VALUES (last_insert_rowid(), new.name, new.sku, new.description);
       END""",
    f"""CREATE TRIGGER product_search_status
       AFTER UPDATE OF status, price, brand_id, manage_stock, stock_total, stock_allocated
       ON product BEGIN
         UPDATE product_search_row SET status = new.status, price = new.price,
           brand_id = new.brand_id, in_stock = {IN_STOCK}
         WHERE product_id = new.id;
       END""",
]
OLD_TRIGGERS = [
    """CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN
         INSERT INTO product_search_row (product_id, status) VALUES (new.id, new.status);
         INSERT INTO product_search (rowid, name, sku, description) VALUES (
           (SELECT row FROM product_search_row WHERE product_id = new.id),
           new.name, new.sku, new.description);
       END""",
    """CREATE TRIGGER product_search_status AFTER UPDATE OF status ON product BEGIN
         UPDATE product_search_row SET status = new.status WHERE product_id = new.id;
       END""",
]
COLUMNS = ["price INTEGER", "brand_id CHAR(32)", "in_stock INTEGER NOT NULL DEFAULT 0"]
BACKFILL = f"""UPDATE product_search_row SET (price, brand_id, in_stock) = (
    SELECT new.price, new.brand_id, {IN_STOCK} FROM product AS new
    WHERE new.id = product_search_row.product_id)"""
DROP = ["DROP TRIGGER product_search_insert", "DROP TRIGGER product_search_status"]


def replace_sqlite_triggers() -> None:
    """The search migration's insert and status triggers replaced by these."""
    for statement in DROP + TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for column in COLUMNS:
        op.execute(f"ALTER TABLE product_search_row ADD COLUMN {column}")
    op.execute(BACKFILL)
    replace_sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in DROP + OLD_TRIGGERS:
        op.execute(statement)
    for column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE product_search_row DROP COLUMN {column.split()[0]}")
