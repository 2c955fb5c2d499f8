"""applications are checked against the account's profile and standing as billing announces
them, go through submitted to issued or rejected (an operator reviews where configured), and can
be withdrawn; each keeps its channel, rejection reason and status history

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_profiles',
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('profile_json', sa.Text(), nullable=True),
        sa.Column('profile_version', sa.Integer(), nullable=False),
        sa.Column('in_arrears', sa.Boolean(), nullable=False),
        sa.Column('standing_version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('account_id'),
    )
    with op.batch_alter_table('invoice_applications') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('reason', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('status_history', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoice_applications') as batch:
        batch.drop_column('status_history')
        batch.drop_column('reason')
        batch.drop_column('channel')
    op.drop_table('account_profiles')
