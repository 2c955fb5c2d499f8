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
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a table by copying it to a new one (Alembic's batch mode) and dropping
        # the old; with foreign keys enforced, dropping a table other rows refer to fails
        # (an embedded database with orders cannot take a change to ``orders``).  Keys are off
        # while migrating (the pragma is ignored inside a transaction, so before one) and
        # checked whole afterwards.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        connection.commit()  # the pragma below is ignored inside a transaction
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
