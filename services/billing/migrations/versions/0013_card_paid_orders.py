"""a card payment may pay an order (charged from the money it brings, once)

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
    with op.batch_alter_table('card_payments') as batch:
        batch.add_column(sa.Column('order_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('card_payments') as batch:
        batch.drop_column('order_id')
