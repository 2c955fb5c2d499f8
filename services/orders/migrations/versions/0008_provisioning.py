"""provisioning: the simulator's rules per SKU, each line's failed units, licence key and what
its cancel refunded, and each order's cancel status

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'provisioning_rules',
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('failed_units', sa.Integer(), nullable=False),
        sa.Column('delay_seconds', sa.Float(), nullable=False),
        sa.Column('cancel_fails', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('sku'),
    )
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('failed_quantity', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('licence_key', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('refunded_cash_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('refunded_voucher_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('cancel_status', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('cancel_status')
    with op.batch_alter_table('order_lines') as batch:
        for column in ('refunded_voucher_minor', 'refunded_cash_minor', 'licence_key',
                       'failed_quantity'):
            batch.drop_column(column)
    op.drop_table('provisioning_rules')
