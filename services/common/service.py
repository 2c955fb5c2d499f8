"""What every service class has: a health ping that proves the worker reaches its database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from services.common.messaging import rpc


class Pingable:
    name: str
    db: Any

    @rpc
    def ping(self) -> dict[str, str]:
        self.db.session.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
