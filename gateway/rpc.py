"""Calling the services from the gateway's worker threads.

nameko's standalone ``ClusterRpcProxy`` is not safe to share between threads, and opening
one per request costs ~20 ms, so each thread keeps its own (per timeout) and replaces it after
a timeout or a broken connection.  Every call has a timeout.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from gateway.errors import UpstreamError
from services.common.errors import ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

BROKEN_CONNECTION = (OSError, KombuOperationalError, AMQPError)


class Services:
    def __init__(self, nameko_config: dict[str, Any], timeout: float) -> None:
        self.config = nameko_config
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def call(self, service: str, method: str, *args: Any, timeout: float | None = None) -> Any:
        timeout = timeout or self.timeout
        try:
            proxy = self._proxy(timeout)
            return getattr(getattr(proxy, service), method)(*args)
        except RpcTimeout:
            self._discard(timeout)
            raise ServiceTimeout(
                f"the {service} service did not answer within {timeout:g} s",
                {"service": service},
            ) from None
        except UnknownService:
            raise ServiceUnavailable(
                f"the {service} service is not running", {"service": service}
            ) from None
        except RemoteError as error:
            log.error("%s.%s failed: %s", service, method, error)
            raise UpstreamError(details={"service": service}) from None
        except BROKEN_CONNECTION as error:
            self._discard(timeout)
            log.warning("message broker unreachable: %r", error)
            raise ServiceUnavailable(
                "the message broker is not reachable", {"service": service}
            ) from None

    def _proxy(self, timeout: float) -> Any:
        proxies = self._local.__dict__.setdefault("proxies", {})
        if timeout not in proxies:
            runner = ClusterRpcProxy(self.config, timeout=timeout)
            proxies[timeout] = (runner, runner.start())
            with self._lock:
                self._all.append(runner)
        return proxies[timeout][1]

    def _discard(self, timeout: float) -> None:
        proxies = self._local.__dict__.get("proxies", {})
        entry = proxies.pop(timeout, None)
        if entry is not None:
            self._stop(entry[0])

    def _stop(self, runner: Any) -> None:
        with self._lock:
            if runner in self._all:
                self._all.remove(runner)
        try:
            runner.stop()
        except Exception:  # the connection is already gone
            pass

    def close(self) -> None:
        for runner in list(self._all):
            self._stop(runner)
