"""Service tier: one service class at a time, called through nameko's ``worker_factory`` with
fakes of its providers (no broker), but a REAL ``WorkerDatabase`` on a SQLite file migrated by
the service's own Alembic migrations, so the repository code and the SQL really run.

* Every call gets a fresh worker (its own ``WorkerDatabase``, closed after the call), as a
  nameko container gives each call its own worker.
* ``FakeOutbox`` (``service_fakes``) records an event only when the session that staged it
  commits (it hooks the session's ``after_commit`` like the real ``OutboxWriter``, and drops
  what a rollback undoes).
* ``FakeBilling`` (``service_fakes``) answers each call from a queue of answers set by the
  test (a value, a callable of the call's arguments, or an exception to raise) and records
  every call.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service_fakes import FakeBilling, FakeOutbox, Service
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.common.config import Settings
from services.common.db import WorkerDatabase, make_engine, migrate
from services.orders.repository import seed_demo_catalogue
from services.orders.service import OrdersService

INNER_TIMEOUT = 2.0


# -- databases --------------------------------------------------------------------------------


class ServiceDatabase:
    """A migrated SQLite database of one service: fresh ``WorkerDatabase``s for workers, and
    plain sessions for the test to look at (or arrange) rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.read_engine: Engine = make_engine(url, reads=True)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def worker(self) -> WorkerDatabase:
        return WorkerDatabase(self.sessions, self.read_engine)

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A service's database migrated once per run; each test works on a copy."""
    root = tmp_path_factory.mktemp("migrated")
    done: dict[str, Path] = {}

    def template(service: str) -> Path:
        if service not in done:
            path = root / f"{service}.sqlite3"
            migrate(service, f"sqlite:///{path}")
            assert not Path(f"{path}-wal").exists(), "the template must be checkpointed"
            done[service] = path
        return done[service]

    return template


@pytest.fixture
def service_database(
    migrated_template: Callable[[str], Path], tmp_path: Path
) -> Iterator[Callable[[str], ServiceDatabase]]:
    made: list[ServiceDatabase] = []

    def make(service: str) -> ServiceDatabase:
        path = tmp_path / f"{service}.sqlite3"
        shutil.copyfile(migrated_template(service), path)
        database = ServiceDatabase(f"sqlite:///{path}")
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", rpc_timeout=2 * INNER_TIMEOUT,
                    inner_rpc_timeout=INNER_TIMEOUT)


@pytest.fixture
def outbox() -> FakeOutbox:
    return FakeOutbox()


@pytest.fixture
def billing() -> FakeBilling:
    return FakeBilling()


# -- the services under test ------------------------------------------------------------------


@pytest.fixture
def orders_db(service_database: Callable[[str], ServiceDatabase]) -> ServiceDatabase:
    database = service_database("orders")
    with database.session() as session:
        seed_demo_catalogue(session)
        session.commit()
    return database


@pytest.fixture
def orders(orders_db: ServiceDatabase, billing: FakeBilling, outbox: FakeOutbox,
           settings: Settings) -> Service:
    return Service(OrdersService, orders_db, billing=billing, outbox=outbox, settings=settings)
