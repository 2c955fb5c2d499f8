"""The gateway application: wiring, the request-size limit, the access log, health, the API
docs (served from a packaged Swagger UI, no CDN), and start-up."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import api, card_simulator, console, errors, link_pages
from gateway.auth import RevocationFeed, Tokens
from gateway.idempotency import IdempotencyStore
from gateway.rpc import Services
from services.common.config import SERVICE_NAMES, Settings, load_settings
from services.common.errors import BusinessError
from services.documents import filestore

HEALTH_TIMEOUT_SECONDS = 3.0
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = logging.getLogger("gateway.access")


# Routes that take a file: their bodies may be as large as the file they allow, plus the form.
UPLOAD_ROUTES = {("POST", "/api/v1/account/payment-orders"), ("POST", "/api/v1/admin/bank-statements"),
                 ("POST", "/api/v1/cart/upload"), ("POST", "/balance/payment-orders"),
                 ("POST", "/cart/upload")}
UPLOAD_LIMIT = 10 * 1024 * 1024 + 64 * 1024


class BodySizeLimit:
    """Refuse bodies over ``limit`` bytes with 413, whether or not Content-Length is sent
    (``UPLOAD_LIMIT`` for the routes that take a file)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.default_limit = limit
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (scope["method"], scope["path"]) in UPLOAD_ROUTES:
            await _Limited(self.app, max(self.default_limit, UPLOAD_LIMIT))(scope, receive, send)
            return
        await _Limited(self.app, self.default_limit)(scope, receive, send)


class _Limited:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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


class AccessLog:
    """One line per request (method, path, status, duration, request id).  The request id is
    the client's ``X-Request-Id`` when it is a sane one, else made here; it is answered in
    ``X-Request-Id`` and travels to every service in nameko's context data.  ``Server-Timing``
    answers the time the gateway took until it began answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("state", {}).get("inner"):  # a console page's call: its line says it
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # what the client gets if the application fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                spent = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode()),
                                      (b"server-timing", spent.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # The path as sent (still percent-encoded): a decoded %00 or newline would let a
            # client write into the log.
            raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            access_log.info("%s %s %d %.1f ms", scope["method"],
                            raw.decode("ascii", "backslashreplace"), status,
                            (time.perf_counter() - started) * 1000,
                            extra={"request_id": request_id})


def create_app(settings: Settings | None = None, services: Any = None) -> FastAPI:
    """The gateway.  ``services`` replaces the RabbitMQ client (tests pass a fake with the
    same interface)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.file_store = filestore.FileStore(settings.files_dir)  # downloads read it
        app.state.services = services or Services(settings.amqp_uri, settings.rpc_timeout)
        await app.state.services.start()
        app.state.tokens = Tokens(settings.secret_key or "", settings.token_ttl_seconds)
        app.state.revocations = RevocationFeed(app.state.tokens, app.state.services,
                                               settings.revocation_poll_seconds)
        await app.state.revocations.start()
        # A lease outlives any request: one RPC call of at most RPC_TIMEOUT, plus margin.
        app.state.idempotency = IdempotencyStore(
            settings.database_url("gateway"), settings.idempotency_ttl_seconds,
            lease_seconds=2 * settings.rpc_timeout + 5,
        )
        yield
        await app.state.revocations.close()
        await app.state.services.close()
        app.state.idempotency.close()

    app = FastAPI(
        title="Billing console API",
        version="1",
        description=(
            "Accounts, balance, orders and invoices of the billing console. Errors are "
            '`{"error": {"code", "message", "details"}}` with a stable `code`. POST requests '
            "that create things or move money accept an `Idempotency-Key` header: a retry "
            "(also after a 504) answers what the first request did. Money is "
            '`{"amount": "12.50", "currency": "EUR"}` with the amount as a decimal string. '
            "Lists are `{items, next_cursor}`. Tokens last `TOKEN_TTL_SECONDS` (12 h)."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(api.router)
    app.include_router(card_simulator.router)  # the card processor's simulator (see its module)
    app.include_router(link_pages.router)  # the pages the mails' one-time links open
    console.install(app)  # the web console's pages
    app.mount("/api/v1/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="docs-assets")

    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json", title="Billing console API",
            swagger_js_url="/api/v1/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/api/v1/docs/assets/swagger-ui.css",
            swagger_favicon_url="/api/v1/docs/assets/favicon-32x32.png",
        )

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        """The broker and each service (an RPC ping each, which also touches its database)."""
        report = await health(app.state.services)
        ok = all(part["status"] == "ok" for part in report.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "checks": report},
                            status_code=200 if ok else 503)

    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    app.add_middleware(AccessLog)
    return app


async def health(services: Any) -> dict[str, dict[str, Any]]:
    async def ping(service: str) -> dict[str, Any]:
        try:
            await services.call(service, "ping", timeout=HEALTH_TIMEOUT_SECONDS)
            return {"status": "ok"}
        except BusinessError as error:
            return {"status": "down", "error": error.code, "message": error.message}

    broker = {"status": "ok"} if await services.broker_ok() else {"status": "down"}
    pings = await asyncio.gather(*(ping(name) for name in SERVICE_NAMES))
    return {"broker": broker, **dict(zip(SERVICE_NAMES, pings, strict=True))}
