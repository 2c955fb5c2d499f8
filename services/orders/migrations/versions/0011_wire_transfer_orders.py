"""an order paid by wire transfer knows the payment invoice that pays it

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
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('payment_invoice_id', sa.String(length=36), nullable=True))
        batch.create_unique_constraint('uq_orders_payment_invoice_id', ['payment_invoice_id'])


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_constraint('uq_orders_payment_invoice_id', type_='unique')
        batch.drop_column('payment_invoice_id')
