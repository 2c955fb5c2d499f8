"""Request keys: a creating or money-moving command answers a repeated key with its first
outcome, a success or a refusal alike.

Keeping refusals matters for sagas: a caller that timed out may send the same command again
(or a reconciler may), and the answer must be the one the first attempt got.  Otherwise a
refused charge could succeed later, after a top-up, for an order its caller already gave up.
The outcome is written in the same transaction as the command's effect.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from nameko.exceptions import deserialize, serialize
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common.contracts import utcnow
from services.common.db import UtcDateTime
from services.common.errors import BusinessError, Conflict

DONE = "done"
REFUSED = "refused"


class CommandMixin:
    """The first outcome of each keyed command."""

    __tablename__ = "commands"

    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(10))  # done | refused
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def replay(session: Session, model: type, name: str, key: str) -> dict[str, Any] | None:
    """The first result of ``key``, or None if it is new; a first refusal is raised again."""
    row = session.get(model, key)
    if row is None:
        return None
    if row.name != name:
        raise Conflict("this request key was used for another kind of request", {"key": key})
    if row.outcome == REFUSED:
        raise deserialize(json.loads(row.body))
    result: dict[str, Any] = json.loads(row.body)
    return result


def remember(session: Session, model: type, name: str, key: str, result: dict[str, Any]) -> None:
    session.add(model(key=key, name=name, outcome=DONE, body=json.dumps(result),
                      created_at=utcnow()))


def remember_refusal(session: Session, model: type, name: str, key: str,
                     refusal: BusinessError) -> None:
    session.add(model(key=key, name=name, outcome=REFUSED, body=json.dumps(serialize(refusal)),
                      created_at=utcnow()))
