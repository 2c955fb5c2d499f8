"""The body of every service's Alembic ``env.py``: online migrations on the connection that
``services.common.db.migrate`` hands over (or a fresh one from the configured URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, MetaData

from services.common.db import make_engine


def run(metadata: MetaData) -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection, metadata)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as fresh:
        _run_on(fresh, metadata)
        fresh.commit()


def _run_on(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
