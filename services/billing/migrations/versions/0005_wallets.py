"""the voucher wallet and vouchers; wallet postings keep the balance after them; entries say
their order and who caused them; "sales" becomes "revenue_clearing"

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
    with op.batch_alter_table('journal_entries') as batch:
        batch.add_column(sa.Column('order_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('actor', sa.String(length=80), nullable=False,
                                   server_default='system'))
        batch.create_index('ix_journal_entries_order_id', ['order_id'])
    with op.batch_alter_table('postings') as batch:
        batch.add_column(sa.Column('balance_after_minor', sa.BigInteger(), nullable=True))
    op.execute("UPDATE postings SET book = 'revenue_clearing' WHERE book = 'sales'")
    connection = op.get_bind()
    running: dict[tuple[str, str, str], int] = {}
    rows = connection.execute(sa.text(
        "SELECT id, book, account_id, currency, amount_minor FROM postings "
        "WHERE book = 'customer_cash' ORDER BY id")).all()
    for posting_id, book, account_id, currency, amount in rows:
        key = (book, account_id, currency)
        running[key] = running.get(key, 0) + amount
        connection.execute(sa.text("UPDATE postings SET balance_after_minor = :b WHERE id = :id"),
                           {"b": running[key], "id": posting_id})
    op.create_index('ix_postings_account_id_id', 'postings', ['account_id', 'id'])
    op.create_table(
        'vouchers',
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('used', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=True),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('code'),
    )
    op.create_table(
        'voucher_redemptions',
        sa.Column('code', sa.String(length=40), sa.ForeignKey('vouchers.code'), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('entry_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('code', 'account_id'),
    )


def downgrade() -> None:
    op.drop_table('voucher_redemptions')
    op.drop_table('vouchers')
    op.drop_index('ix_postings_account_id_id', 'postings')
    op.execute("UPDATE postings SET book = 'sales' WHERE book = 'revenue_clearing'")
    with op.batch_alter_table('postings') as batch:
        batch.drop_column('balance_after_minor')
    with op.batch_alter_table('journal_entries') as batch:
        batch.drop_index('ix_journal_entries_order_id')
        batch.drop_column('actor')
        batch.drop_column('order_id')
