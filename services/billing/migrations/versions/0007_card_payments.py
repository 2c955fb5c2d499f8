"""card payments: what a customer pays by card, and how the processor's callbacks settled it

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'card_payments',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('request_key', sa.String(length=250), nullable=True),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('payment_invoice_id', sa.String(length=36), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('decline_reason', sa.String(length=60), nullable=True),
        sa.Column('processor_reference', sa.String(length=100), nullable=True),
        sa.Column('entry_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'request_key', name='uq_card_payments_request_key'),
    )
    op.create_index('ix_card_payments_account_id', 'card_payments', ['account_id'])


def downgrade() -> None:
    op.drop_table('card_payments')
