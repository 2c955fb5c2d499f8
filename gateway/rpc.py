"""The gateway's one asyncio client for the services, speaking nameko 2.14.1's RPC protocol.

Guarantees: one robust connection, one channel and one exclusive reply queue per process,
however many calls run at once; every call ends within its timeout (``ServiceTimeout``); a
failure a service raises as a registered class (``services.common.errors``) arrives as that
class, any other remote failure as ``UpstreamError``; an unknown service, an unreachable broker
or a connection lost under a call answers ``ServiceUnavailable`` at once; after a lost
connection the client reconnects and re-declares its reply queue by itself.  No threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import PublishError
from kombu.utils import json as kombu_json
from nameko.constants import CALL_ID_STACK_CONTEXT_KEY, HEADER_PREFIX, PERSISTENT
from nameko.exceptions import RemoteError, deserialize

from gateway.errors import UpstreamError
from services.common.errors import ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

# nameko 2.14.1 (nameko/rpc.py): ``get_rpc_exchange`` without an ``rpc_exchange`` setting.
RPC_EXCHANGE = "nameko-rpc"
# kombu's "json" serializer, which the services' ``serializer`` setting names; the responder
# answers in the content type of the request.
CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
# The responder's payload is ``{'result': result, 'error': error}`` dumped by kombu's json (the
# standard library's separators), so a successful reply is these bytes around the result.
REPLY_PREFIX = b'{"result": '
REPLY_OK_SUFFIX = b', "error": null}'

# aio-pika waits 5 s by default; the gateway answers 503 until the connection is back.
RECONNECT_INTERVAL_SECONDS = 1
# As the services' own connections (``Settings.nameko_config``); aiormq's default is 60 s.
HEARTBEAT_SECONDS = 30


class _ConnectionLost(Exception):
    """Set on the calls waiting for a reply when the channel or connection goes."""


def broker_url(amqp_uri: str) -> str:
    """The kombu-style ``AMQP_URI`` (``pyamqp://``) as aio-pika reads it (``amqp://``)."""
    scheme, _, rest = amqp_uri.partition("://")
    secure = scheme.endswith("amqps")
    url = f"{'amqps' if secure else 'amqp'}://{rest}"
    separator = "&" if "?" in url else "?"
    extra = []
    if "heartbeat=" not in url:
        extra.append(f"heartbeat={HEARTBEAT_SECONDS}")
    if "reconnect_interval=" not in url:
        extra.append(f"reconnect_interval={RECONNECT_INTERVAL_SECONDS}")
    return url + (separator + "&".join(extra) if extra else "")


class Services:
    def __init__(self, amqp_uri: str, timeout: float) -> None:
        self.timeout = timeout
        self._url = broker_url(amqp_uri)
        # nameko's Responder publishes the reply to the RPC exchange with ``reply_to`` as the
        # routing key, so the reply queue is bound there under this key (not addressed by name).
        self._reply_to = str(uuid.uuid4())
        self._reply_queue = f"rpc.reply-gateway-{self._reply_to}"
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._ready = False

    async def start(self) -> None:
        if self._connection is not None:
            return
        connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": f"gateway rpc (pid {os.getpid()})"},
        )
        try:
            # Confirms make a ``mandatory`` message that no queue takes come back as a
            # PublishError before the ack, so an unknown service is known at once.
            channel: AbstractRobustChannel = await connection.channel(
                publisher_confirms=True, on_return_raises=True,
            )
            # Declared here too (as nameko's reply listener does): publishing to a missing
            # exchange would close the channel, and the reply queue is bound to it.
            exchange = await channel.declare_exchange(
                RPC_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True,
            )
            queue = await channel.declare_queue(self._reply_queue, exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key=self._reply_to)
            # Replies need no ack: a reply is only useful to this connection's callers, and
            # those fail at once when the connection goes.
            await queue.consume(self._on_reply, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        # The robust channel re-declares the exchange, queue, binding and consumer on its own
        # after a reconnection; these only track whether it is usable meanwhile.
        connection.close_callbacks.add(self._on_lost)
        channel.close_callbacks.add(self._on_lost)
        channel.reopen_callbacks.add(self._on_restored)
        self._connection, self._exchange, self._ready = connection, exchange, True

    async def close(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        self._ready = False
        self._fail_pending()
        if connection is not None:
            await connection.close()

    async def broker_ok(self) -> bool:
        return self._ready

    async def call(self, service: str, method: str, *args: Any, timeout: float | None = None,
                   context: Mapping[str, Any] | None = None) -> Any:
        """The service's result, decoded as nameko's own proxy decodes it."""
        body = await self._roundtrip(service, method, args, timeout, context)
        reply = self._decode(service, method, body, kombu_json.loads)
        if reply.get("error"):
            raise self._remote_error(service, method, reply["error"]) from None
        return reply.get("result")

    async def call_json(self, service: str, method: str, *args: Any, timeout: float | None = None,
                        context: Mapping[str, Any] | None = None) -> bytes:
        """The service's result as the JSON it sent, for answering an HTTP request with it."""
        body = await self._roundtrip(service, method, args, timeout, context)
        # Cutting the result out of the reply saves decoding and encoding it again.
        if body.startswith(REPLY_PREFIX) and body.endswith(REPLY_OK_SUFFIX):
            return body[len(REPLY_PREFIX):-len(REPLY_OK_SUFFIX)]
        reply = self._decode(service, method, body, json.loads)
        if reply.get("error"):
            raise self._remote_error(service, method, reply["error"]) from None
        return json.dumps(reply.get("result")).encode()

    async def _roundtrip(self, service: str, method: str, args: tuple[Any, ...],
                         timeout: float | None, context: Mapping[str, Any] | None) -> bytes:
        seconds = self.timeout if timeout is None else timeout
        exchange = self._exchange
        if exchange is None or not self._ready:
            raise _broker_unreachable(service)
        correlation_id = str(uuid.uuid4())
        message = aio_pika.Message(
            kombu_json.dumps({"args": args, "kwargs": {}}).encode(),
            content_type=CONTENT_TYPE,
            content_encoding=CONTENT_ENCODING,
            # nameko's Publisher sends requests persistent and without expiration: a command
            # whose caller gave up is still carried out once (the services dedupe it).
            delivery_mode=PERSISTENT,
            priority=0,
            correlation_id=correlation_id,
            reply_to=self._reply_to,
            # aiormq matches a returned message to its publish by message id.
            message_id=correlation_id,
            headers=_headers(context, correlation_id),
        )
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = reply
        published = False
        try:
            async with asyncio.timeout(seconds):
                await self._publish(exchange, message, service, method)
                published = True
                return await reply
        except TimeoutError:
            # No confirm in time, or the connection went meanwhile: the broker, not the service.
            if not published or not self._ready:
                raise _broker_unreachable(service) from None
            raise ServiceTimeout(
                f"the {service} service did not answer within {seconds:g} s", {"service": service},
            ) from None
        except _ConnectionLost:
            raise _broker_unreachable(service) from None
        finally:
            # A reply that arrives after this is dropped by ``_on_reply``.
            self._pending.pop(correlation_id, None)
            if reply.done() and not reply.cancelled():
                # Failed by a lost connection while this call was still publishing: read the
                # exception so that asyncio does not report it as never retrieved.
                reply.exception()

    async def _publish(self, exchange: AbstractExchange, message: aio_pika.Message,
                       service: str, method: str) -> None:
        try:
            await exchange.publish(message, routing_key=f"{service}.{method}", mandatory=True)
        except PublishError:
            raise ServiceUnavailable(
                f"the {service} service is not running", {"service": service},
            ) from None
        except asyncio.CancelledError:
            # aiormq cancels pending confirmations when the channel closes: that is a lost
            # broker, not this task being cancelled (nor the call's timeout).
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            log.warning("message broker unreachable: the channel closed under a publish")
            raise _broker_unreachable(service) from None
        except Exception as error:  # the message is encoded: anything here is the broker
            log.warning("message broker unreachable: %r", error)
            raise _broker_unreachable(service) from None

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        reply = self._pending.pop(message.correlation_id or "", None)
        if reply is None or reply.done():
            log.debug("dropped a reply nobody waits for: %s", message.correlation_id)
            return
        reply.set_result(message.body)

    def _on_lost(self, _: Any, error: BaseException | None = None) -> None:
        if self._ready and self._connection is not None:
            log.warning("lost the message broker (%r); reconnecting", error)
        self._ready = False
        self._fail_pending()

    def _on_restored(self, _: Any) -> None:
        if self._connection is not None and not self._ready:
            log.info("message broker connection restored")
            self._ready = True

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for reply in pending.values():
            if not reply.done():
                reply.set_exception(_ConnectionLost())

    @staticmethod
    def _decode(service: str, method: str, body: bytes,
                loads: Callable[[bytes], Any]) -> dict[str, Any]:
        try:
            reply = loads(body)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            log.error("%s.%s answered something that is not a nameko reply: %.200r",
                      service, method, body)
            raise UpstreamError(details={"service": service})
        return reply

    @staticmethod
    def _remote_error(service: str, method: str, error: Any) -> Exception:
        try:
            exception: Exception | None = deserialize(error)
        except Exception:  # a registered class whose arguments no longer fit, or no error dict
            exception = None
        if exception is None or isinstance(exception, RemoteError):
            kind = error.get("exc_type") if isinstance(error, dict) else None
            value = error.get("value") if isinstance(error, dict) else error
            log.error("%s.%s failed: %s: %s", service, method, kind, value)
            return UpstreamError(details={"service": service})
        return exception


def _headers(context: Mapping[str, Any] | None, correlation_id: str) -> dict[str, Any]:
    """nameko's context data headers: ``nameko.<key>``, ``None`` values dropped, and the
    caller's call id stack (a list: the worker extends its own stack with it)."""
    headers: dict[str, Any] = {}
    stack: Any = None
    for key, value in (context or {}).items():
        if key == CALL_ID_STACK_CONTEXT_KEY:
            stack = value
        elif value is not None:
            headers[f"{HEADER_PREFIX}.{key}"] = value
    if isinstance(stack, str):
        stack = [stack]
    headers[f"{HEADER_PREFIX}.{CALL_ID_STACK_CONTEXT_KEY}"] = stack or [f"gateway.call.{correlation_id}"]
    return headers


def _broker_unreachable(service: str) -> ServiceUnavailable:
    return ServiceUnavailable("the message broker is not reachable", {"service": service})
