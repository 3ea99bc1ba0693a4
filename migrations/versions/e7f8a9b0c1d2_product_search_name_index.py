"""product search: a GIN index of the name and SKU words alone (PostgreSQL)

`ix_product_search_name`: the name and SKU part of `product.search_vector` (the same
expression, weight A) as an expression index, so a one-word search finds the products with
the word in their name or SKU (its first relevance tier) from the index, without reading
every hit's row (domain/search.py). Nothing on SQLite: its FTS5 table filters by column.

Revision ID: e7f8a9b0c1d2
Revises: d4e5f6a7b8c9
Create Date: 2026-12-01 11:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e7f8a9b0c1d2"
down_revision: str | None = "d4e5f6a7b8c9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_SKU_VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, stockroom_search_text(name)), 'A')"
    " || setweight(to_tsvector('simple'::regconfig, stockroom_search_text(sku)), 'A'))"
)
"""Kept equal to domain.search.NAME_SKU_VECTOR (tests/test_search.py checks): PostgreSQL
uses an expression index only for a query naming the same expression."""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"CREATE INDEX ix_product_search_name ON product USING gin ({NAME_SKU_VECTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX ix_product_search_name")
