"""Payment orders customers upload: what a file is (by its content, never by its name or the
type the client claims), and where its bytes are kept."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from services.common.errors import InvalidRequest, PayloadTooLarge

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


def sniff(content: bytes) -> tuple[str, str]:
    """(content type, file extension) of a PDF, PNG or JPEG, told by its first bytes."""
    if len(content) > MAX_BYTES:
        raise PayloadTooLarge(f"a payment order may have at most {MAX_BYTES} bytes",
                              {"field": "file", "limit": MAX_BYTES})
    if not content:
        raise InvalidRequest("the file is empty", {"field": "file"})
    for magic, content_type, extension in SIGNATURES:
        if content.startswith(magic):
            return content_type, extension
    raise InvalidRequest("a payment order is a PDF, PNG or JPEG file", {"field": "file"})


def store(root: Path, account_id: str, order_id: str, extension: str, content: bytes) -> tuple[str, str]:
    """Write the file (aside, then renamed, so it is never seen half written); returns its path
    relative to ``root`` and its SHA-256."""
    relative = Path("payment-orders") / account_id / f"{order_id}{extension}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = target.with_suffix(target.suffix + ".part")
    aside.write_bytes(content)
    os.replace(aside, target)
    return str(relative), hashlib.sha256(content).hexdigest()


def read(root: Path, relative: str) -> bytes:
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        raise InvalidRequest("no such file", {"field": "path"})
    return path.read_bytes()
