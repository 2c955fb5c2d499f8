"""Reliable messaging: the transactional outbox, idempotent consumers, dead-lettering event
handlers, RPC with timeouts, and the ``rpc`` entrypoint every service uses.

Guarantees:

* An event is written to the ``outbox`` table in the same transaction as the change it
  describes, and relayed to RabbitMQ only after that commit.  A relay greenthread wakes on
  every commit that added an event and sweeps every second, so an event left unpublished by
  a crash (between commit and publish) goes out when any replica of the service runs again.
  Publishing is at-least-once.
* Consumers record each ``event_id`` they have applied (``processed_events``, insert-or-ignore)
  in the same transaction as the effect, so a redelivered event has no second effect; a
  concurrent duplicate waits for the first and is then acknowledged, and a unique violation on
  the handler's own rows means "already done" and is acknowledged too.
* Event handlers never drop a message: a transient failure (database or broker away, a
  timeout: a narrow list) is retried through ``<queue>.retry`` after a growing pause, at most
  ``EVENT_RETRY_LIMIT`` times; any other failure, or one retried too often, is dead-lettered
  to ``<queue>.dead`` on the ``billing-console.dead-letter`` exchange with the reason in its
  headers (``x-error``, ``x-retries``) for an operator to inspect.
* Every RPC call a service makes has a timeout (``INNER_RPC_TIMEOUT``) shorter than the
  gateway's, so a service can answer "pending" before its caller gives up.
* RPC replies go out without publisher confirms and non-persistent: reply queues are exclusive
  and non-durable, so confirms buy nothing there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
from eventlet.queue import Empty, LightQueue
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.amqp.publish import Publisher, get_producer
from nameko.constants import NON_PERSISTENT
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import Responder, Rpc, RpcConsumer, RpcProxy, get_rpc_exchange
from nameko.standalone.events import get_event_exchange
from nameko.timer import Timer
from sqlalchemy import Integer, String, Text, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from services.common.config import load_settings
from services.common.contracts import Event, utcnow
from services.common.db import UtcDateTime, is_sqlite, make_engine
from services.common.errors import BusinessError, ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "billing-console.dead-letter"
RELAY_SWEEP_SECONDS = 1.0
RELAY_BATCH = 100
RETRY_BACKOFF_CAP_SECONDS = 300.0


# -- serving RPC ----------------------------------------------------------------------------------


class ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = NON_PERSISTENT


class FastResponder(Responder):
    publisher_cls = ReplyPublisher


class FastReplyRpcConsumer(RpcConsumer):
    """nameko's RPC consumer, answering without confirms on a non-persistent reply."""

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        config = self.container.config
        responder = FastResponder(
            config["AMQP_URI"], get_rpc_exchange(config), config.get("serializer", "json"), message
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class ServiceRpcEntrypoint(Rpc):
    rpc_consumer = FastReplyRpcConsumer()


def rpc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An RPC entrypoint whose business failures travel to the caller as themselves and are
    not logged as service errors (one warning line, no traceback)."""
    return ServiceRpcEntrypoint.decorator(expected_exceptions=(BusinessError,))(fn)


# -- tables every service has -------------------------------------------------------------------


class OutboxMixin:
    """Events waiting to be (or already) published.  ``id`` orders them."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    if TYPE_CHECKING:  # the mapped subclasses get DeclarativeBase's keyword constructor
        def __init__(self, **kw: Any) -> None: ...


class ProcessedEventMixin:
    """The events a consumer has applied, so that a redelivery is recognised."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def insert_ignore(session: Session, model: type, **values: Any) -> bool:
    """Insert a row unless its key exists; True if this call inserted it.  On PostgreSQL a
    concurrent insert of the same key waits for the other transaction and then reports the
    row as existing, so exactly one caller gets True."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    result = session.execute(dialect.insert(model).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


def first_delivery(session: Session, model: type, consumer: str, event_id: str) -> bool:
    """True the first time ``consumer`` sees ``event_id``; records it in the session's
    transaction (so a rolled-back effect is not marked as applied)."""
    return insert_ignore(session, model, consumer=consumer, event_id=event_id, processed_at=utcnow())


def is_unique_violation(exc: BaseException) -> bool:
    if not isinstance(exc, IntegrityError):
        return False
    code = getattr(exc.orig, "pgcode", None)
    return code == "23505" or (code is None and "UNIQUE constraint failed" in str(exc.orig))


# -- the outbox ---------------------------------------------------------------------------------


class OutboxWriter:
    def __init__(self, provider: Outbox) -> None:
        self._provider = provider

    def add(self, session: Session, evt: Event) -> None:
        """Stage ``evt`` in the caller's transaction; it is published after commit."""
        session.add(
            self._provider.model(
                event_id=evt.event_id,
                source=evt.source,
                event_type=evt.type,
                payload=json.dumps(evt.wire()),
                created_at=utcnow(),
            )
        )
        event.listen(session, "after_commit", self._provider.wake, once=True)


class Outbox(DependencyProvider):
    def __init__(self, owner: str, model: type[OutboxMixin]) -> None:
        self.owner = owner
        self.model = model
        self._wakeups: LightQueue = LightQueue()
        self._relay: Any = None
        self._running = False

    def setup(self) -> None:
        settings = load_settings()
        self.engine = make_engine(settings.database_url(self.owner))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        config = settings.nameko_config()
        # Declared with every publish: an event nobody subscribes to yet must not fail.
        self.exchange = get_event_exchange(self.owner, config)
        self.publisher = Publisher(settings.amqp_uri, serializer="json", declare=[self.exchange])

    def start(self) -> None:
        self._running = True
        self._relay = self.container.spawn_managed_thread(self._relay_forever)

    def stop(self) -> None:
        self._running = False
        self.wake()
        if self._relay is not None:
            self._relay.wait()
        self.engine.dispose()

    def kill(self) -> None:
        self._running = False
        if self._relay is not None:
            self._relay.kill()

    def get_dependency(self, worker_ctx: Any) -> OutboxWriter:
        return OutboxWriter(self)

    def wake(self, *_: Any) -> None:
        self._wakeups.put(None)

    def _relay_forever(self) -> None:
        while self._running:
            try:
                self._wakeups.get(timeout=RELAY_SWEEP_SECONDS)
            except Empty:
                pass
            while not self._wakeups.empty():
                self._wakeups.get_nowait()
            try:
                self.relay_pending()
            except Exception:  # broker or database away: try again on the next sweep
                log.exception("outbox relay of %s failed; retrying", self.owner)
                eventlet.sleep(RELAY_SWEEP_SECONDS)

    def relay_pending(self) -> int:
        """Publish every unpublished event, oldest first; returns how many went out.
        Replicas skip each other's locked rows instead of publishing them twice."""
        published = 0
        with self.sessions() as session:
            while True:
                query = (
                    select(self.model.id, self.model.event_type, self.model.payload)
                    .where(self.model.published_at.is_(None))
                    .order_by(self.model.id)
                    .limit(RELAY_BATCH)
                )
                if not is_sqlite(self.engine):
                    query = query.with_for_update(skip_locked=True)
                rows = session.execute(query).all()
                for row in rows:
                    self.publisher.publish(
                        json.loads(row.payload), exchange=self.exchange, routing_key=row.event_type
                    )
                if rows:
                    session.execute(update(self.model)
                                    .where(self.model.id.in_([row.id for row in rows]))
                                    .values(published_at=utcnow()))
                session.commit()
                published += len(rows)
                if len(rows) < RELAY_BATCH:  # drained: no second query to learn it
                    return published


# -- consuming events ---------------------------------------------------------------------------


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,  # the database went away, a deadlock, a lock timeout
    ServiceTimeout,
    ServiceUnavailable,
    RpcTimeout,
    UnknownService,
    KombuOperationalError,
    AmqpConnectionError,
    ConnectionError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT_ERRORS)


def retry_delay(retries: int, base: float) -> float:
    """Seconds before retry number ``retries + 1``: doubling from ``base``, capped."""
    return float(min(base * 2**retries, RETRY_BACKOFF_CAP_SECONDS))


class ReliableEventHandler(EventHandler):
    """A shared-queue event handler that never drops a message: transient failures are retried
    with backoff a bounded number of times, and everything else is dead-lettered with its
    reason.  A duplicate (the handler's own unique key already taken) is acknowledged."""

    def __init__(self, source_service: str, event_type: str, **kwargs: Any) -> None:
        super().__init__(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=True,
            **kwargs,
        )

    def setup(self) -> None:
        super().setup()
        settings = load_settings()
        self.retry_limit = settings.event_retry_limit
        self.retry_backoff = settings.event_retry_backoff
        name = self.queue.name
        self.queue.queue_arguments = {
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        }
        exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
        self.parking = Queue(f"{name}.dead", exchange=exchange, routing_key=name, durable=True)
        # Messages wait out their backoff here (per-message TTL), then the broker moves them
        # back to the handler's queue through the default exchange.
        self.retry_queue = Queue(
            f"{name}.retry", durable=True, routing_key=f"{name}.retry",
            queue_arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": name},
        )
        with Connection(self.container.config["AMQP_URI"]) as connection:
            self.parking.bind(connection.default_channel).declare()
            self.retry_queue.bind(connection.default_channel).declare()

    def handle_message_processed(
        self, message: Any, result: Any = None, exc_info: Any = None
    ) -> None:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        error = exc_info[1]
        name = self.queue.name
        if is_unique_violation(error):
            log.info("%s: already applied (a duplicate); acknowledged", name)
            self.queue_consumer.ack_message(message)
            return
        retries = int((message.headers or {}).get("x-retries", 0))
        if is_transient(error) and retries < self.retry_limit:
            delay = retry_delay(retries, self.retry_backoff)
            log.warning("%s: transient failure, retry %d of %d in %g s: %r",
                        name, retries + 1, self.retry_limit, delay, error)
            self._move(message, "", self.retry_queue.name,
                       {"x-retries": retries + 1}, expiration=delay)
            return
        reason = "retried too often" if is_transient(error) else "failed"
        log.error("%s: dead-lettering a message that %s: %r", name, reason, error)
        self._move(message, DEAD_LETTER_EXCHANGE, name,
                   {"x-retries": retries, "x-error": f"{reason}: {error!r}"[:1000],
                    "x-failed-at": utcnow().isoformat()})

    def _move(self, message: Any, exchange: str, routing_key: str, headers: dict[str, Any],
              expiration: float | None = None) -> None:
        """Publish a copy (confirmed) where it belongs, then acknowledge the original; if the
        broker cannot take the copy, the original goes back to the queue instead."""
        try:
            with get_producer(self.container.config["AMQP_URI"], True) as producer:
                producer.publish(
                    message.body, exchange=exchange, routing_key=routing_key,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    headers={**(message.headers or {}), **headers},
                    delivery_mode=2, expiration=expiration, retry=True,
                )
        except Exception as exc:  # the broker is away: nothing is lost, it comes back later
            log.warning("%s: could not move a message (%r); requeued", self.queue.name, exc)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


class ConfiguredTimer(Timer):
    """A timer whose interval is a setting, read when the service starts."""

    def __init__(self, setting: str, **kwargs: Any) -> None:
        super().__init__(interval=0, **kwargs)
        self.setting = setting

    def setup(self) -> None:
        self.interval = float(getattr(load_settings(), self.setting))
        super().setup()


def every(setting: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@every("reconcile_interval")``: run a method periodically, as often as configured."""
    return ConfiguredTimer.decorator(setting)


def handles(evt: type[Event]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@handles(OrderImplemented)``: subscribe a method to an event contract."""
    return ReliableEventHandler.decorator(evt.source, evt.type)


# -- calling other services -----------------------------------------------------------------------


class TimedServiceProxy:
    def __init__(self, proxy: Any, service: str, timeout: float) -> None:
        self._proxy = proxy
        self._service = service
        self._timeout = timeout

    def __getattr__(self, method: str) -> Callable[..., Any]:
        remote = getattr(self._proxy, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                with eventlet.Timeout(self._timeout):
                    return remote(*args, **kwargs)
            except eventlet.Timeout:
                raise ServiceTimeout(
                    f"{self._service}.{method} did not answer within {self._timeout:g} s"
                ) from None
            except UnknownService:
                raise ServiceUnavailable(f"the {self._service} service is not running") from None

        return call


class ServiceRpc(RpcProxy):
    """nameko's RpcProxy with a timeout on every call, shorter than the gateway's."""

    def setup(self) -> None:
        super().setup()
        self.timeout = load_settings().service_rpc_timeout

    def get_dependency(self, worker_ctx: Any) -> TimedServiceProxy:
        return TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, self.timeout)
