"""The gateway application: wiring, the request-size limit, health, and start-up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from kombu import Connection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import api, errors
from gateway.auth import Tokens
from gateway.idempotency import IdempotencyStore
from gateway.rpc import Services
from services.common.config import SERVICE_NAMES, Settings, load_settings
from services.common.errors import BusinessError

HEALTH_TIMEOUT_SECONDS = 3.0


class BodySizeLimit:
    """Refuse bodies over ``limit`` bytes with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        seen = 0
        started = too_large = False

        async def counting_receive() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    too_large = True  # the application sees the client go away
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # the 413 below is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(errors.error_body(
            "payload_too_large", f"request bodies are limited to {self.limit} bytes",
            {"limit": self.limit})).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.services = Services(settings.nameko_config(), settings.rpc_timeout)
        app.state.tokens = Tokens(settings.secret_key or "", settings.token_ttl_seconds)
        app.state.idempotency = IdempotencyStore(
            settings.database_url("gateway"), settings.idempotency_ttl_seconds
        )
        yield
        app.state.services.close()
        app.state.idempotency.close()

    app = FastAPI(
        title="Billing console API",
        version="1",
        description=(
            "Accounts, balance, orders and invoices of the billing console. Errors are "
            '`{"error": {"code", "message", "details"}}`. POST requests that create things '
            "or move money accept an `Idempotency-Key` header."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(api.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        """The broker and each service (an RPC ping each, which also touches its database)."""
        report = health(app)
        ok = all(part["status"] == "ok" for part in report.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "checks": report},
                            status_code=200 if ok else 503)

    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    return app


def health(app: FastAPI) -> dict[str, dict[str, Any]]:
    settings: Settings = app.state.settings
    services: Services = app.state.services

    def broker() -> dict[str, Any]:
        try:
            with Connection(settings.amqp_uri, connect_timeout=HEALTH_TIMEOUT_SECONDS) as conn:
                conn.ensure_connection(max_retries=1)
            return {"status": "ok"}
        except Exception as error:  # any failure to connect is the report
            return {"status": "down", "error": str(error)}

    def ping(service: str) -> dict[str, Any]:
        try:
            services.call(service, "ping", timeout=HEALTH_TIMEOUT_SECONDS)
            return {"status": "ok"}
        except BusinessError as error:
            return {"status": "down", "error": error.code, "message": error.message}

    with ThreadPoolExecutor(max_workers=len(SERVICE_NAMES) + 1) as pool:
        broker_future = pool.submit(broker)
        futures = {name: pool.submit(ping, name) for name in SERVICE_NAMES}
        report = {"broker": broker_future.result()}
        report.update({name: future.result() for name, future in futures.items()})
    return report
