"""Integration tier: real nameko containers in this process, on a fresh RabbitMQ vhost per test
and the run's PostgreSQL databases, with eventlet's hub-blocking detection on (a worker that
blocks the hub for 2 s fails the test)."""

from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import eventlet.debug
import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.config import load_settings

BLOCKING_RESOLUTION_SECONDS = 2


@pytest.fixture(autouse=True)
def hub_blocking_detection() -> Iterator[None]:
    eventlet.debug.hub_blocking_detection(True, BLOCKING_RESOLUTION_SECONDS)
    yield
    eventlet.debug.hub_blocking_detection(False)


@pytest.fixture
def config(database_urls: dict[str, str], amqp_uri: str) -> dict[str, Any]:
    return load_settings().nameko_config()


@pytest.fixture
def run_services(config: dict[str, Any]) -> Iterator[Callable[..., list[ServiceContainer]]]:
    started: list[ServiceContainer] = []

    def run(*service_classes: type) -> list[ServiceContainer]:
        containers = [ServiceContainer(cls, config) for cls in service_classes]
        for container in containers:
            container.start()
            started.append(container)
        return containers

    yield run
    for container in reversed(started):
        container.stop()


@pytest.fixture
def rpc(config: dict[str, Any]) -> Iterator[Any]:
    with ClusterRpcProxy(config, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def rpc_factory(config: dict[str, Any]) -> Iterator[Callable[[], Any]]:
    """A fresh proxy per green thread (a standalone proxy must not be shared)."""
    runners: list[ClusterRpcProxy] = []

    def make() -> Any:
        runner = ClusterRpcProxy(config, timeout=30)
        runners.append(runner)
        return runner.start()

    yield make
    for runner in runners:
        runner.stop()
