"""report jobs, and the Files centre: produced documents with their period and expiry

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
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('period_from', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('period_to', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_documents_expires_at', ['expires_at'])
        batch.create_index('ix_documents_account_created', ['account_id', 'created_at', 'id'])
    op.create_table(
        'report_jobs',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('request_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('parameters_json', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('document_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'request_key'),
    )
    op.create_index('ix_report_jobs_account_created', 'report_jobs', ['account_id', 'created_at', 'id'])
    op.create_index('ix_report_jobs_status_lease', 'report_jobs', ['status', 'lease_until'])


def downgrade() -> None:
    op.drop_table('report_jobs')
    with op.batch_alter_table('documents') as batch:
        batch.drop_index('ix_documents_account_created')
        batch.drop_index('ix_documents_expires_at')
        batch.drop_column('expires_at')
        batch.drop_column('period_to')
        batch.drop_column('period_from')
