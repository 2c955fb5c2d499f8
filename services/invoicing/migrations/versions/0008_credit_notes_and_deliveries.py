"""credit notes (issued documents of their own kind and series, each for an invoice) and the
delivery of every issued document by its channel, with the access-point simulator's tables

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), nullable=False,
                                   server_default='invoice'))
        batch.add_column(sa.Column('delivery_status', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('credited_invoice_id', sa.String(length=36), nullable=True))
        batch.alter_column('application_id', existing_type=sa.String(length=36), nullable=True)
        batch.create_index('ix_invoices_credited_invoice_id', ['credited_invoice_id'])
    with op.batch_alter_table('invoiceable_orders') as batch:
        batch.add_column(sa.Column('credit_basis_json', sa.Text(), nullable=True))
    op.create_table(
        'deliveries',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('invoice_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('message_id', sa.String(length=300), nullable=True),
        sa.Column('rule_ids_json', sa.Text(), nullable=True),
        sa.Column('recipient', sa.String(length=300), nullable=True),
        sa.Column('attempts_json', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deliveries_invoice_id', 'deliveries', ['invoice_id'])
    op.create_index('ix_deliveries_status_next', 'deliveries', ['status', 'next_attempt_at'])
    op.create_table(
        'access_point_transmissions',
        sa.Column('message_id', sa.String(length=100), nullable=False),
        sa.Column('delivery_id', sa.String(length=36), nullable=False),
        sa.Column('receiver', sa.String(length=60), nullable=False),
        sa.Column('document_xml', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('message_id'),
    )
    op.create_index('ix_access_point_transmissions_delivery_id', 'access_point_transmissions',
                    ['delivery_id'])
    op.create_table(
        'simulator_settings',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('simulator_settings')
    op.drop_table('access_point_transmissions')
    op.drop_table('deliveries')
    with op.batch_alter_table('invoiceable_orders') as batch:
        batch.drop_column('credit_basis_json')
    with op.batch_alter_table('invoices') as batch:
        batch.drop_index('ix_invoices_credited_invoice_id')
        batch.drop_column('credited_invoice_id')
        batch.drop_column('delivery_status')
        batch.drop_column('kind')
