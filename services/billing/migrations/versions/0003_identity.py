"""identity: verified e-mail, account roles, one-time mail tokens, sign-in failures, revocations

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
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('country', sa.String(length=2), nullable=True))
        batch.add_column(sa.Column('language', sa.String(length=5), nullable=False,
                                   server_default='en'))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('account_role', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('credentials_changed_at', sa.DateTime(timezone=True),
                                   nullable=True))
    # users made before verification existed keep working
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.execute("UPDATE users SET account_role = 'owner' WHERE role = 'customer'")
    op.create_table(
        'user_tokens',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=36), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_user_tokens_user_id', 'user_tokens', ['user_id'])
    op.create_table(
        'login_failures',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('subject', sa.String(length=120), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_subject_at', 'login_failures', ['subject', 'at'])
    op.create_table(
        'revocations',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('subject', sa.String(length=80), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_revocations_subject', 'revocations', ['subject'])
    op.create_index('ix_revocations_expires_at', 'revocations', ['expires_at'])
    op.create_index('ix_revocations_created_at', 'revocations', ['created_at'])


def downgrade() -> None:
    op.drop_table('revocations')
    op.drop_table('login_failures')
    op.drop_table('user_tokens')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('credentials_changed_at')
        batch.drop_column('email_verified_at')
        batch.drop_column('account_role')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('language')
        batch.drop_column('country')
