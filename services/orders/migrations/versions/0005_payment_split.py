"""orders are paid by balance, voucher, both, or card: the order keeps its payment method
(and card payment) and what each wallet paid, and each line its own part of it

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
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('paid_voucher_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('payment_method', sa.String(length=20), nullable=False,
                                   server_default='balance'))
        batch.add_column(sa.Column('card_payment_id', sa.String(length=36), nullable=True))
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('paid_cash_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('paid_voucher_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
    # orders paid before: all of it from the cash balance
    op.execute("UPDATE order_lines SET paid_cash_minor = gross_minor WHERE order_id IN "
               "(SELECT id FROM orders WHERE paid_cash_minor > 0)")


def downgrade() -> None:
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('paid_voucher_minor')
        batch.drop_column('paid_cash_minor')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('card_payment_id')
        batch.drop_column('payment_method')
        batch.drop_column('paid_voucher_minor')
