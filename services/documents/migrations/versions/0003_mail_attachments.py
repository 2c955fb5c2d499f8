"""mail attachments (stored documents, attached when the mail is sent) and reports of a mail's
outcome to the service that asked for it

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mails') as batch:
        batch.add_column(sa.Column('attachments_json', sa.Text(), nullable=True))
        batch.add_column(sa.Column('reports', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('mails') as batch:
        batch.drop_column('reports')
        batch.drop_column('attachments_json')
