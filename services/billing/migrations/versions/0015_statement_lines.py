"""a wallet posting carries its entry's kind, reference and order, so a statement is read from
one index range without joining the journal (a year of a million movements exports in the
time its rows take to format)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('postings') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('reference', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('order_id', sa.String(length=36), nullable=True))
    op.execute("UPDATE postings SET kind = journal_entries.kind, reference = journal_entries.reference, "
               "order_id = journal_entries.order_id FROM journal_entries "
               "WHERE journal_entries.id = postings.entry_id AND postings.balance_after_minor IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('postings') as batch:
        batch.drop_column('order_id')
        batch.drop_column('reference')
        batch.drop_column('kind')
