"""The error table: every business failure a service raises answers its one status from
``gateway.errors.STATUS`` with ``{"error": {"code", "message", "details"}}`` and nothing else;
``Retry-After`` where ``RETRY_AFTER`` says; anything unexpected answers 500 ``internal_error``
without a traceback; unknown routes and wrong methods answer the same JSON shape."""

from __future__ import annotations

import pytest

from gateway import errors
from services.common import errors as e
from tests.gateway.conftest import ALICE, ORDER, Gateway, account_out, error_of

TABLE = sorted(errors.STATUS.items(), key=lambda item: item[0].__name__)


@pytest.mark.parametrize(("cls", "status"), TABLE, ids=[cls.__name__ for cls, _ in TABLE])
def test_every_business_error_answers_its_status_and_the_error_body(
    gw: Gateway, cls: type[e.BusinessError], status: int
) -> None:
    gw.fake.answer("billing", "get_account", cls("what happened", {"field": "x", "n": 1}))
    response = gw.client.get("/api/v1/account", headers=gw.auth())
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": cls.code, "message": "what happened",
                                         "details": {"field": "x", "n": 1}}}
    retry = errors.RETRY_AFTER.get(cls)
    assert response.headers.get("Retry-After") == retry


@pytest.mark.parametrize(("cls", "status"), TABLE, ids=[cls.__name__ for cls, _ in TABLE])
def test_a_business_error_from_a_call_answers_the_same_as_from_a_relay(
    gw: Gateway, cls: type[e.BusinessError], status: int
) -> None:
    gw.fake.answer("orders", "place_order", cls())
    response = gw.client.post("/api/v1/orders", json=ORDER, headers=gw.auth())
    assert error_of(response) == (status, cls.code)
    assert response.json()["error"] == {"code": cls.code, "message": cls.default_message,
                                        "details": None}


def test_every_status_of_the_table_is_an_error_status() -> None:
    assert all(400 <= status < 600 for status in errors.STATUS.values())
    assert set(errors.RETRY_AFTER) <= set(errors.STATUS)


def test_a_subclass_not_in_the_table_answers_its_nearest_ancestors_status(gw: Gateway) -> None:
    class GoneMissing(e.NotFound):
        code = "gone_missing"

    gw.fake.answer("billing", "get_account", GoneMissing())
    assert error_of(gw.client.get("/api/v1/account", headers=gw.auth())) == (404, "gone_missing")


def test_an_unexpected_exception_answers_500_internal_error_without_a_traceback(gw: Gateway) -> None:
    gw.fake.answer("billing", "get_account", RuntimeError("db password is hunter2"))
    response = gw.client.get("/api/v1/account", headers=gw.auth())
    assert error_of(response) == (500, "internal_error")
    assert response.json()["error"]["details"] is None
    for leak in ("Traceback", "hunter2", "RuntimeError", "File \""):
        assert leak not in response.text


def test_an_unexpected_exception_in_a_post_answers_500_internal_error(gw: Gateway) -> None:
    gw.fake.answer("orders", "place_order", KeyError("status"))
    response = gw.client.post("/api/v1/orders", json=ORDER, headers=gw.auth())
    assert error_of(response) == (500, "internal_error")
    assert "Traceback" not in response.text


def test_a_service_answer_that_lacks_what_the_gateway_reads_is_500_not_a_crash(gw: Gateway) -> None:
    gw.fake.answer("orders", "place_order", {"id": "ord-1"})  # no "status"
    response = gw.client.post("/api/v1/orders", json=ORDER, headers=gw.auth())
    assert error_of(response) == (500, "internal_error")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/orders/o-1/nope", "/nope", "/api/v2/orders",
                                  "/api/v1/docs/assets/no-such-file.js"])
def test_an_unknown_route_is_404_json(gw: Gateway, path: str) -> None:
    response = gw.client.get(path, headers=gw.auth())
    assert error_of(response) == (404, "not_found")
    assert response.headers["content-type"] == "application/json"
    assert gw.fake.calls == []


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/api/v1/orders"),
    ("PUT", "/api/v1/account"),
    ("GET", "/api/v1/auth/register"),
    ("PATCH", "/api/v1/invoice-applications/app-1/confirm"),
])
def test_a_wrong_method_is_405_json_with_allow(gw: Gateway, method: str, path: str) -> None:
    response = gw.client.request(method, path, headers=gw.auth())
    assert error_of(response) == (405, "method_not_allowed")
    assert response.headers["content-type"] == "application/json"
    assert "allow" in response.headers
    assert gw.fake.calls == []


def test_a_successful_relay_passes_the_service_json_through(gw: Gateway) -> None:
    gw.fake.answer("billing", "get_account", account_out())
    response = gw.client.get("/api/v1/account", headers=gw.auth(ALICE))
    assert response.status_code == 200
    assert response.json() == account_out()
