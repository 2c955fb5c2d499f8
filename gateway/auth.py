"""Bearer tokens: HMAC-signed, expiring, carrying who the caller is and which account they act for.

A token is ``base64url(claims).base64url(hmac-sha256)`` signed with ``SECRET_KEY``; it works for
``TOKEN_TTL_SECONDS`` (12 h by default) unless revoked.  A token whose claims are not what this
module writes is refused like a bad signature (401).  Customers act for their own account only;
operators for any.

Revocation costs no round trip per request: billing keeps the revocations (a signed-out token's
id; a user whose password was reset, with the moment before which their tokens stop working),
and every gateway process holds them in memory — applied at once by the process that signs a
token out, and learnt by the others from ``RevocationFeed``, which asks billing for new ones
every ``REVOCATION_POLL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.errors import AuthenticationRequired, Forbidden
from services.common.contracts import PrincipalOut
from services.common.errors import NotFound

log = logging.getLogger(__name__)

ROLES = ("customer", "operator")


@dataclass(frozen=True)
class Principal:
    user_id: str
    account_id: str | None
    email: str
    role: str
    token_id: str = ""
    expires_at: int = 0

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def own_account(self) -> str:
        if self.account_id is None:
            raise NotFound("this user has no customer account")
        return self.account_id

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret.encode()
        self._ttl = ttl_seconds
        self._revoked_ids: dict[str, float] = {}  # token id → when the token would expire
        self._users_not_before: dict[str, int] = {}  # user id → ms; older tokens are refused

    def issue(self, principal: PrincipalOut) -> tuple[str, int]:
        now = time.time()
        expires = int(now) + self._ttl
        claims = {
            "sub": principal.user_id,
            "acc": principal.account_id,
            "email": principal.email,
            "role": principal.role,
            "exp": expires,
            "iat": int(now * 1000),
            "jti": uuid.uuid4().hex,
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}", expires

    def verify(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthenticationRequired()
        token = authorization.removeprefix("Bearer ").strip()
        body, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(
            signature.encode("utf-8", "replace"), self._sign(body).encode()
        ):
            raise AuthenticationRequired("the token is not valid")
        try:
            claims = json.loads(_unb64(body))
            expires, user_id, account_id = claims["exp"], claims["sub"], claims.get("acc")
            email, role, issued, token_id = claims["email"], claims["role"], claims["iat"], claims["jti"]
            well_formed = (
                all(isinstance(n, int) and not isinstance(n, bool) for n in (expires, issued))
                and isinstance(user_id, str) and isinstance(email, str)
                and isinstance(token_id, str)
                and role in ROLES and (account_id is None or isinstance(account_id, str))
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            well_formed = False
        if not well_formed:  # signed by us, so never expected; refuse rather than guess
            raise AuthenticationRequired("the token is not valid")
        if expires < time.time():
            raise AuthenticationRequired("the token has expired; sign in again")
        if token_id in self._revoked_ids or issued < self._users_not_before.get(user_id, 0):
            raise AuthenticationRequired("the token was signed out; sign in again")
        return Principal(user_id, account_id, email, role, token_id, expires)

    def revoke(self, subject: str, not_before: datetime, expires_at: datetime) -> None:
        """Apply one revocation: ``token:<id>`` or ``user:<id>``."""
        kind, _, value = subject.partition(":")
        if kind == "token":
            self._revoked_ids[value] = expires_at.timestamp()
        elif kind == "user":
            moment = int(not_before.timestamp() * 1000)
            self._users_not_before[value] = max(moment, self._users_not_before.get(value, 0))

    def forget_expired(self) -> None:
        """Drop revocations no unexpired token can need."""
        now = time.time()
        self._revoked_ids = {t: at for t, at in self._revoked_ids.items() if at > now}
        oldest_live = int((now - self._ttl) * 1000)
        self._users_not_before = {u: t for u, t in self._users_not_before.items() if t > oldest_live}

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())


class RevocationFeed:
    """Keeps ``tokens`` current with billing's revocations: a full load at start, then the new
    ones every ``interval`` seconds.  While billing is away the known ones keep applying."""

    def __init__(self, tokens: Tokens, services: Any, interval: float) -> None:
        self.tokens = tokens
        self.services = services
        self.interval = interval
        self.cursor = 0
        self._task: asyncio.Task[None] | None = None

    async def poll(self) -> None:
        answer = await self.services.call("billing", "revocations", self.cursor)
        for item in answer["items"]:
            self.tokens.revoke(item["subject"], datetime.fromisoformat(item["not_before"]),
                               datetime.fromisoformat(item["expires_at"]))
        self.cursor = answer["cursor"]
        self.tokens.forget_expired()

    async def start(self) -> None:
        try:
            await self.poll()
        except Exception as error:  # billing not up yet: the loop keeps trying
            log.warning("revocations not loaded yet: %s", error)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll()
            except Exception as error:
                log.warning("revocations not refreshed: %s", error)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
