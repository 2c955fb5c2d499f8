"""standing: a credit limit per account (postpaid), the payment invoices reported overdue,
and a version of each account's standing

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
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('credit_limit_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('standing_version', sa.Integer(), nullable=False,
                                   server_default='0'))
    op.create_table(
        'overdue_invoices',
        sa.Column('payment_invoice_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('amount_due_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('payment_invoice_id'),
    )
    op.create_index('ix_overdue_invoices_account_id', 'overdue_invoices', ['account_id'])


def downgrade() -> None:
    op.drop_table('overdue_invoices')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('standing_version')
        batch.drop_column('credit_limit_minor')
