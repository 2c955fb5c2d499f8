"""ISO 11649 creditor references (``RF`` + 2 check digits + up to 21 characters): what a
payer quotes on a wire transfer, checkable for typing mistakes."""

from __future__ import annotations

import re


def rf_reference(seed: int) -> str:
    """An ISO 11649 creditor reference (``RF`` + 2 check digits + the reference) for a number.
    The check digits make a mistyped reference detectable: see ``rf_valid``."""
    body = str(seed)
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def rf_valid(reference: str) -> bool:
    text = reference.replace(" ", "").upper()
    if not re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", text):
        return False
    return _mod97(text[4:] + text[:4]) == 1


def _mod97(text: str) -> int:
    digits = "".join(str(int(c, 36)) for c in text)
    return int(digits) % 97
