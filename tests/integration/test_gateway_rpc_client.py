"""The gateway's asyncio RPC client (``gateway/rpc.py``) against real nameko 2.14.1 workers on the
real broker.

How it runs: a small nameko service (``rpc_client_probe``) runs in a container in this pytest
process, on the eventlet hub, against the test's own vhost.  The client side runs in a
*subprocess*: this file run as a script, ``python test_gateway_rpc_client.py SCENARIO AMQP_URI
VHOST LOOP``, which prints the facts it saw as one JSON line for the test to check.  Not a real
thread: this process is monkey-patched by eventlet, so asyncio here, even in an OS thread from
``eventlet.patcher.original('threading')``, would get eventlet's green ``socket``, ``select`` and
``selectors``.  A clean interpreter is also what the gateway is: no eventlet, uvicorn on uvloop;
the scenarios run on uvloop and the basic one on the standard loop as well.  eventlet's
``subprocess.run`` waits without blocking the hub, so the service keeps answering meanwhile.
The scenarios read the broker's view through the management API themselves (httpx).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "rpc_client_probe"
RESULT_LINE = "RPC-CLIENT-FACTS "
RABBIT_API = os.environ.get("TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")


# -- the pytest side ------------------------------------------------------------------------------


@pytest.fixture
def probe_service(run_services: Callable[..., Any]) -> Iterator[Any]:
    """The nameko service the client talks to (nameko imported here only: the client's
    subprocess stays free of eventlet)."""
    import eventlet
    from nameko.extensions import DependencyProvider
    from nameko.rpc import rpc

    from services.common.errors import InsufficientFunds

    class WorkerContext(DependencyProvider):
        def get_dependency(self, worker_ctx: Any) -> Any:
            return worker_ctx

    class ProbeService:
        name = SERVICE
        worker_ctx = WorkerContext()

        @rpc
        def echo(self, value: Any) -> Any:
            return value

        @rpc
        def sleep(self, seconds: float, tag: str) -> str:
            eventlet.sleep(seconds)
            return tag

        @rpc
        def fail_business(self) -> None:
            raise InsufficientFunds("the balance does not cover 7.50 EUR",
                                    {"short": "2.50", "currency": "EUR"})

        @rpc
        def fail_bug(self) -> None:
            raise ValueError("an unexpected bug")

        @rpc
        def context(self) -> dict[str, Any]:
            return {"data": dict(self.worker_ctx.data), "call_id_stack": self.worker_ctx.call_id_stack}

    [container] = run_services(ProbeService)
    yield container


def run_client(scenario: str, amqp_uri: str, loop: str = "uvloop", timeout: float = 120) -> dict[str, Any]:
    vhost = unquote(urlparse(amqp_uri).path.lstrip("/"))
    done = subprocess.run(
        [sys.executable, __file__, scenario, amqp_uri, vhost, loop],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_LINE)]
    assert done.returncode == 0 and lines, (
        f"scenario {scenario} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    return json.loads(lines[-1][len(RESULT_LINE):])


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_call_returns_the_services_result(probe_service: None, amqp_uri: str, loop: str) -> None:
    facts = run_client("results", amqp_uri, loop)
    assert facts["echo"] == {"text": "grüße", "error": None, "items": [1, 2.5, None, True]}
    # call_json passes the service's JSON through: same value, and a nested "error" key or
    # non-ASCII text does not confuse the cut.
    assert facts["echo_json"] == facts["echo"]
    assert facts["echo_json_is_bytes"]
    assert facts["scalar_json"] == "null"
    # kombu's json, as nameko's own proxy: a Decimal crosses as a Decimal both ways.
    assert facts["decimal"] == "Decimal('1.10')"
    assert facts["eventlet_loaded"] is False
    assert facts["threads"] == 1, "the client starts no threads"
    assert facts["log"] == []


def test_200_concurrent_calls_over_one_connection_each_get_their_own_answer(
    probe_service: None, amqp_uri: str,
) -> None:
    facts = run_client("concurrent", amqp_uri)
    assert facts["wrong_answers"] == [] and facts["answers"] == 200
    assert facts["pending_after"] == 0


def test_a_business_error_arrives_as_its_own_class_with_message_and_details(
    probe_service: None, amqp_uri: str,
) -> None:
    facts = run_client("business_error", amqp_uri)
    for via in ("call", "call_json"):
        facts[via].pop("seconds")
        assert facts[via] == {
            "class": "services.common.errors.InsufficientFunds",
            "code": "insufficient_funds",
            "message": "the balance does not cover 7.50 EUR",
            "details": {"short": "2.50", "currency": "EUR"},
        }
    assert facts["log"] == [], "a business error is no failure of the gateway's"


def test_an_unexpected_remote_error_is_an_upstream_error_logged_once(
    probe_service: None, amqp_uri: str,
) -> None:
    facts = run_client("unexpected_error", amqp_uri)
    for via in ("call", "call_json"):
        assert facts[via] == {"class": "gateway.errors.UpstreamError", "code": "service_error",
                              "details": {"service": SERVICE}}
    assert len(facts["log"]) == 2, facts["log"]  # one line per failed call
    assert all(line.startswith("ERROR ") and "ValueError" in line and "an unexpected bug" in line
               for line in facts["log"])
    # the remote traceback is not the gateway's to print
    assert not any("Traceback" in line for line in facts["log"])


def test_a_call_to_a_service_that_does_not_exist_answers_service_unavailable_at_once(
    probe_service: None, amqp_uri: str,
) -> None:
    facts = run_client("unknown_service", amqp_uri)
    for via in ("call", "call_json"):
        assert facts[via]["class"] == "services.common.errors.ServiceUnavailable"
        assert facts[via]["message"] == "the no_such_service service is not running"
        assert facts[via]["details"] == {"service": "no_such_service"}
        assert facts[via]["seconds"] < 0.5, "answered by the broker's return, not by the 10 s timeout"
    assert facts["then"] == "still fine", "the returned message leaves the channel usable"


def test_a_call_that_outlives_its_timeout_is_service_timeout_and_its_late_reply_disturbs_nothing(
    probe_service: None, amqp_uri: str,
) -> None:
    facts = run_client("timeout", amqp_uri)
    assert facts["late"]["class"] == "services.common.errors.ServiceTimeout"
    assert facts["late"]["message"] == f"the {SERVICE} service did not answer within 0.5 s"
    assert facts["late"]["details"] == {"service": SERVICE}
    assert 0.45 <= facts["late"]["seconds"] < 1.0
    # The timed-out call's reply ("A") arrives while the next call waits: it gets its own.
    assert facts["next"] == "B"
    assert facts["after"] == "C"
    assert facts["pending_after"] == 0
    assert facts["log"] == [], "a late reply is dropped silently"


def test_a_request_whose_caller_timed_out_still_waits_for_its_service_persistent_and_unexpired(
    probe_service: Any, amqp_uri: str,
) -> None:
    probe_service.stop()  # its durable queue stays bound: requests queue up, as for a restart
    facts = run_client("queued_request", amqp_uri)
    assert facts["call"]["class"] == "services.common.errors.ServiceTimeout"
    message = facts["message"]
    assert message["routing_key"] == f"{SERVICE}.echo"
    assert message["exchange"] == "nameko-rpc"
    assert json.loads(message["payload"]) == {"args": ["a command"], "kwargs": {}}
    properties = message["properties"]
    assert properties["delivery_mode"] == 2, "persistent, as nameko's own proxy publishes requests"
    assert "expiration" not in properties, "a request outlives its caller's timeout"
    assert properties["content_type"] == "application/json"
    assert properties["content_encoding"] == "utf-8"
    assert properties["correlation_id"] and properties["reply_to"]
    assert properties["headers"]["nameko.call_id_stack"][0].startswith("gateway.call.")


def test_context_headers_reach_the_services_worker_context(probe_service: None, amqp_uri: str) -> None:
    facts = run_client("context", amqp_uri)
    first = facts["given"]
    assert first["data"] == {"request_id": "req-123", "user_agent": "pytest"}
    caller, worker = first["call_id_stack"]
    assert caller.startswith("gateway.call.")
    assert worker.startswith(f"{SERVICE}.context.")
    assert facts["stack"]["call_id_stack"][0] == "gateway.http.req-456"
    assert facts["stack"]["data"] == {"request_id": "req-456"}
    assert facts["none"]["data"] == {}


def test_one_connection_and_one_reply_queue_serve_every_call_and_close_leaves_none(
    probe_service: None, amqp_uri: str,
) -> None:
    facts = run_client("resources", amqp_uri)
    assert facts["answers"] == 200
    assert facts["during"] == {"connections": 1, "reply_queues": 1}
    assert facts["reply_queue"]["exclusive"] and facts["reply_queue"]["auto_delete"]
    assert facts["after_close"] == {"connections": 0, "reply_queues": 0}
    assert facts["broker_ok"] == [True, False]


def test_after_the_broker_drops_the_connection_calls_fail_fast_and_the_client_reconnects(
    probe_service: None, amqp_uri: str,
) -> None:
    facts = run_client("reconnect", amqp_uri)
    assert facts["before"] == "before"
    inflight = facts["in_flight"]
    assert inflight["class"] == "services.common.errors.ServiceUnavailable"
    assert inflight["message"] == "the message broker is not reachable"
    assert inflight["seconds"] < 2, "an in-flight call fails with the connection, not after 3 s"
    outage = facts["during_outage"]
    assert outage["class"] == "services.common.errors.ServiceUnavailable"
    assert outage["seconds"] < 0.2
    assert facts["broker_ok_during_outage"] is False
    assert facts["reconnected_within_s"] < 10
    assert facts["after"] == "after"
    assert facts["resources_after"] == {"connections": 1, "reply_queues": 1}
    assert facts["new_connection"] is True
    assert facts["after_late_reply"] == "still fine"
    assert any(line.startswith("WARNING ") and "lost the message broker" in line for line in facts["log"])


# -- the client side: run in a clean interpreter, no eventlet -------------------------------------


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += " Traceback"
        self.lines.append(f"{record.levelname} {text}")


def failure(error: BaseException, started: float) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "class": f"{type(error).__module__}.{type(error).__name__}",
        "seconds": round(time.monotonic() - started, 3),
    }
    for name in ("message", "details", "code"):
        if hasattr(error, name):
            facts[name] = getattr(error, name)
    return facts


async def failing(call: Awaitable[Any]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = await call
    except Exception as error:
        return failure(error, started)
    raise AssertionError(f"expected a failure, got {result!r}")


class Broker:
    """The management API's view of one vhost."""

    def __init__(self, vhost: str) -> None:
        import httpx

        parsed = urlparse(RABBIT_API)
        base = parsed._replace(netloc=f"{parsed.hostname}:{parsed.port}").geturl()
        self.vhost = vhost
        self.api = httpx.AsyncClient(base_url=base, auth=(parsed.username or "guest",
                                                          parsed.password or "guest"), timeout=10)

    async def connections(self) -> list[dict[str, Any]]:
        answer = await self.api.get("/connections")
        answer.raise_for_status()
        return [c for c in answer.json() if c.get("vhost") == self.vhost and str(
            (c.get("client_properties") or {}).get("connection_name", "")).startswith("gateway rpc")]

    async def reply_queues(self) -> list[dict[str, Any]]:
        answer = await self.api.get(f"/queues/{quote(self.vhost, safe='')}")
        answer.raise_for_status()
        return [q for q in answer.json() if q["name"].startswith("rpc.reply-gateway-")]

    async def counts(self) -> dict[str, int]:
        return {"connections": len(await self.connections()), "reply_queues": len(await self.reply_queues())}

    async def settle(self, expected: dict[str, int], seconds: float = 15) -> dict[str, int]:
        """The counts once they equal ``expected`` (the API's statistics lag a little)."""
        deadline = time.monotonic() + seconds
        while True:
            counts = await self.counts()
            if counts == expected or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.25)

    async def drop(self, connection: dict[str, Any]) -> None:
        answer = await self.api.delete(f"/connections/{quote(connection['name'], safe='')}",
                                       headers={"X-Reason": "test: drop the gateway's connection"})
        assert answer.status_code in (200, 204), answer.text

    async def close(self) -> None:
        await self.api.aclose()


async def results(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    value = {"text": "grüße", "error": None, "items": [1, 2.5, None, True]}
    echo = await services.call(SERVICE, "echo", value)
    echo_json = await services.call_json(SERVICE, "echo", value)
    scalar_json = await services.call_json(SERVICE, "echo", None)
    decimal = await services.call(SERVICE, "echo", Decimal("1.10"))
    return {
        "echo": echo, "echo_json": json.loads(echo_json), "echo_json_is_bytes": isinstance(echo_json, bytes),
        "scalar_json": scalar_json.decode(), "decimal": repr(decimal),
        "eventlet_loaded": "eventlet" in sys.modules, "threads": threading.active_count(),
        "log": log.lines,
    }


async def concurrent(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    async def one(n: int) -> tuple[int, Any]:
        if n % 2:
            return n, json.loads(await services.call_json(SERVICE, "echo", {"n": n}))
        return n, await services.call(SERVICE, "echo", {"n": n})

    answers = await asyncio.gather(*(one(n) for n in range(200)))
    return {"answers": len(answers), "wrong_answers": [n for n, got in answers if got != {"n": n}],
            "pending_after": len(services._pending)}


async def business_error(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    return {"call": await failing(services.call(SERVICE, "fail_business")),
            "call_json": await failing(services.call_json(SERVICE, "fail_business")),
            "log": log.lines}


async def unexpected_error(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    facts = {"call": await failing(services.call(SERVICE, "fail_bug")),
             "call_json": await failing(services.call_json(SERVICE, "fail_bug"))}
    for via in ("call", "call_json"):
        facts[via].pop("seconds")
        facts[via].pop("message")
    return {**facts, "log": log.lines}


async def unknown_service(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    return {"call": await failing(services.call("no_such_service", "ping")),
            "call_json": await failing(services.call_json("no_such_service", "ping")),
            "then": await services.call(SERVICE, "echo", "still fine")}


async def timeout(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    late = await failing(services.call(SERVICE, "sleep", 1.5, "A", timeout=0.5))
    following = await services.call(SERVICE, "sleep", 1.3, "B", timeout=5)
    after = await services.call(SERVICE, "echo", "C")
    return {"late": late, "next": following, "after": after, "pending_after": len(services._pending),
            "log": log.lines}


async def context(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    return {
        "given": await services.call(SERVICE, "context",
                                     context={"request_id": "req-123", "user_agent": "pytest"}),
        "stack": await services.call(SERVICE, "context", context={
            "request_id": "req-456", "call_id_stack": ["gateway.http.req-456"], "dropped": None}),
        "none": await services.call(SERVICE, "context"),
    }


async def queued_request(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    call = await failing(services.call(SERVICE, "echo", "a command", timeout=0.5))
    queue = f"/queues/{quote(broker.vhost, safe='')}/rpc-{SERVICE}"
    peek = await broker.api.post(f"{queue}/get", json={
        "count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"})
    peek.raise_for_status()
    [message] = peek.json()  # the request is still there after its caller gave up
    return {"call": call, "message": message}


async def resources(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    answers = await asyncio.gather(*(services.call(SERVICE, "echo", n) for n in range(200)))
    during = await broker.settle({"connections": 1, "reply_queues": 1})
    queue = (await broker.reply_queues())[0]
    ok = [await services.broker_ok()]
    await services.close()
    ok.append(await services.broker_ok())
    return {
        "answers": sum(1 for n, got in enumerate(answers) if got == n), "during": during,
        "reply_queue": {"exclusive": queue.get("exclusive"), "auto_delete": queue.get("auto_delete")},
        "after_close": await broker.settle({"connections": 0, "reply_queues": 0}),
        "broker_ok": ok,
    }


async def reconnect(services: Any, broker: Broker, log: Recorder) -> dict[str, Any]:
    from services.common.errors import ServiceUnavailable

    facts: dict[str, Any] = {"before": await services.call(SERVICE, "echo", "before")}
    await broker.settle({"connections": 1, "reply_queues": 1})
    [old] = await broker.connections()
    in_flight = asyncio.create_task(failing(services.call(SERVICE, "sleep", 3, "in flight", timeout=10)))
    await asyncio.sleep(0.3)  # published; the worker sleeps
    dropped_at = time.monotonic()
    await broker.drop(old)
    facts["in_flight"] = await in_flight
    facts["in_flight"]["seconds"] = round(time.monotonic() - dropped_at, 3)
    facts["broker_ok_during_outage"] = await services.broker_ok()
    facts["during_outage"] = await failing(services.call(SERVICE, "echo", "during"))
    started = time.monotonic()
    while not await services.broker_ok() and time.monotonic() - started < 30:
        await asyncio.sleep(0.05)
    facts["reconnected_within_s"] = round(time.monotonic() - started, 3)
    try:
        facts["after"] = await services.call(SERVICE, "echo", "after")
    except ServiceUnavailable as error:
        facts["after"] = repr(error)
    facts["resources_after"] = await broker.settle({"connections": 1, "reply_queues": 1})
    facts["new_connection"] = [c["name"] for c in await broker.connections()] != [old["name"]]
    # The in-flight call's reply comes 3 s after it was sent, to the re-declared queue.
    await asyncio.sleep(max(0.0, 3.5 - (time.monotonic() - dropped_at)))
    facts["after_late_reply"] = await services.call(SERVICE, "echo", "still fine")
    facts["log"] = log.lines
    return facts


SCENARIOS: dict[str, Callable[[Any, Broker, Recorder], Awaitable[dict[str, Any]]]] = {
    scenario.__name__: scenario for scenario in (
        results, concurrent, business_error, unexpected_error, unknown_service, timeout,
        queued_request, context, resources, reconnect,
    )
}


async def run_scenario(name: str, amqp_uri: str, vhost: str) -> dict[str, Any]:
    from gateway.rpc import Services

    log = Recorder()
    logging.getLogger("gateway.rpc").addHandler(log)
    broker = Broker(vhost)
    services = Services(amqp_uri, timeout=10)
    await services.start()
    try:
        return await SCENARIOS[name](services, broker, log)
    finally:
        await services.close()
        await broker.close()


def main(name: str, amqp_uri: str, vhost: str, loop: str) -> None:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        facts = runner.run(run_scenario(name, amqp_uri, vhost))
    print(RESULT_LINE + json.dumps(facts, default=str), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(*sys.argv[1:5])
