"""the provisioning simulator's rules for one order

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'order_provisioning_rules',
        sa.Column('order_id', sa.String(length=36), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('failed_units', sa.Integer(), nullable=False),
        sa.Column('delay_seconds', sa.Float(), nullable=False),
        sa.Column('cancel_fails', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('order_id', 'sku'),
    )


def downgrade() -> None:
    op.drop_table('order_provisioning_rules')
