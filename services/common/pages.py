"""Lists in pages: ``{"items": [...], "next_cursor": str | None}``, keyset-paginated.

A cursor is the sort key of the last item of a page (newest first: its time and id), opaque to
clients (URL-safe base64 of JSON).  A cursor that does not decode is the client's error.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, literal, tuple_

from services.common.errors import InvalidRequest

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def encode_cursor(at: datetime, id_: str) -> str:
    raw = json.dumps([at.isoformat(), id_], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, id_ = json.loads(raw)
        return datetime.fromisoformat(at), str(id_)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequest("the cursor is not one this list gave out",
                             {"field": "cursor"}) from None


def newest_first(query: Select[Any], at: Any, id_: Any, limit: int,
                 after: tuple[datetime, str] | None) -> Select[Any]:
    """A page of ``query``: newest first by (``at``, ``id_``), after the cursor's key."""
    if after is not None:
        query = query.where(tuple_(at, id_) < tuple_(*map(literal, after)))
    return query.order_by(at.desc(), id_.desc()).limit(limit)


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be 1 to {MAX_LIMIT}", {"field": "limit"})
    return limit


def page(items: list[dict[str, Any]], limit: int, at_key: str, id_key: str = "id") -> dict[str, Any]:
    """``items`` holds up to ``limit + 1`` rows newest first; the extra one says a next page
    exists."""
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if more else None
    cursor = None
    if last is not None:
        at = last[at_key]
        cursor = encode_cursor(at if isinstance(at, datetime) else datetime.fromisoformat(at),
                               last[id_key])
    return {"items": items, "next_cursor": cursor}


def encode_key_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).rstrip(b"=").decode()


def decode_key_cursor(cursor: str | None) -> str | None:
    """The cursor of a list ordered by one text key (ascending)."""
    if not cursor:
        return None
    try:
        (key,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(key)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequest("the cursor is not one this list gave out",
                             {"field": "cursor"}) from None


def key_page(items: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    """``items`` holds up to ``limit + 1`` rows in key order; the extra one says a next page
    exists."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_key_cursor(items[-1][key]) if more else None}


def encode_id_cursor(last_id: int) -> str:
    return encode_key_cursor(str(last_id))


def decode_id_cursor(cursor: str | None) -> int | None:
    key = decode_key_cursor(cursor)
    if key is None:
        return None
    if not key.isdigit():
        raise InvalidRequest("the cursor is not one this list gave out", {"field": "cursor"})
    return int(key)


def parse_day(value: str | None, field: str, next_day: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` filter as the UTC midnight that starts it (or ends it: ``next_day``)."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest("a date is YYYY-MM-DD", {"field": field}) from None
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if next_day else start
