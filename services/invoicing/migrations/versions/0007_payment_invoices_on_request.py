"""payment invoices on request: for chosen realizations (shipped shipments, kept from orders'
events) or for any amount (an advance); overdue ones are reported

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
    with op.batch_alter_table('payment_invoices') as batch:
        batch.add_column(sa.Column('claim', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('shipment_ids_json', sa.Text(), nullable=True))
        batch.add_column(sa.Column('request_key', sa.String(length=250), nullable=True))
        batch.create_unique_constraint('uq_payment_invoices_account_request_key',
                                       ['account_id', 'request_key'])
    op.create_table(
        'realizations',
        sa.Column('shipment_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('order_id', sa.String(length=36), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('total_minor', sa.BigInteger(), nullable=False),
        sa.Column('po_number', sa.String(length=64), nullable=True),
        sa.Column('lines_json', sa.Text(), nullable=False),
        sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('payment_invoice_id', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('shipment_id'),
    )
    op.create_index('ix_realizations_account_shipped', 'realizations', ['account_id', 'shipped_at'])


def downgrade() -> None:
    op.drop_index('ix_realizations_account_shipped', 'realizations')
    op.drop_table('realizations')
    with op.batch_alter_table('payment_invoices') as batch:
        batch.drop_constraint('uq_payment_invoices_account_request_key', type_='unique')
        batch.drop_column('request_key')
        batch.drop_column('shipment_ids_json')
        batch.drop_column('claim')
