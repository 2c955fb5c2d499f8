"""payables: the payment invoices billing takes payments for (by wire or card), and which one
a bank transaction paid

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'payables',
        sa.Column('payment_invoice_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('wire_reference', sa.String(length=35), nullable=False),
        sa.Column('total_minor', sa.BigInteger(), nullable=False),
        sa.Column('paid_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('claim', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('payment_invoice_id'),
        sa.UniqueConstraint('number', name='uq_payables_number'),
        sa.UniqueConstraint('wire_reference', name='uq_payables_wire_reference'),
    )
    op.create_index('ix_payables_account_id', 'payables', ['account_id'])
    with op.batch_alter_table('bank_transactions') as batch:
        batch.add_column(sa.Column('payment_invoice_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bank_transactions') as batch:
        batch.drop_column('payment_invoice_id')
    op.drop_index('ix_payables_account_id', table_name='payables')
    op.drop_table('payables')
