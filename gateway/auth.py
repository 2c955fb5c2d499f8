"""Bearer tokens: HMAC-signed, expiring, carrying who the caller is and which account they act for.

The gateway keeps no session table: a token is ``base64url(claims).base64url(hmac-sha256)``
signed with ``SECRET_KEY``; it works for ``TOKEN_TTL_SECONDS`` (12 h by default).  A token
whose claims are not what this module writes is refused like a bad signature (401).
Customers act for their own account only; operators for any.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from gateway.errors import AuthenticationRequired, Forbidden
from services.common.contracts import PrincipalOut
from services.common.errors import NotFound

ROLES = ("customer", "operator")


@dataclass(frozen=True)
class Principal:
    user_id: str
    account_id: str | None
    email: str
    role: str

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

    def issue(self, principal: PrincipalOut) -> tuple[str, int]:
        expires = int(time.time()) + self._ttl
        claims = {
            "sub": principal.user_id,
            "acc": principal.account_id,
            "email": principal.email,
            "role": principal.role,
            "exp": expires,
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
            email, role = claims["email"], claims["role"]
            well_formed = (
                isinstance(expires, int) and not isinstance(expires, bool)
                and isinstance(user_id, str) and isinstance(email, str)
                and role in ROLES and (account_id is None or isinstance(account_id, str))
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            well_formed = False
        if not well_formed:  # signed by us, so never expected; refuse rather than guess
            raise AuthenticationRequired("the token is not valid")
        if expires < time.time():
            raise AuthenticationRequired("the token has expired; sign in again")
        return Principal(user_id, account_id, email, role)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
