"""invoicing knows every paid order's fate: its own status, when it last changed, and the
voucher money that paid it

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoiceable_orders') as batch:
        batch.add_column(sa.Column('voucher_paid_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('order_status', sa.String(length=30), nullable=True))
        batch.add_column(sa.Column('order_updated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoiceable_orders') as batch:
        batch.drop_column('order_updated_at')
        batch.drop_column('order_status')
        batch.drop_column('voucher_paid_minor')
