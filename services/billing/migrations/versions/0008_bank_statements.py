"""bank statements imported from camt.053 and their credit transactions, each matched to an
account (by its payment reference, or by an operator) or left unmatched

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
        'bank_statements',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('message_id', sa.String(length=140), nullable=False),
        sa.Column('statement_id', sa.String(length=140), nullable=False),
        sa.Column('version', sa.String(length=10), nullable=False),
        sa.Column('account_iban', sa.String(length=34), nullable=False),
        sa.Column('imported_by', sa.String(length=80), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'bank_transactions',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('statement_id', sa.String(length=36), sa.ForeignKey('bank_statements.id'),
                  nullable=False),
        sa.Column('dedupe_key', sa.String(length=140), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('booked_on', sa.Date(), nullable=True),
        sa.Column('value_date', sa.Date(), nullable=True),
        sa.Column('debtor_name', sa.String(length=140), nullable=True),
        sa.Column('debtor_iban', sa.String(length=34), nullable=True),
        sa.Column('remittance', sa.Text(), nullable=False),
        sa.Column('creditor_reference', sa.String(length=35), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=True),
        sa.Column('entry_id', sa.String(length=36), nullable=True),
        sa.Column('matched_by', sa.String(length=80), nullable=True),
        sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key', name='uq_bank_transactions_dedupe_key'),
    )
    op.create_index('ix_bank_transactions_status', 'bank_transactions', ['status', 'created_at'])


def downgrade() -> None:
    op.drop_table('bank_transactions')
    op.drop_table('bank_statements')
