"""VAT treatment per order line, and refunds of implemented units.  VAT: each line keeps the EN 16931 category it was priced under (a
supply to a business in another EU country is reverse charged, AE at 0 %), and the account's
country and VAT number, from billing's events, decide it.  Refunds: an operator gives back
what implemented units paid (a later cancellation, a correction); each line counts the units
returned, and each refund is kept under its key

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('vat_category', sa.String(length=2), nullable=False,
                                   server_default='S'))
        batch.add_column(sa.Column('returned_quantity', sa.Integer(), nullable=False,
                                   server_default='0'))
    op.execute("UPDATE order_lines SET vat_category = 'Z' WHERE vat_rate_bp = 0")
    with op.batch_alter_table('account_contacts') as batch:
        batch.add_column(sa.Column('country', sa.String(length=2), nullable=True))
        batch.add_column(sa.Column('vat_number', sa.String(length=20), nullable=True))
    op.create_table(
        'order_refunds',
        sa.Column('refund_id', sa.String(length=100), nullable=False),
        sa.Column('order_id', sa.String(length=36), nullable=False),
        sa.Column('lines_json', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('plan_json', sa.Text(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('refund_id'),
    )
    op.create_index('ix_order_refunds_order_id', 'order_refunds', ['order_id'])


def downgrade() -> None:
    op.drop_table('order_refunds')
    with op.batch_alter_table('account_contacts') as batch:
        batch.drop_column('vat_number')
        batch.drop_column('country')
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('returned_quantity')
        batch.drop_column('vat_category')
