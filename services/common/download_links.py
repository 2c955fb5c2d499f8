"""Download links mailed with a report too large to attach: ``<file id>.<expiry>.<signature>``,
an HMAC-SHA256 under ``SECRET_KEY`` of the file and the moment it stops working.  Whoever holds
the link may download that one file until then (the mail went to the account's address); the
gateway's ``/download/{token}`` checks it and streams the file.  Opening it spends nothing, so
a mail scanner fetching it does no harm."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

PURPOSE = b"download:"


def sign(secret: str, file_id: str, valid_seconds: float, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + valid_seconds)
    body = f"{file_id}.{expires}"
    return f"{body}.{_signature(secret, body)}"


def verify(secret: str, token: str, now: float | None = None) -> str | None:
    """The file a link opens, or ``None`` for a link forged, altered or expired."""
    try:
        file_id, expires, signature = token.rsplit(".", 2)
        deadline = int(expires)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(secret, f"{file_id}.{expires}")):
        return None
    return file_id if (time.time() if now is None else now) < deadline else None


def _signature(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), PURPOSE + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
