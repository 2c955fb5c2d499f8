"""postings carry their entry's time, and one index finds a wallet's latest posting (its
balance) and its postings in a period: balances and statements no longer sum a wallet's
whole history

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
    with op.batch_alter_table('postings') as batch:
        batch.add_column(sa.Column('at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE postings SET at = (SELECT created_at FROM journal_entries "
               "WHERE journal_entries.id = postings.entry_id)")
    with op.batch_alter_table('postings') as batch:
        batch.alter_column('at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.drop_index('ix_postings_book_account')
        batch.create_index('ix_postings_wallet_at', ['account_id', 'book', 'currency', 'at', 'id'])


def downgrade() -> None:
    with op.batch_alter_table('postings') as batch:
        batch.drop_index('ix_postings_wallet_at')
        batch.create_index('ix_postings_book_account', ['book', 'account_id', 'currency'])
        batch.drop_column('at')
