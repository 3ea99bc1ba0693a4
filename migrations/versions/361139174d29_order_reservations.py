"""order reservations (API.md section 11): order.reserved_until, payment_transaction.hold_until
and the two partial indexes the sweeps read.

Plain ADD COLUMN / CREATE INDEX on both backends (no batch table rebuild on SQLite: rebuilding
`order` would cascade-delete its lines, events and transactions).

Revision ID: 361139174d29
Revises: 16ca80979f11
Create Date: 2026-11-30 22:41:27.157688
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '361139174d29'
down_revision: str | None = '16ca80979f11'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPAID = "payment = 'UNPAID' AND status = 'INCOMPLETE'"


def upgrade() -> None:
    op.add_column('order', sa.Column('reserved_until', models.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column('payment_transaction', sa.Column('hold_until', models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_order_reserved_until', 'order', ['reserved_until'], unique=False, sqlite_where=sa.text('reserved_until IS NOT NULL'), postgresql_where=sa.text('reserved_until IS NOT NULL'))
    op.create_index('ix_order_unpaid_created', 'order', ['created_at'], unique=False, sqlite_where=sa.text(UNPAID), postgresql_where=sa.text(UNPAID))


def downgrade() -> None:
    op.drop_index('ix_order_unpaid_created', table_name='order')
    op.drop_index('ix_order_reserved_until', table_name='order')
    with op.batch_alter_table('payment_transaction') as batch_op:
        batch_op.drop_column('hold_until')
    with op.batch_alter_table('order') as batch_op:
        batch_op.drop_column('reserved_until')
