"""products carry their category ids (PostgreSQL)

`product.category_ids` (uuid[], sorted): the product's `product_category` links, kept in step
by statement-level triggers on `product_category` (insert, delete, update: the changed
products' arrays recomputed from the links, each written only if it differs), in the writing
transaction. Facets (domain/facets.py) count categories by unnesting the arrays of the
matched product rows they read anyway, instead of looking up each match's links in the
`product_category` primary key (at 100k products, a one-word search's 5k hits: 10k index
lookups and a sort of the ids, about 5 of the counts' 17 ms).

A write that changes links updates its products' rows once more (a new row version, the
search vector recomputed): productBulkCreate avoids that by inserting each product with its
array already set (the triggers then find nothing to change).
Nothing on SQLite (its search rows carry the ids: a1b2c3d4e5f7).

Revision ID: b2c3d4e5f6a8
Revises: a1b2c3d4e5f7
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b2c3d4e5f6a8"
down_revision: str | None = "a1b2c3d4e5f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """CREATE FUNCTION stockroom_product_category_ids() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE product AS p SET category_ids = linked.ids
    FROM (
      SELECT changed.product_id, COALESCE(
        (SELECT array_agg(l.category_id ORDER BY l.category_id) FROM product_category AS l
         WHERE l.product_id = changed.product_id), '{}') AS ids
      FROM (SELECT DISTINCT product_id FROM changed_links) AS changed
    ) AS linked
    WHERE p.id = linked.product_id AND p.category_ids IS DISTINCT FROM linked.ids;
    RETURN NULL;
  END $$"""
TRIGGERS = {
    "product_category_ids_insert": "INSERT ON product_category REFERENCING NEW TABLE",
    "product_category_ids_delete": "DELETE ON product_category REFERENCING OLD TABLE",
    "product_category_ids_update_old": "UPDATE ON product_category REFERENCING OLD TABLE",
    "product_category_ids_update_new": "UPDATE ON product_category REFERENCING NEW TABLE",
}
BACKFILL = """UPDATE product AS p SET category_ids = linked.ids
  FROM (SELECT product_id, array_agg(category_id ORDER BY category_id) AS ids
        FROM product_category GROUP BY product_id) AS linked
  WHERE p.id = linked.product_id"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE product ADD COLUMN category_ids uuid[] NOT NULL DEFAULT '{}'")
    op.execute(BACKFILL)
    op.execute(FUNCTION)
    for name, event in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} AS changed_links"
            " FOR EACH STATEMENT EXECUTE FUNCTION stockroom_product_category_ids()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON product_category")
    op.execute("DROP FUNCTION stockroom_product_category_ids()")
    op.execute("ALTER TABLE product DROP COLUMN category_ids")
