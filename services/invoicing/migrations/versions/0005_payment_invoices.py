"""payment invoices: an order paid by wire transfer gets one, numbered in its own series

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'payment_invoices',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('series', sa.String(length=20), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('order_id', sa.String(length=36), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('total_minor', sa.BigInteger(), nullable=False),
        sa.Column('paid_minor', sa.BigInteger(), nullable=False),
        sa.Column('wire_reference', sa.String(length=35), nullable=False),
        sa.Column('po_number', sa.String(length=64), nullable=True),
        sa.Column('lines_json', sa.Text(), nullable=False),
        sa.Column('issue_date', sa.String(length=10), nullable=False),
        sa.Column('due_date', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
        sa.UniqueConstraint('order_id'),
        sa.UniqueConstraint('wire_reference'),
        sa.UniqueConstraint('series', 'year', 'sequence'),
    )
    op.create_index('ix_payment_invoices_account_created', 'payment_invoices',
                    ['account_id', 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_payment_invoices_account_created', 'payment_invoices')
    op.drop_table('payment_invoices')
