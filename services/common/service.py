"""What every service class has: a health ping that proves the worker reaches its database,
its settings (parsed once, when the container starts), and the request id in its log lines."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import text

from services.common import logs
from services.common.config import Settings, load_settings
from services.common.messaging import rpc


class Config(DependencyProvider):
    """``self.settings``: parsed once when the container starts, never per call."""

    def setup(self) -> None:
        self.settings = load_settings()

    def get_dependency(self, worker_ctx: Any) -> Settings:
        return self.settings


class RequestLog(DependencyProvider):
    """Makes the request id of the worker's context data visible to the log filter."""

    def worker_setup(self, worker_ctx: Any) -> None:
        logs.set_request_id(worker_ctx.data.get(logs.REQUEST_ID))

    def worker_teardown(self, worker_ctx: Any) -> None:
        logs.set_request_id(None)


class Pingable:
    name: str
    db: Any

    settings = Config()
    request_log = RequestLog()

    @rpc
    def ping(self) -> dict[str, str]:
        self.db.session.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
