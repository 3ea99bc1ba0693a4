"""product search: small GIN pending lists (PostgreSQL)

A GIN index with `fastupdate` (the default) keeps new entries in an unsorted pending list, up
to `gin_pending_list_limit` (4 MB), until a vacuum or a full list moves them into the index;
every search reads the whole list meanwhile. After a bulk load that was most of a search's
time: 'walnu' at 100k products, 467 pending pages of ix_product_search_name and 142 of
ix_product_search, 8.4 ms in SQL, 1.5 ms once they were cleaned. 256 kB per index bounds what
a search reads (at most 32 pages) while inserts still go in batches. Nothing on SQLite.

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c9d0e1f2a3b4"
down_revision: str | None = "b8c9d0e1f2a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_LIST_KB = 256
INDEXES = ("ix_product_search", "ix_product_search_name")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = {PENDING_LIST_KB})")
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
