"""Idempotency keys for POST requests that create things or move money.

The first answer to a key is stored (at least 24 h, ``IDEMPOTENCY_TTL_SECONDS``) and replayed
for a retry with the same key and the same request; the same key with a different request is
refused (422 ``idempotency_key_reused``); a retry while the first still runs is refused (409
``idempotency_request_in_progress``).

* A running request holds a lease (``locked_until``).  If the gateway dies mid-request the
  lease runs out and a retry takes the key over; that is safe because the services dedupe on
  the request key the gateway passes them, so the retry resumes instead of repeating.
* An answer that does not settle the request (a 5xx, or 202 "still pending") is not stored:
  the retry asks the service again and learns how it ended.
* Keys are scoped to the signed-in user; anonymous routes to the client's address and the
  request's body, so strangers cannot collide.
* Stored answers hold no secrets: a route stores what it needs and presents the answer from
  it each time (registration stores the user, and a fresh token is issued on every answer).

The store is synchronous SQLAlchemy; ``run`` calls it from the event loop in worker threads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, String, Table, Text, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette.concurrency import run_in_threadpool

from gateway.errors import IdempotencyInProgress, IdempotencyKeyReused, status_of
from services.common.db import UtcDateTime, make_engine
from services.common.errors import BusinessError, InvalidRequest

IN_PROGRESS = "in_progress"
DONE = "done"
MAX_KEY_LENGTH = 200


class Base(DeclarativeBase):
    pass


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime())
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


KEYS: Table = IdempotencyKey.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Stored:
    status: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def anonymous_scope(client: str, body: Any) -> str:
    """The scope of a key sent without signing in: this client and this request."""
    digest = hashlib.sha256(json.dumps([client, body], sort_keys=True, default=str).encode())
    return "anon:" + digest.hexdigest()[:48]


def settles(status: int) -> bool:
    """Whether an answer is the request's last word (else the retry must ask again)."""
    return status < 500 and status != 202


class IdempotencyStore:
    """Keys in the gateway's own database.  Each step is one or two single statements on an
    autocommit connection (no BEGIN/COMMIT round trips): the common path costs an insert and
    an update per request."""

    def __init__(self, database_url: str, ttl_seconds: int, lease_seconds: float) -> None:
        self.engine = make_engine(database_url)
        try:
            Base.metadata.create_all(self.engine)
        except (IntegrityError, ProgrammingError):  # another gateway created it at that moment
            pass
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.ttl = timedelta(seconds=ttl_seconds)
        self.lease = timedelta(seconds=lease_seconds)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        self._insert = dialect.insert(KEYS).on_conflict_do_nothing()

    def begin(self, scope: str, key: str, print_: str) -> Stored | None:
        """Claim the key for this request (None), or answer what the first request got."""
        now = datetime.now(UTC)
        with self.autocommit.connect() as connection:
            claimed = connection.execute(self._insert.values(
                scope=scope, key=key, fingerprint=print_, state=IN_PROGRESS,
                locked_until=now + self.lease, created_at=now,
            )).rowcount
            if claimed:
                return None
            record = self._read(connection, scope, key)
            if record is None or record.created_at < now - self.ttl:
                if record is not None:  # expired: forget it (unless a retry just renewed it)
                    connection.execute(delete(KEYS).where(
                        KEYS.c.scope == scope, KEYS.c.key == key,
                        KEYS.c.created_at == record.created_at))
                return self.begin(scope, key, print_)
            if record.fingerprint != print_:
                raise IdempotencyKeyReused()
            if record.state == DONE:
                assert record.response_status is not None and record.response_body is not None
                return Stored(record.response_status, json.loads(record.response_body))
            if record.locked_until > now:
                raise IdempotencyInProgress()
            # The first request's gateway died holding the lease: take it over, unless another
            # retry just did.
            taken = connection.execute(
                update(KEYS)
                .where(KEYS.c.scope == scope, KEYS.c.key == key, KEYS.c.state == IN_PROGRESS,
                       KEYS.c.locked_until == record.locked_until)
                .values(locked_until=now + self.lease)
            ).rowcount
            if not taken:
                raise IdempotencyInProgress()
            return None

    @staticmethod
    def _read(connection: Connection, scope: str, key: str) -> Any:
        return connection.execute(select(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key)).first()

    def finish(self, scope: str, key: str, status: int, body: Any) -> None:
        with self.autocommit.connect() as connection:
            connection.execute(
                update(KEYS)
                .where(KEYS.c.scope == scope, KEYS.c.key == key)
                .values(state=DONE, response_status=status,
                        response_body=json.dumps(body, default=str))
            )

    def forget(self, scope: str, key: str) -> None:
        with self.autocommit.connect() as connection:
            connection.execute(delete(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key))

    def get(self, scope: str, key: str) -> Any:
        with self.autocommit.connect() as connection:
            return self._read(connection, scope, key)

    def close(self) -> None:
        self.engine.dispose()


async def run(
    store: IdempotencyStore, scope: str, key: str | None, print_: str,
    handler: Callable[[], Awaitable[tuple[int, Any]]],
) -> tuple[int, Any, bool]:
    """Run ``handler`` once per (scope, key); returns (status, body, replayed)."""
    if key is None:
        status, body = await handler()
        return status, body, False
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} printable characters",
            {"header": "Idempotency-Key"},
        )
    stored = await run_in_threadpool(store.begin, scope, key, print_)
    if stored is not None:
        return stored.status, stored.body, True
    try:
        status, body = await handler()
    except BusinessError as error:
        status = status_of(error)
        if settles(status):
            await run_in_threadpool(store.finish, scope, key, status, {"error": {
                "code": error.code, "message": error.message, "details": error.details}})
        else:
            await run_in_threadpool(store.forget, scope, key)
        raise
    except BaseException:
        await run_in_threadpool(store.forget, scope, key)
        raise
    if settles(status):
        await run_in_threadpool(store.finish, scope, key, status, body)
    else:
        await run_in_threadpool(store.forget, scope, key)
    return status, body, False
