"""Reliable messaging: the transactional outbox, idempotent consumers, dead-lettering event
handlers, RPC with timeouts, and the ``rpc`` entrypoint every service uses.

Guarantees:

* An event is written to the ``outbox`` table in the same transaction as the change it
  describes, and relayed to RabbitMQ only after that commit.  A relay greenthread wakes on
  every commit that added an event and sweeps every second, so an event left unpublished by
  a crash (between commit and publish) goes out when any replica of the service runs again.
  Publishing is at-least-once.
* Consumers record each ``event_id`` they have applied (``processed_events``) in the same
  transaction as the effect, so a redelivered event has no second effect.
* Event handlers never drop a message: a transient failure (database or broker away, a
  timeout) is requeued after a pause; any other failure is dead-lettered to
  ``<queue>.dead`` on the ``billing-console.dead-letter`` exchange for an operator to inspect.
* Every RPC call a service makes has a timeout (``RPC_TIMEOUT``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import eventlet
from eventlet.queue import Empty, LightQueue
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.rpc import rpc as nameko_rpc
from nameko.standalone.events import get_event_exchange
from sqlalchemy import Integer, String, Text, event, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from services.common.config import load_settings
from services.common.contracts import Event, utcnow
from services.common.db import UtcDateTime, is_sqlite, make_engine
from services.common.errors import BusinessError, ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "billing-console.dead-letter"
RELAY_SWEEP_SECONDS = 1.0
REQUEUE_PAUSE_SECONDS = 1.0


def rpc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An RPC entrypoint whose business failures travel to the caller as themselves and are
    not logged as service errors."""
    return nameko_rpc(expected_exceptions=(BusinessError,))(fn)


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


class ProcessedEventMixin:
    """The events a consumer has applied, so that a redelivery is recognised."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def first_delivery(session: Session, model: type, consumer: str, event_id: str) -> bool:
    """True the first time ``consumer`` sees ``event_id``; records it in the session's
    transaction.  A concurrent duplicate fails on the primary key at commit and is retried,
    and then found here."""
    if session.get(model, (consumer, event_id)) is not None:
        return False
    session.add(model(consumer=consumer, event_id=event_id, processed_at=utcnow()))
    return True


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
    def __init__(self, owner: str, model: type) -> None:
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
                    select(self.model)
                    .where(self.model.published_at.is_(None))
                    .order_by(self.model.id)
                    .limit(100)
                )
                if not is_sqlite(self.engine):
                    query = query.with_for_update(skip_locked=True)
                rows = session.scalars(query).all()
                if not rows:
                    session.commit()
                    return published
                for row in rows:
                    self.publisher.publish(
                        json.loads(row.payload), exchange=self.exchange, routing_key=row.event_type
                    )
                    row.published_at = utcnow()
                    published += 1
                session.commit()


# -- consuming events ---------------------------------------------------------------------------


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    ServiceTimeout,
    ServiceUnavailable,
    RpcTimeout,
    UnknownService,
    ConnectionError,
    OSError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT_ERRORS)


class ReliableEventHandler(EventHandler):
    """A shared-queue event handler that requeues transient failures and dead-letters the
    rest, so that no message that moves money or issues a document is ever dropped."""

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
        name = self.queue.name
        self.queue.queue_arguments = {
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        }
        exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
        parking = Queue(f"{name}.dead", exchange=exchange, routing_key=name, durable=True)
        with Connection(self.container.config["AMQP_URI"]) as connection:
            parking.bind(connection.default_channel).declare()

    def handle_message_processed(
        self, message: Any, result: Any = None, exc_info: Any = None
    ) -> None:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        if is_transient(exc_info[1]):
            log.warning("requeueing %s after a transient failure: %r", self.queue.name, exc_info[1])
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)
            self.queue_consumer.requeue_message(message)
            return
        log.error("dead-lettering a message from %s: %r", self.queue.name, exc_info[1])
        if message.channel.connection:
            try:
                message.reject(requeue=False)
            except ConnectionError:  # the broker reclaims it when the channel goes
                pass


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
    """nameko's RpcProxy with a timeout on every call."""

    def setup(self) -> None:
        super().setup()
        self.timeout = load_settings().rpc_timeout

    def get_dependency(self, worker_ctx: Any) -> TimedServiceProxy:
        return TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, self.timeout)
