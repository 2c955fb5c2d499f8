"""Test policy for the whole suite.

* eventlet patches the standard library first, as in every service process.
* Tiers: ``tests/unit`` (pure Python), ``tests/integration`` (nameko containers in this
  process against the real RabbitMQ and PostgreSQL), ``tests/e2e`` (the whole product as
  separate processes, driven over HTTP).
* The e-invoice rules come from ``EINVOICE_RULES_DIR`` (default ``../shared/einvoice``).
* Nothing is skipped for a missing broker or database: CI provides them, so their absence is a
  failure whose message says what to start.
* Each integration test gets its own RabbitMQ vhost; each run gets its own PostgreSQL databases
  (one per service), migrated by the services' own Alembic migrations, and dropped at the end.
"""

import warnings

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")

import os  # noqa: E402

import eventlet  # noqa: E402

if os.environ.get("BC_TEST_TIER") != "browser":  # the browser tier runs unpatched (its conftest)
    eventlet.monkey_patch()

import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from services.common import testing  # noqa: E402
from services.common.config import SERVICE_NAMES  # noqa: E402
from services.common.db import migrate  # noqa: E402

# The official e-invoice rule files (never copied into the project): CI points at them; a
# checkout beside ../shared finds them there.  Tests that need them fail when they are absent.
os.environ.setdefault("EINVOICE_RULES_DIR", str(testing.ROOT.parent / "shared" / "einvoice"))


def _infrastructure(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except testing.MissingInfrastructure as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def database_urls() -> Iterator[dict[str, str]]:
    """A PostgreSQL database per service for this run, migrated, named in the environment."""
    prefix = f"bc_it_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    urls = _infrastructure(testing.create_databases, prefix)
    for service in SERVICE_NAMES:
        migrate(service, urls[service])
    saved = {key: os.environ.get(key) for key in testing.database_env(urls)}
    os.environ.update(testing.database_env(urls))
    yield urls
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    testing.drop_databases(prefix)


@pytest.fixture
def amqp_uri(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh RabbitMQ vhost for one test, set as AMQP_URI."""
    name, uri = _infrastructure(testing.create_vhost)
    monkeypatch.setenv("AMQP_URI", uri)
    yield uri
    testing.delete_vhost(name)
