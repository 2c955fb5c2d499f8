"""a payment invoice billing an order knows it, so the order's refunds can return what it paid

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payables') as batch:
        batch.add_column(sa.Column('order_id', sa.String(length=36), nullable=True))
        batch.create_index('ix_payables_order_id', ['order_id'])


def downgrade() -> None:
    with op.batch_alter_table('payables') as batch:
        batch.drop_index('ix_payables_order_id')
        batch.drop_column('order_id')
