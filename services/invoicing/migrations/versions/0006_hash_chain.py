"""issued invoices are hash-chained: each keeps the hash of its content and of the one before
it in its series and year; invoices issued before this are sealed now, in numbering order

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INVOICES = sa.table(
    'invoices', *(sa.column(name) for name in (
        'id', 'number', 'series', 'year', 'sequence', 'account_id', 'application_id', 'currency',
        'net_minor', 'vat_minor', 'total_minor', 'issue_date', 'snapshot_json', 'content_hash',
        'previous_hash')),
    sa.column('issued_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('previous_hash', sa.String(length=64), nullable=True))
    from datetime import UTC
    from types import SimpleNamespace

    from services.invoicing import chain

    connection = op.get_bind()
    last: dict[tuple[str, int], str] = {}
    rows = connection.execute(sa.select(INVOICES).order_by(
        INVOICES.c.series, INVOICES.c.year, INVOICES.c.sequence)).all()
    for row in rows:
        issued = row._mapping
        if issued["issued_at"].tzinfo is None:  # SQLite hands naive UTC back
            issued = {**issued, "issued_at": issued["issued_at"].replace(tzinfo=UTC)}
        previous = last.get((row.series, row.year)) if row.sequence > 1 else None
        sealed = chain.digest(SimpleNamespace(**issued), previous)
        connection.execute(INVOICES.update().where(INVOICES.c.id == row.id).values(
            content_hash=sealed, previous_hash=previous))
        last[(row.series, row.year)] = sealed


def downgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.drop_column('previous_hash')
        batch.drop_column('content_hash')
