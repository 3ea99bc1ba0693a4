"""product search: the words of every product's search text (PostgreSQL)

`search_word`: each lexeme of `product.search_vector` (byte order, `COLLATE "C"`), so a search
can turn its last word's prefix into the words that start with it (`mug:*` into `'mug' |
'mugs'`; domain/search.py). GIN reads a prefix by collecting every posting of every matching
word into a bitmap before intersecting it with the other words, while exact words are
intersected by skipping through their posting lists: at 1M products `rustic teal mug:*` spent
about 24 ms in the index, `rustic teal mug` about 6.

Kept in step in the writing transaction: after an INSERT of products (one statement-level
trigger over the inserted rows, so a 500-product batch adds one statement), and after an
UPDATE of a product's name, SKU or description. Words are only added, never removed (a word
no product has any more only widens an expansion that still matches exactly the same
products), and there is no unique index: two transactions adding the same new word each add
it (a duplicate, harmless) instead of one waiting for the other, so writers never block or
deadlock on it. Nothing on SQLite (its FTS5 table has prefix indexes).

Revision ID: b8c9d0e1f2a3
Revises: b2c3d4e5f6a8
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b8c9d0e1f2a3"
down_revision: str | None = "b2c3d4e5f6a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ABSENT = '(SELECT true FROM search_word s WHERE s.word = w COLLATE "C" LIMIT 1) IS NULL'
"""A word not there yet: a subquery per new word (an index probe). As NOT EXISTS the planner
made it an anti-join reading all of search_word (1M words at 1M products): the trigger added
250-450 ms to a 500-product INSERT; this way about 11 ms (EXPLAIN ANALYZE's trigger time)."""
UP = [
    'CREATE TABLE search_word (word text COLLATE "C" NOT NULL)',
    """INSERT INTO search_word (word)
       SELECT DISTINCT w FROM product, unnest(tsvector_to_array(search_vector)) AS w""",
    "CREATE INDEX ix_search_word ON search_word (word)",
    f"""CREATE FUNCTION stockroom_search_words_inserted() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO search_word (word)
         SELECT w FROM (
           SELECT DISTINCT w FROM new_products, unnest(tsvector_to_array(search_vector)) AS w
         ) AS new_words
         WHERE {ABSENT};
         RETURN NULL;
       END $$""",
    f"""CREATE FUNCTION stockroom_search_words_updated() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO search_word (word)
         SELECT w FROM unnest(tsvector_to_array(NEW.search_vector)) AS w
         WHERE {ABSENT};
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER product_search_words_insert AFTER INSERT ON product
       REFERENCING NEW TABLE AS new_products
       FOR EACH STATEMENT EXECUTE FUNCTION stockroom_search_words_inserted()""",
    """CREATE TRIGGER product_search_words_update AFTER UPDATE OF name, sku, description
       ON product FOR EACH ROW
       WHEN (OLD.search_vector IS DISTINCT FROM NEW.search_vector)
       EXECUTE FUNCTION stockroom_search_words_updated()""",
]
DOWN = [
    "DROP TRIGGER product_search_words_update ON product",
    "DROP TRIGGER product_search_words_insert ON product",
    "DROP FUNCTION stockroom_search_words_updated()",
    "DROP FUNCTION stockroom_search_words_inserted()",
    "DROP TABLE search_word",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for statement in DOWN:
            op.execute(statement)
