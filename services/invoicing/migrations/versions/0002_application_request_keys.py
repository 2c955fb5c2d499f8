"""an application remembers the request key it was made with, so a retried apply answers it

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoice_applications') as batch:
        batch.add_column(sa.Column('request_key', sa.String(length=250), nullable=True))
        batch.create_unique_constraint('uq_applications_account_request_key',
                                       ['account_id', 'request_key'])
    op.create_index('ix_applications_account_created', 'invoice_applications',
                    ['account_id', 'created_at', 'id'])
    op.create_index('ix_invoices_account_issued', 'invoices', ['account_id', 'issued_at', 'id'])
    op.create_index('ix_invoiceable_account_implemented', 'invoiceable_orders',
                    ['account_id', 'implemented_at', 'order_id'])


def downgrade() -> None:
    op.drop_index('ix_invoiceable_account_implemented', 'invoiceable_orders')
    op.drop_index('ix_invoices_account_issued', 'invoices')
    op.drop_index('ix_applications_account_created', 'invoice_applications')
    with op.batch_alter_table('invoice_applications') as batch:
        batch.drop_constraint('uq_applications_account_request_key', type_='unique')
        batch.drop_column('request_key')
