"""Databases: engines, the per-worker session provider, and migrations at start.

Each service owns one database.  PostgreSQL in production and tests (psycopg2, which
eventlet's patcher makes cooperative); an embedded SQLite file when no URL is configured.
A worker gets one session; ``transaction()`` commits on success and rolls back on error, and
the provider closes whatever is left when the worker ends.  Commits happen inside the
entrypoint, before its answer is sent, so a caller never sees an answer for uncommitted work.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, Engine, Executable, Row, TypeDecorator, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from services.common.config import MAX_WORKERS, load_settings

IDLE_PING_SECONDS = 5.0


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, reads: bool = False) -> Engine:
    """An engine for a service's database.  ``reads=True`` gives the engine of hot reads:
    autocommit connections (no BEGIN/ROLLBACK round trips) and no ping (a stale connection is
    retried once instead, see ``WorkerDatabase.read``); the others ping a connection only
    after it sat idle (``ping_when_idle``)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine.execution_options(isolation_level="AUTOCOMMIT") if reads else engine
    # Every worker may hold a connection, plus the timers and the outbox relay: a pool this
    # size keeps them open (an overflow connection is closed at check-in and costs PostgreSQL
    # a new backend on the next burst).
    size = MAX_WORKERS + 2
    if reads:
        return create_engine(url, pool_size=size, max_overflow=size, isolation_level="AUTOCOMMIT")
    engine = create_engine(url, pool_size=size, max_overflow=size)
    ping_when_idle(engine)
    return engine


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    ``pool_pre_ping`` pings on every checkout: a round trip on every unit of work, ~6-9 % of a
    busy service's CPU.  A connection used less than ``IDLE_PING_SECONDS`` ago is alive unless
    the server restarted in that moment; then the statement fails once, SQLAlchemy discards
    the whole pool, and the caller's retry (same request key) gets a fresh connection."""

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool retries the checkout on a fresh connection
            raise DisconnectionError(str(error)) from error


def migrate(service: str, url: str, revision: str = "head") -> None:
    """Bring a service's database to the newest revision (or to ``revision``).  On PostgreSQL
    an advisory lock lets several replicas start at once without racing each other's
    migrations."""
    script_location = Path(__file__).resolve().parent.parent / service / "migrations"
    config = AlembicConfig()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            lock_id = int.from_bytes(hashlib.sha256(service.encode()).digest()[:7], "big")
            if not is_sqlite(engine):
                connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
                connection.commit()
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                connection.commit()
            finally:
                if not is_sqlite(engine):
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                    connection.commit()
    finally:
        engine.dispose()


class WorkerDatabase:
    """What an entrypoint sees as ``self.db``."""

    def __init__(self, factory: sessionmaker[Session], read_engine: Engine) -> None:
        self._factory = factory
        self._read_engine = read_engine
        self._session: Session | None = None

    def read(self, statement: Executable, params: dict[str, Any] | None = None) -> list[Row[Any]]:
        """Run one read-only query on an autocommit connection: one round trip.  A connection
        the server dropped (a restart) is detected by the failure and the query runs once more
        on a fresh one; reads are safe to repeat."""
        for attempt in (1, 2):
            try:
                with self._read_engine.connect() as connection:
                    return list(connection.execute(statement, params))
            except DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._factory()
        return self._session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        session = self.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def close(self) -> None:
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """One engine per container, one session per worker."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.engine: Engine | None = None
        self.read_engine: Engine | None = None
        self.sessions: sessionmaker[Session] | None = None
        self.workers: dict[Any, WorkerDatabase] = {}

    def setup(self) -> None:
        url = load_settings().database_url(self.owner)
        self.engine = make_engine(url)
        self.read_engine = make_engine(url, reads=True)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def stop(self) -> None:
        for engine in (self.engine, self.read_engine):
            if engine is not None:
                engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> WorkerDatabase:
        assert self.sessions is not None and self.read_engine is not None
        worker_db = WorkerDatabase(self.sessions, self.read_engine)
        self.workers[worker_ctx] = worker_db
        return worker_db

    def worker_teardown(self, worker_ctx: Any) -> None:
        worker_db = self.workers.pop(worker_ctx, None)
        if worker_db is not None:
            worker_db.close()


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, also on SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
