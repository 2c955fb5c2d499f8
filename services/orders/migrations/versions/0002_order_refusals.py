"""orders are never deleted: a refused payment is kept on the order; indexes for lists and
the payment reconciler

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('payment_refusal', sa.Text(), nullable=True))
    op.create_index('ix_orders_account_created', 'orders', ['account_id', 'created_at', 'id'])
    op.create_index('ix_orders_status_updated', 'orders', ['status', 'updated_at'])


def downgrade() -> None:
    op.drop_index('ix_orders_status_updated', 'orders')
    op.drop_index('ix_orders_account_created', 'orders')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('payment_refusal')
