"""Idempotency keys for POST requests that create things or move money.

The first answer to a key is stored (at least 24 h, ``IDEMPOTENCY_TTL_SECONDS``) and replayed
for a retry with the same key and the same request; the same key with a different request is
refused (422 ``idempotency_key_reused``); a retry while the first is still running is refused
(409 ``idempotency_request_in_progress``).  Keys are scoped to the signed-in user (or to the
client address for anonymous routes).  An answer of 5xx is not stored, so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from gateway.errors import IdempotencyInProgress, IdempotencyKeyReused, status_of
from services.common.db import UtcDateTime, make_engine
from services.common.errors import BusinessError, InvalidRequest

IN_PROGRESS = "in_progress"
DONE = "done"
MAX_KEY_LENGTH = 200


class Base(DeclarativeBase):
    pass


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, database_url: str, ttl_seconds: int) -> None:
        self.engine = make_engine(database_url)
        try:
            Base.metadata.create_all(self.engine)
        except (IntegrityError, ProgrammingError):  # another gateway created it at that moment
            pass
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.ttl = timedelta(seconds=ttl_seconds)

    def run(
        self, scope: str, key: str | None, print_: str, handler: Callable[[], tuple[int, Any]]
    ) -> tuple[int, Any, bool]:
        """Run ``handler`` once per (scope, key); returns (status, body, replayed)."""
        if key is None:
            status, body = handler()
            return status, body, False
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidRequest(
                f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters",
                {"header": "Idempotency-Key"},
            )
        stored = self._begin(scope, key, print_)
        if stored is not None:
            return stored[0], stored[1], True
        try:
            status, body = handler()
        except BusinessError as error:
            status = status_of(error)
            if status >= 500:
                self._forget(scope, key)
            else:
                self._finish(scope, key, status, {"error": {
                    "code": error.code, "message": error.message, "details": error.details}})
            raise
        except BaseException:
            self._forget(scope, key)
            raise
        self._finish(scope, key, status, body)
        return status, body, False

    def _begin(self, scope: str, key: str, print_: str) -> tuple[int, Any] | None:
        now = datetime.now(UTC)
        with self.sessions() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.created_at < now - self.ttl,
                )
            )
            session.add(IdempotencyRecord(scope=scope, key=key, fingerprint=print_,
                                          state=IN_PROGRESS, created_at=now))
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
            record = self._get(session, scope, key)
        if record is None:  # expired and removed in between: a fresh start
            return self._begin(scope, key, print_)
        if record.fingerprint != print_:
            raise IdempotencyKeyReused()
        if record.state == IN_PROGRESS:
            raise IdempotencyInProgress()
        assert record.response_status is not None and record.response_body is not None
        return record.response_status, json.loads(record.response_body)

    def _finish(self, scope: str, key: str, status: int, body: Any) -> None:
        with self.sessions() as session:
            record = self._get(session, scope, key)
            if record is not None:
                record.state = DONE
                record.response_status = status
                record.response_body = json.dumps(body, default=str)
                session.commit()

    def _forget(self, scope: str, key: str) -> None:
        with self.sessions() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                )
            )
            session.commit()

    @staticmethod
    def _get(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
        return session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        ).first()

    def close(self) -> None:
        self.engine.dispose()
