"""Idempotency keys on the creating and money-moving POSTs: a retry with the same key and body
replays the first answer (``Idempotent-Replayed: true``) without calling the service again; a
different body is 422 ``idempotency_key_reused``; a retry while the first runs is 409
``idempotency_request_in_progress``; answers that do not settle the request (5xx, 202) are not
stored; 4xx refusals are; the key a service dedupes on is ``"{user_id}:{key}"``; a gateway that
died holding a key loses it when its lease runs out; anonymous keys are per client and body, and
a stored registration holds no token."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from gateway import schemas
from gateway.errors import IdempotencyInProgress
from gateway.idempotency import (
    IN_PROGRESS,
    IdempotencyKey,
    IdempotencyStore,
    anonymous_scope,
    fingerprint,
)
from services.common import errors as e
from tests.gateway.conftest import (
    ALICE,
    APPLICATION,
    BOB,
    OPERATOR,
    ORDER,
    REGISTRATION,
    TOP_UP,
    Gate,
    Gateway,
    application_out,
    error_of,
    in_turn,
    ledger_entry_out,
    order_out,
    registered,
)

REPLAYED = "Idempotent-Replayed"


def post(gw: Gateway, path: str, body: Any, key: str | None, who: Any = ALICE,
         host: str | None = None) -> Any:
    headers = gw.auth(who) if who is not None else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    if host is not None:
        headers.update(gw.from_host(host))
    return gw.client.post(path, json=body, headers=headers)


# route, service, method, body, who, success status, service answer
ROUTES = {
    "orders": ("/api/v1/orders", "orders", "place_order", ORDER, ALICE, 201, order_out()),
    "applications": ("/api/v1/invoice-applications", "invoicing", "apply", APPLICATION, ALICE, 201,
                     application_out()),
    "top-ups": ("/api/v1/admin/accounts/acc-1/top-ups", "billing", "credit_balance", TOP_UP, OPERATOR,
                201, ledger_entry_out()),
    "confirm": ("/api/v1/invoice-applications/app-1/confirm", "invoicing", "confirm", None, ALICE, 200,
                application_out(status="issued")),
}
OTHER_BODY = {
    "orders": {**ORDER, "po_number": "PO-8"},
    "applications": {"order_ids": ["ord-2"]},
    "top-ups": {**TOP_UP, "reference": "wire 43"},
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_same_key_and_body_replays_the_first_answer_and_calls_the_service_once(
    gw: Gateway, route: str
) -> None:
    path, service, method, body, who, status, answer = ROUTES[route]
    gw.fake.answer(service, method, answer)
    first = post(gw, path, body, "k-1", who)
    second = post(gw, path, body, "k-1", who)
    assert first.status_code == status, first.text
    assert REPLAYED not in first.headers
    assert (second.status_code, second.json()) == (status, first.json())
    assert second.headers[REPLAYED] == "true"
    assert len(gw.fake.calls_to(service, method)) == 1


def test_registration_with_the_same_key_replays_and_registers_once(gw: Gateway) -> None:
    gw.fake.answer("billing", "register_account", registered())
    first = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None)
    second = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None)
    assert (first.status_code, second.status_code) == (201, 201), first.text
    assert second.headers[REPLAYED] == "true"
    assert len(gw.fake.calls_to("billing", "register_account")) == 1
    assert second.json()["user_id"] == first.json()["user_id"] == ALICE.user_id


@pytest.mark.parametrize("route", sorted(OTHER_BODY))
def test_same_key_with_a_different_body_is_422_idempotency_key_reused(gw: Gateway, route: str) -> None:
    path, service, method, body, who, status, answer = ROUTES[route]
    gw.fake.answer(service, method, answer)
    assert post(gw, path, body, "k-1", who).status_code == status
    response = post(gw, path, OTHER_BODY[route], "k-1", who)
    assert error_of(response) == (422, "idempotency_key_reused")
    assert len(gw.fake.calls_to(service, method)) == 1


def test_same_key_on_another_path_is_422_idempotency_key_reused(gw: Gateway) -> None:
    gw.fake.answer("billing", "credit_balance", ledger_entry_out())
    gw.fake.answer("invoicing", "confirm", application_out(status="issued"))
    assert post(gw, "/api/v1/admin/accounts/acc-1/top-ups", TOP_UP, "k-1", OPERATOR).status_code == 201
    response = post(gw, "/api/v1/admin/accounts/acc-2/top-ups", TOP_UP, "k-1", OPERATOR)
    assert error_of(response) == (422, "idempotency_key_reused")
    assert post(gw, "/api/v1/invoice-applications/app-1/confirm", None, "c-1").status_code == 200
    response = post(gw, "/api/v1/invoice-applications/app-2/confirm", None, "c-1")
    assert error_of(response) == (422, "idempotency_key_reused")
    assert len(gw.fake.calls) == 2


def test_a_retry_while_the_first_runs_is_409_in_progress(gw: Gateway) -> None:
    gate = Gate(order_out())
    gw.fake.answer("orders", "place_order", gate)
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(first=post(gw, "/api/v1/orders", ORDER, "k-1")))
    first.start()
    try:
        assert gate.entered.wait(5), "the first request never reached the service"
        retry = post(gw, "/api/v1/orders", ORDER, "k-1")
        assert error_of(retry) == (409, "idempotency_request_in_progress")
        assert retry.headers["Retry-After"] == "1"
    finally:
        gate.release()
        first.join(10)
    assert results["first"].status_code == 201
    replay = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert (replay.status_code, replay.headers.get(REPLAYED)) == (201, "true")
    assert len(gw.fake.calls_to("orders", "place_order")) == 1


def test_a_5xx_is_not_stored_so_the_retry_calls_the_service_again(gw: Gateway) -> None:
    gw.fake.answer("orders", "place_order", in_turn(e.ServiceTimeout(), order_out()))
    assert error_of(post(gw, "/api/v1/orders", ORDER, "k-1")) == (504, "service_timeout")
    retry = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert retry.status_code == 201
    assert REPLAYED not in retry.headers
    calls = gw.fake.calls_to("orders", "place_order")
    assert len(calls) == 2
    assert calls[0].args[2] == calls[1].args[2] == "u-alice:k-1"  # the service resumes the same order
    assert post(gw, "/api/v1/orders", ORDER, "k-1").headers[REPLAYED] == "true"


@pytest.mark.parametrize("error", [e.ServiceUnavailable(), RuntimeError("boom")],
                         ids=["503", "500"])
def test_other_unsettled_answers_are_not_stored_either(gw: Gateway, error: Exception) -> None:
    gw.fake.answer("orders", "place_order", in_turn(error, order_out()))
    assert post(gw, "/api/v1/orders", ORDER, "k-1").status_code >= 500
    assert post(gw, "/api/v1/orders", ORDER, "k-1").status_code == 201
    assert len(gw.fake.calls_to("orders", "place_order")) == 2


def test_a_202_is_not_stored_so_the_retry_asks_again(gw: Gateway) -> None:
    gw.fake.answer("orders", "place_order", in_turn(order_out("awaiting_payment"), order_out("paid")))
    first = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert (first.status_code, first.json()["status"]) == (202, "awaiting_payment")
    retry = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert (retry.status_code, retry.json()["status"]) == (201, "paid")
    assert REPLAYED not in retry.headers
    assert len(gw.fake.calls_to("orders", "place_order")) == 2
    replay = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert (replay.status_code, replay.headers.get(REPLAYED)) == (201, "true")
    assert len(gw.fake.calls_to("orders", "place_order")) == 2


def test_a_4xx_refusal_is_stored_and_replayed(gw: Gateway) -> None:
    gw.fake.answer("orders", "place_order", in_turn(
        e.InsufficientFunds("short by 2.50 EUR", {"missing": "2.50"}), order_out()))
    first = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert error_of(first) == (402, "insufficient_funds")
    retry = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert retry.status_code == 402
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED] == "true"
    assert len(gw.fake.calls_to("orders", "place_order")) == 1


def test_the_request_key_for_orders_is_the_user_id_and_the_key(gw: Gateway) -> None:
    gw.fake.answer("orders", "place_order", order_out())
    assert post(gw, "/api/v1/orders", ORDER, "shared", ALICE).status_code == 201
    # Bob acts for the same account and happens to pick the same key: his own request.
    bob = post(gw, "/api/v1/orders", ORDER, "shared", BOB)
    assert bob.status_code == 201
    assert REPLAYED not in bob.headers
    calls = gw.fake.calls_to("orders", "place_order")
    assert [c.args[0] for c in calls] == ["acc-1", "acc-1"]
    assert [c.args[2] for c in calls] == ["u-alice:shared", "u-bob:shared"]


def test_the_request_key_for_applications_is_the_user_id_and_the_key(gw: Gateway) -> None:
    gw.fake.answer("invoicing", "apply", application_out())
    assert post(gw, "/api/v1/invoice-applications", APPLICATION, "shared", ALICE).status_code == 201
    assert post(gw, "/api/v1/invoice-applications", APPLICATION, "shared", BOB).status_code == 201
    assert [c.args[2] for c in gw.fake.calls_to("invoicing", "apply")] == ["u-alice:shared", "u-bob:shared"]


def test_the_request_key_for_top_ups_is_the_operator_id_and_the_key(gw: Gateway) -> None:
    gw.fake.answer("billing", "credit_balance", ledger_entry_out())
    assert post(gw, "/api/v1/admin/accounts/acc-1/top-ups", TOP_UP, "t-1", OPERATOR).status_code == 201
    (call,) = gw.fake.calls_to("billing", "credit_balance")
    assert call.args[0] == {"account_id": "acc-1", "amount": "100.00", "currency": "EUR",
                            "reference": "wire 42", "idempotency_key": "u-op:t-1"}


@pytest.mark.parametrize(("path", "service", "method", "body", "arg"), [
    ("/api/v1/orders", "orders", "place_order", ORDER, 2),
    ("/api/v1/invoice-applications", "invoicing", "apply", APPLICATION, 2),
])
def test_without_a_key_each_request_gets_a_fresh_uuid_request_key(
    gw: Gateway, path: str, service: str, method: str, body: Any, arg: int
) -> None:
    gw.fake.answer(service, method, order_out() if service == "orders" else application_out())
    for _ in range(2):
        response = post(gw, path, body, None)
        assert response.status_code == 201
        assert REPLAYED not in response.headers
    keys = [c.args[arg] for c in gw.fake.calls_to(service, method)]
    assert len(keys) == 2 and keys[0] != keys[1]
    for key in keys:
        uuid.UUID(key)


def test_without_a_key_a_top_up_gets_a_fresh_uuid_request_key(gw: Gateway) -> None:
    gw.fake.answer("billing", "credit_balance", ledger_entry_out())
    for _ in range(2):
        assert post(gw, "/api/v1/admin/accounts/acc-1/top-ups", TOP_UP, None, OPERATOR).status_code == 201
    keys = [c.args[0]["idempotency_key"] for c in gw.fake.calls_to("billing", "credit_balance")]
    assert keys[0] != keys[1]
    for key in keys:
        uuid.UUID(key)


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there", "del\x7f"], ids=["empty", "long", "tab", "del"])
def test_an_unusable_key_is_refused_before_the_service_is_called(gw: Gateway, key: str) -> None:
    gw.fake.answer("orders", "place_order", order_out())
    response = post(gw, "/api/v1/orders", ORDER, key)
    assert error_of(response) == (422, "invalid_request")
    assert gw.fake.calls == []


# -- leases ---------------------------------------------------------------------------------------


def order_print(body: Any = ORDER) -> str:
    """The fingerprint the gateway computes: of the validated body, defaults included."""
    data = schemas.OrderIn.model_validate(body).model_dump(mode="json")
    return fingerprint("POST", "/api/v1/orders", data)


def expire_lease(store: IdempotencyStore, scope: str, key: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_a_key_held_by_a_dead_gateway_is_409_until_its_lease_runs_out_then_taken_over(gw: Gateway) -> None:
    gw.fake.answer("orders", "place_order", order_out())
    assert gw.store.begin("u-alice", "k-1", order_print()) is None  # ... and then the gateway died
    record = gw.store.get("u-alice", "k-1")
    assert record is not None and record.state == IN_PROGRESS

    retry = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert error_of(retry) == (409, "idempotency_request_in_progress")
    assert gw.fake.calls == []

    expire_lease(gw.store, "u-alice", "k-1")
    taken_over = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert taken_over.status_code == 201, taken_over.text
    assert REPLAYED not in taken_over.headers
    (call,) = gw.fake.calls_to("orders", "place_order")
    assert call.args[2] == "u-alice:k-1"  # the service resumes what the dead gateway started

    replay = post(gw, "/api/v1/orders", ORDER, "k-1")
    assert (replay.status_code, replay.headers.get(REPLAYED)) == (201, "true")
    assert len(gw.fake.calls_to("orders", "place_order")) == 1


def test_a_lease_lasts_longer_than_a_request_can(gw: Gateway) -> None:
    gw.store.begin("u-alice", "k-1", order_print())
    record = gw.store.get("u-alice", "k-1")
    assert record is not None
    left = (record.locked_until - datetime.now(UTC)).total_seconds()
    assert left > gw.app.state.settings.rpc_timeout


def test_two_concurrent_takeovers_only_one_wins(gw: Gateway) -> None:
    gate = Gate(order_out())
    gw.fake.answer("orders", "place_order", gate)
    gw.store.begin("u-alice", "k-1", order_print())
    expire_lease(gw.store, "u-alice", "k-1")
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(post(gw, "/api/v1/orders", ORDER, "k-1")))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        assert gate.entered.wait(5)
        # the winner is inside the service; the loser has had time to finish
        for _ in range(200):
            if results:
                break
            threading.Event().wait(0.01)
    finally:
        gate.release()
        for thread in threads:
            thread.join(10)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409], [r.text for r in results]
    assert len(gw.fake.calls_to("orders", "place_order")) == 1


def test_a_takeover_race_in_the_store_has_one_winner(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both retries read the expired lease; the second to write it loses (compare-and-set)."""
    store = gw.store
    store.begin("u-alice", "k-1", order_print())
    expire_lease(store, "u-alice", "k-1")
    inner: list[Any] = []
    racing: list[bool] = []
    real_read = store._read

    def read(*args: Any) -> Any:
        record = real_read(*args)
        if not racing:  # the other retry runs to the end between this one's read and write
            racing.append(True)
            inner.append(store.begin("u-alice", "k-1", order_print()))
        return record

    monkeypatch.setattr(store, "_read", read)
    with pytest.raises(IdempotencyInProgress):
        store.begin("u-alice", "k-1", order_print())
    assert inner == [None]  # the other one took it over


# -- anonymous scope ------------------------------------------------------------------------------


def test_registration_keys_of_two_client_addresses_are_independent(gw: Gateway) -> None:
    gw.fake.answer("billing", "register_account", registered())
    one = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None,
               host="192.0.2.1")
    two = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None,
               host="198.51.100.7")
    assert (one.status_code, two.status_code) == (201, 201)
    assert REPLAYED not in one.headers and REPLAYED not in two.headers
    calls = gw.fake.calls_to("billing", "register_account")
    assert len(calls) == 2
    assert calls[0].args[1] != calls[1].args[1]  # the services' request keys differ too
    assert all(c.args[1].endswith(":reg-1") for c in calls)


def test_the_anonymous_scope_depends_on_the_client_and_the_body() -> None:
    assert anonymous_scope("192.0.2.1", REGISTRATION) != anonymous_scope("192.0.2.2", REGISTRATION)
    other = {**REGISTRATION, "email": "eve@example.com"}
    assert anonymous_scope("192.0.2.1", REGISTRATION) != anonymous_scope("192.0.2.1", other)
    assert anonymous_scope("192.0.2.1", REGISTRATION) == anonymous_scope("192.0.2.1", dict(REGISTRATION))


def test_registration_without_a_key_passes_no_request_key(gw: Gateway) -> None:
    gw.fake.answer("billing", "register_account", registered())
    assert post(gw, "/api/v1/auth/register", REGISTRATION, None, who=None).status_code == 201
    (call,) = gw.fake.calls_to("billing", "register_account")
    assert call.args[1] is None


def test_a_registration_answers_ids_and_no_token_and_its_stored_answer_holds_no_password(
    gw: Gateway,
) -> None:
    gw.fake.answer("billing", "register_account", registered())
    first = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None)
    assert (first.status_code, first.json()) == (201, registered())
    with gw.store.engine.connect() as connection:
        bodies = connection.execute(select(IdempotencyKey.response_body)).scalars().all()
    assert len(bodies) == 1 and REGISTRATION["password"] not in bodies[0]

    replay = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None)
    assert (replay.json(), replay.headers[REPLAYED]) == (registered(), "true")
    assert len(gw.fake.calls_to("billing", "register_account")) == 1


def test_a_refused_registration_is_stored_and_replayed(gw: Gateway) -> None:
    gw.fake.answer("billing", "register_account", e.EmailAlreadyRegistered())
    first = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None)
    assert error_of(first) == (409, "email_already_registered")
    replay = post(gw, "/api/v1/auth/register", REGISTRATION, "reg-1", who=None)
    assert (replay.status_code, replay.json(), replay.headers[REPLAYED]) == (409, first.json(), "true")
    assert len(gw.fake.calls_to("billing", "register_account")) == 1
