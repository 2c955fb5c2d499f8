"""merged orders are marked for deletion (when, and into what), and timers find them and the
manager-confirmed orders past retention by index

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
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('delete_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('merged_into', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('merged_into')
        batch.drop_column('delete_at')
