"""the goods workflow: who confirmed an order and when, and shipments with gap-free numbers

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('confirmed_by', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'shipments',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('order_id', sa.String(length=36), sa.ForeignKey('orders.id'), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('boxes', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number', name='uq_shipments_number'),
        sa.UniqueConstraint('order_id', name='uq_shipments_order_id'),
    )
    op.create_index('ix_shipments_account_id', 'shipments', ['account_id'])
    op.create_table(
        'shipment_counters',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year'),
    )


def downgrade() -> None:
    op.drop_table('shipment_counters')
    op.drop_index('ix_shipments_account_id', 'shipments')
    op.drop_table('shipments')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('confirmed_at')
        batch.drop_column('confirmed_by')
