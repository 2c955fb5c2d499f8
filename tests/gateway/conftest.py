"""Gateway tier: the real FastAPI application in this process, its real idempotency store on a
temporary SQLite file, and an in-memory fake in place of the RabbitMQ client.

``FakeServices`` has the interface of ``gateway.rpc.Services`` (``start``, ``close``, ``call``,
``call_json``, ``broker_ok``).  It records every call and answers from a per-test table
``(service, method) -> answer``: an exception (class or instance) is raised, a callable (sync or
async) is called with the call's arguments, anything else is returned as it is.  A call with no
answer in the table raises ``UnansweredCall`` (the gateway then answers 500), so a test that
forgets to set one up fails loudly.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete

from gateway.app import create_app
from gateway.idempotency import IdempotencyKey, IdempotencyStore
from services.common.config import Settings
from services.common.contracts import PrincipalOut

SECRET = "gateway-tier-test-secret-" + "x" * 20

ALICE = PrincipalOut(user_id="u-alice", account_id="acc-1", email="alice@example.com", role="customer")
BOB = PrincipalOut(user_id="u-bob", account_id="acc-1", email="bob@example.com", role="customer")
CAROL = PrincipalOut(user_id="u-carol", account_id="acc-2", email="carol@example.com", role="customer")
OPERATOR = PrincipalOut(user_id="u-op", account_id=None, email="op@example.com", role="operator")

JSON = {"content-type": "application/json"}


class UnansweredCall(Exception):
    """The test did not tell the fake how to answer this call."""


@dataclass
class Call:
    service: str
    method: str
    args: tuple[Any, ...]
    context: dict[str, Any]
    timeout: float | None


@dataclass
class FakeServices:
    """The services, in memory.  ``answer(service, method, how)`` sets how a method answers."""

    handlers: dict[tuple[str, str], Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    broker: bool = True
    started: bool = False
    closed: bool = False

    def answer(self, service: str, method: str, how: Any) -> None:
        self.handlers[(service, method)] = how

    def calls_to(self, service: str, method: str) -> list[Call]:
        return [c for c in self.calls if (c.service, c.method) == (service, method)]

    # -- the interface of gateway.rpc.Services -----------------------------------------------

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def broker_ok(self) -> bool:
        return self.broker

    async def call(self, service: str, method: str, *args: Any, timeout: float | None = None,
                   context: dict[str, Any] | None = None) -> Any:
        if (service, method) == ("billing", "revocations") and (service, method) not in self.handlers:
            return {"items": [], "cursor": 0}  # the revocation feed's polling: not a test's call
        # copies, so that a test sees what was sent even if the gateway mutated it later
        self.calls.append(Call(service, method, copy.deepcopy(args), dict(context or {}), timeout))
        try:
            how = self.handlers[(service, method)]
        except KeyError:
            raise UnansweredCall(f"no fake answer for {service}.{method}") from None
        if isinstance(how, BaseException) or (isinstance(how, type) and issubclass(how, BaseException)):
            raise how
        if callable(how):
            result = how(*args)
            if inspect.isawaitable(result):
                result = await result
            return result
        return copy.deepcopy(how)

    async def call_json(self, service: str, method: str, *args: Any, timeout: float | None = None,
                        context: dict[str, Any] | None = None) -> bytes:
        result = await self.call(service, method, *args, timeout=timeout, context=context)
        return json.dumps(result).encode()


def in_turn(*answers: Any) -> Callable[..., Any]:
    """An answer that is each of ``answers`` in turn (an exception is raised), the last forever."""
    remaining = list(answers)

    def answer(*_: Any) -> Any:
        how = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(how, BaseException) or (isinstance(how, type) and issubclass(how, BaseException)):
            raise how
        return copy.deepcopy(how)

    return answer


class Gate:
    """An answer that blocks until ``release()``: ``entered`` is set once a call is inside.
    Polls a thread event from the event loop, so releasing works from any (green) thread."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.entered = threading.Event()
        self.released = threading.Event()

    async def __call__(self, *_: Any) -> Any:
        self.entered.set()
        deadline = time.monotonic() + 10
        while not self.released.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError("the gate was never released")
            await asyncio.sleep(0.005)
        return copy.deepcopy(self.result)

    def release(self) -> None:
        self.released.set()


# -- sample answers -------------------------------------------------------------------------------


def money(amount: str, currency: str = "EUR") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def order_out(status: str = "paid", order_id: str = "ord-1", account_id: str = "acc-1") -> dict[str, Any]:
    return {
        "id": order_id, "account_id": account_id, "status": status,
        "net": money("10.00"), "vat": money("2.50"), "total": money("12.50"),
        "paid_cash": money("12.50" if status != "awaiting_payment" else "0.00"),
        "po_number": None, "payment_refusal": None, "lines": [],
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
    }


def application_out(application_id: str = "app-1", status: str = "awaiting_confirmation") -> dict[str, Any]:
    return {
        "id": application_id, "account_id": "acc-1", "status": status, "order_ids": ["ord-1"],
        "net": money("10.00"), "vat": money("2.50"), "total": money("12.50"),
        "invoice_id": None, "created_at": "2024-01-01T00:00:00Z",
    }


def ledger_entry_out(account_id: str = "acc-1") -> dict[str, Any]:
    return {
        "entry_id": "le-1", "account_id": account_id, "kind": "top_up", "amount": money("100.00"),
        "reference": "wire 42", "balance": money("100.00"), "created_at": "2024-01-01T00:00:00Z",
    }


def account_out(account_id: str = "acc-1") -> dict[str, Any]:
    return {
        "id": account_id, "company_name": "Ada AB", "email": "alice@example.com",
        "organisation_number": None, "billing_address": None, "currency": "EUR",
        "cash_balance": money("0.00"), "created_at": "2024-01-01T00:00:00Z",
    }


def applying_account() -> dict[str, Any]:
    """Billing's ``may_apply_for_invoices`` for an account that may apply."""
    return {"billing_info_complete": True, "mailing_info_complete": True, "in_arrears": False}


def registered(principal: PrincipalOut = ALICE) -> dict[str, Any]:
    return {"account_id": principal.account_id or "acc-1", "user_id": principal.user_id}


ORDER = {"lines": [{"sku": "VM-SMALL", "quantity": 2}], "po_number": "PO-7"}
APPLICATION = {"order_ids": ["ord-1"]}
TOP_UP = {"amount": money("100.00"), "reference": "wire 42"}
REGISTRATION = {"email": "ada@example.com", "password": "correct horse battery",
                "company_name": "Ada AB", "country": "SE", "organisation_number": "556677-8899",
                "billing_address": "Storgatan 1"}


# -- tokens ---------------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(claims_json: bytes, secret: str = SECRET) -> str:
    """A token of any claims text, signed as ``gateway.auth.Tokens`` signs (HMAC-SHA256 of the
    base64url body, base64url without padding)."""
    body = b64(claims_json)
    signature = b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def claims_of(principal: PrincipalOut, expires: int | None = None) -> dict[str, Any]:
    return {"sub": principal.user_id, "acc": principal.account_id, "email": principal.email,
            "role": principal.role, "exp": int(time.time()) + 3600 if expires is None else expires,
            "iat": int(time.time() * 1000), "jti": "jti-" + principal.user_id}


# -- the application ------------------------------------------------------------------------------


@dataclass
class Gateway:
    app: FastAPI
    client: TestClient
    fake: FakeServices

    @property
    def store(self) -> IdempotencyStore:
        return self.app.state.idempotency  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Forget everything an earlier test left: the fake's answers and calls, stored keys."""
        self.fake.handlers.clear()
        self.fake.calls.clear()
        self.fake.answer("billing", "may_apply_for_invoices", applying_account())
        self.fake.broker = True
        tokens = self.app.state.tokens
        tokens._revoked_ids.clear()
        tokens._users_not_before.clear()
        with self.store.engine.begin() as connection:
            connection.execute(delete(IdempotencyKey))

    def token(self, who: PrincipalOut = ALICE) -> str:
        token, _ = self.app.state.tokens.issue(who)
        return token  # type: ignore[no-any-return]

    def auth(self, who: PrincipalOut = ALICE, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(who)}"}
        headers.update({name.replace("_", "-"): value for name, value in extra.items()})
        return headers

    @staticmethod
    def from_host(host: str) -> dict[str, str]:
        """Headers that make the request arrive from ``host`` (see ``ClientAddress``)."""
        return {CLIENT_HOST_HEADER: host}


CLIENT_HOST_HEADER = "x-test-client-host"


class ClientAddress:
    """Sets the ASGI ``client`` of a request from a test header.  Under eventlet only one event
    loop can run at a time, so a second ``TestClient(app, client=...)`` cannot be started next to
    the running one; this lets one client speak from several addresses."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(CLIENT_HOST_HEADER.encode())
            if host is not None:
                scope = {**scope, "client": (host.decode(), 40000)}
        await self.app(scope, receive, send)


def settings(tmp_path: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": SECRET,
        "gateway_database_url": f"sqlite:///{tmp_path}/gateway.sqlite3",
        "data_dir": tmp_path,
        "rpc_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


class Gateways:
    """Running gateways, one at a time: under eventlet a second event loop cannot start next to
    a running one, so a gateway with other settings replaces the current one.  Building and
    starting one costs tens of milliseconds (FastAPI builds its routes on the first request),
    so tests share it and ``Gateway.reset`` isolates them."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.key: tuple[Any, ...] | None = None
        self.current: Gateway | None = None
        self.stack = ExitStack()

    def get(self, **overrides: Any) -> Gateway:
        key = tuple(sorted(overrides.items()))
        if self.current is None or key != self.key:
            self.close()
            fake = FakeServices()
            app = create_app(settings(self.tmp_path_factory.mktemp("gateway"), **overrides), services=fake)
            client = self.stack.enter_context(TestClient(ClientAddress(app), raise_server_exceptions=False))
            self.key, self.current = key, Gateway(app, client, fake)
        self.current.reset()
        return self.current

    def close(self) -> None:
        self.stack.close()
        self.stack = ExitStack()
        self.current = None


@pytest.fixture(scope="module")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateways]:
    running = Gateways(tmp_path_factory)
    yield running
    running.close()


@pytest.fixture
def make_gateway(gateways: Gateways) -> Callable[..., Gateway]:
    """A started gateway with these ``Settings`` overrides, fresh for this test."""
    return gateways.get


@pytest.fixture
def gw(gateways: Gateways) -> Gateway:
    """A started gateway with the default test settings, fresh for this test."""
    return gateways.get()


def error_of(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return response.status_code, body["error"]["code"]
