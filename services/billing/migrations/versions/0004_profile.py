"""the customer profile: company, billing and mailing information, delivery channel, the
e-invoice directory, notifications, and each account's payment reference

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

FIRST_REFERENCE = 100_000


def rf_reference(seed: int) -> str:  # as services.billing.profile has it, frozen here
    digits = "".join(str(int(c, 36)) for c in f"{seed}RF00")
    return f"RF{98 - int(digits) % 97:02d}{seed}"


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('vat_number', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('company_address', sa.Text(), nullable=True))
        batch.add_column(sa.Column('billing_info', sa.Text(), nullable=True))
        batch.add_column(sa.Column('mailing_info', sa.Text(), nullable=True))
        batch.add_column(sa.Column('delivery_channel', sa.String(length=20), nullable=False,
                                   server_default='email_pdf'))
        batch.add_column(sa.Column('notifications_enabled', sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column('participant_id', sa.String(length=60), nullable=True))
        batch.add_column(sa.Column('payment_reference', sa.String(length=25), nullable=True))
        batch.add_column(sa.Column('profile_version', sa.Integer(), nullable=False,
                                   server_default='1'))
    op.create_table(
        'reference_counters',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.text("SELECT id FROM accounts ORDER BY created_at"))]
    for number, account_id in enumerate(ids, start=FIRST_REFERENCE):
        connection.execute(sa.text("UPDATE accounts SET payment_reference = :ref WHERE id = :id"),
                           {"ref": rf_reference(number), "id": account_id})
    connection.execute(sa.text("INSERT INTO reference_counters (name, value) VALUES ('account', :v)"),
                       {"v": FIRST_REFERENCE + len(ids)})
    with op.batch_alter_table('accounts') as batch:
        batch.alter_column('payment_reference', nullable=False)
        batch.create_unique_constraint('uq_accounts_payment_reference', ['payment_reference'])
        batch.create_index('ix_accounts_participant_id', ['participant_id'])
    op.create_table(
        'einvoice_participants',
        sa.Column('participant_id', sa.String(length=60), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('participant_id'),
    )


def downgrade() -> None:
    op.drop_table('einvoice_participants')
    op.drop_table('reference_counters')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_index('ix_accounts_participant_id')
        batch.drop_constraint('uq_accounts_payment_reference', type_='unique')
        for column in ('profile_version', 'payment_reference', 'participant_id',
                       'notifications_enabled', 'delivery_channel', 'mailing_info',
                       'billing_info', 'company_address', 'vat_number'):
            batch.drop_column(column)
