"""the catalogue: product kinds, VAT categories, the active flag, texts in other languages,
and for goods stock on hand and reserved, units per box, characteristics and certificates;
order lines keep their kind and, for goods, the approved quantity and why not all of it

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
    with op.batch_alter_table('products') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=10), nullable=False,
                                   server_default='service'))
        batch.add_column(sa.Column('vat_category', sa.String(length=2), nullable=False,
                                   server_default='S'))
        batch.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('names', sa.Text(), nullable=True))
        batch.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch.add_column(sa.Column('descriptions', sa.Text(), nullable=True))
        batch.add_column(sa.Column('on_hand', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reserved', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('units_per_box', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('characteristics', sa.Text(), nullable=True))
        batch.add_column(sa.Column('certificates', sa.Text(), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False,
                                   server_default=sa.func.now()))
        batch.create_check_constraint('ck_products_reserved', 'reserved >= 0')
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=10), nullable=False,
                                   server_default='service'))
        batch.add_column(sa.Column('approved_quantity', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('rejection_reason', sa.String(length=40), nullable=True))
    op.execute("UPDATE products SET kind = 'licence' WHERE sku LIKE 'LIC-%'")


def downgrade() -> None:
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('rejection_reason')
        batch.drop_column('approved_quantity')
        batch.drop_column('kind')
    with op.batch_alter_table('products') as batch:
        batch.drop_constraint('ck_products_reserved', type_='check')
        for column in ('updated_at', 'certificates', 'characteristics', 'units_per_box',
                       'reserved', 'on_hand', 'descriptions', 'description', 'names', 'active',
                       'vat_category', 'kind'):
            batch.drop_column(column)
