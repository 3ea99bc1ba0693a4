"""order.currency references currency.code (ON DELETE RESTRICT)

A currency that orders are in cannot be deleted: the database refuses it, also when an order
is placed while the currency is being deleted. (Before, delete_currency checked the columns
that modules had added to a list at import time.) On SQLite the batch mode rebuilds the order
table; models.migrate runs migrations there with foreign keys off, so that dropping the old
table does not cascade to its items, events and transactions.

Revision ID: 32e4f0e87a00
Revises: 361139174d29
Create Date: 2026-11-30 22:40:23.211437
"""

from collections.abc import Sequence

from alembic import op

revision: str = '32e4f0e87a00'
down_revision: str | None = '361139174d29'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = 'fk_order_currency_currency'


def upgrade() -> None:
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.create_foreign_key(FK, 'currency', ['currency'], ['code'], ondelete='RESTRICT')


def downgrade() -> None:
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
