"""Bad input through the real routes is refused at the edge and never reaches a service:
forbidden characters in any string of a body, a path or a query are 422 ``validation_error``
naming the field; bodies that are not UTF-8 JSON or nest too deep are 400 ``malformed_json``;
money is a decimal string and quantities JSON integers (else 422); bodies over the limit are 413
``payload_too_large``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.gateway.conftest import (
    ALICE,
    APPLICATION,
    JSON,
    OPERATOR,
    ORDER,
    REGISTRATION,
    TOP_UP,
    Gateway,
    application_out,
    error_of,
    ledger_entry_out,
    order_out,
    registered,
)

# route, who, a good body, and every string field in it (as a loc below "body")
ROUTES: dict[str, tuple[str, Any, dict[str, Any], list[list[Any]]]] = {
    "register": ("/api/v1/auth/register", None, REGISTRATION,
                 [["email"], ["password"], ["company_name"], ["organisation_number"],
                  ["billing_address"]]),
    "orders": ("/api/v1/orders", ALICE, ORDER, [["lines", 0, "sku"], ["po_number"]]),
    "applications": ("/api/v1/invoice-applications", ALICE, APPLICATION, [["order_ids", 0]]),
    "top-ups": ("/api/v1/admin/accounts/acc-1/top-ups", OPERATOR, TOP_UP, [["reference"]]),
}
CASES = [(route, loc) for route, (_, _, _, locs) in ROUTES.items() for loc in locs]

# character, and how it travels in the JSON text
FORBIDDEN = {
    "NUL": "\u0000",
    "ESC": "\u001b",
    "BEL": "\u0007",
    "VT": "\u000b",
    "DEL": "\u007f",
    "C1": "\u0085",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "lone-surrogate": "\ud800",
    "noncharacter": "\ufffe",
}


@pytest.fixture
def answering(gw: Gateway) -> Gateway:
    """The gateway with every service answering well, so a refusal can only be the edge's."""
    gw.fake.answer("billing", "register_account", registered())
    gw.fake.answer("orders", "place_order", order_out())
    gw.fake.answer("invoicing", "apply", application_out())
    gw.fake.answer("billing", "credit_balance", ledger_entry_out())
    gw.fake.answer("orders", "get_order", order_out())
    gw.fake.answer("orders", "list_orders", {"items": [], "next_cursor": None})
    gw.fake.answer("invoicing", "get_invoice", {})
    return gw


def headers_for(gw: Gateway, who: Any) -> dict[str, str]:
    return {**JSON, **(gw.auth(who) if who is not None else {})}


def post_order(gw: Gateway, raw: bytes) -> Any:
    return gw.client.post("/api/v1/orders", content=raw, headers=headers_for(gw, ALICE))


def with_value(body: dict[str, Any], loc: list[Any], value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    target = body
    for step in loc[:-1]:
        target = target[step]
    target[loc[-1]] = value
    return body


def refused(response: Any) -> list[dict[str, Any]]:
    assert error_of(response) == (422, "validation_error"), response.text
    return response.json()["error"]["details"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_the_good_bodies_pass(answering: Gateway, route: str) -> None:
    path, who, body, _ = ROUTES[route]
    response = answering.client.post(path, content=json.dumps(body), headers=headers_for(answering, who))
    assert response.status_code == 201, response.text
    # one call to the service; an application's account rules are checked with billing first
    assert len(answering.fake.calls) == (2 if route == "applications" else 1)


@pytest.mark.parametrize("char", sorted(FORBIDDEN))
@pytest.mark.parametrize(("route", "loc"), CASES, ids=[f"{r}-{'.'.join(map(str, at))}" for r, at in CASES])
def test_a_forbidden_character_in_any_string_field_is_422_naming_the_field(
    answering: Gateway, route: str, loc: list[Any], char: str
) -> None:
    path, who, body, _ = ROUTES[route]
    # ASCII-escaped JSON text: "\u0000", "\ud800" (a lone surrogate can only travel escaped)
    raw = json.dumps(with_value(body, loc, "ab" + FORBIDDEN[char] + "cd"))
    response = answering.client.post(path, content=raw.encode(), headers=headers_for(answering, who))
    details = refused(response)
    assert [d["loc"] for d in details] == [["body", *loc]]
    assert details[0]["type"] == "forbidden_character"
    assert answering.fake.calls == []


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u0085", "\ufdd0"])
def test_a_forbidden_character_sent_raw_in_utf8_is_422_too(answering: Gateway, char: str) -> None:
    raw = json.dumps(with_value(ORDER, ["po_number"], f"PO{char}7"), ensure_ascii=False).encode()
    assert char.encode() in raw
    details = refused(post_order(answering, raw))
    assert [d["loc"] for d in details] == [["body", "po_number"]]
    assert answering.fake.calls == []


def test_a_raw_control_character_inside_a_string_is_400_malformed_json(answering: Gateway) -> None:
    raw = b'{"lines": [{"sku": "A\x00B", "quantity": 1}]}'
    response = post_order(answering, raw)
    assert error_of(response) == (400, "malformed_json")
    assert answering.fake.calls == []


def test_a_forbidden_character_in_a_key_is_422_naming_the_key(answering: Gateway) -> None:
    raw = json.dumps({**ORDER, "po\u202enumber": "x"}).encode()
    details = refused(post_order(answering, raw))
    assert details[0]["loc"][-1] == "[key]"
    assert answering.fake.calls == []


def test_a_refused_value_is_not_echoed(answering: Gateway) -> None:
    raw = json.dumps(with_value(ORDER, ["po_number"], "secret-\u0000-value")).encode()
    response = post_order(answering, raw)
    refused(response)
    assert "secret-" not in response.text


@pytest.mark.parametrize("path", [
    "/api/v1/orders/a%00b",
    "/api/v1/orders/a%1Bb",
    "/api/v1/orders/a%E2%80%AEb",
    "/api/v1/invoice-applications/a%00b",
    "/api/v1/invoices/a%00b",
    "/api/v1/invoices/a%00b/pdf",
])
def test_a_forbidden_character_in_a_path_parameter_is_422(answering: Gateway, path: str) -> None:
    details = refused(answering.client.get(path, headers=answering.auth()))
    assert details[0]["loc"][0] == "path"
    assert answering.fake.calls == []


def test_a_forbidden_character_in_a_post_path_parameter_is_422(answering: Gateway) -> None:
    response = answering.client.post("/api/v1/invoice-applications/a%00b/confirm", headers=answering.auth())
    assert refused(response)[0]["loc"] == ["path", "application_id"]
    response = answering.client.post("/api/v1/admin/accounts/a%00b/top-ups", json=TOP_UP,
                                     headers=answering.auth(OPERATOR))
    assert refused(response)[0]["loc"] == ["path", "account_id"]
    assert answering.fake.calls == []


def test_a_nul_in_a_path_parameter_names_it(answering: Gateway) -> None:
    details = refused(answering.client.get("/api/v1/orders/a%00b", headers=answering.auth()))
    assert details[0]["loc"] == ["path", "order_id"]


@pytest.mark.parametrize("query", ["cursor=a%00b", "cursor=a%E2%80%AEb", "limit=1%00"])
def test_a_forbidden_character_in_a_query_parameter_is_422(answering: Gateway, query: str) -> None:
    details = refused(answering.client.get(f"/api/v1/orders?{query}", headers=answering.auth()))
    assert details[0]["loc"][0] == "query"
    assert answering.fake.calls == []


@pytest.mark.parametrize(("raw", "kind"), [
    (b'{"lines": [{"sku": "\xff", "quantity": 1}]}', "json_not_utf8"),
    (b'{"order_ids": ["\xed\xa0\x80"]}', "json_not_utf8"),  # a surrogate encoded as UTF-8
    (b"\xef\xbb\xbf" + json.dumps(ORDER).encode(), "json_bom"),
    (b"[" * 5000 + b"]" * 5000, "json_too_deep"),
    (b'{"lines": ' + b"[" * 5000 + b"]" * 5000 + b"}", "json_too_deep"),
    (b'{"lines": [{"sku": "A", "quantity": NaN}]}', "json_non_finite_number"),
    (b'{"lines": [], "lines": []}', "json_duplicate_key"),
    (b'{"lines": [', "json_invalid"),
])
def test_a_body_that_is_not_utf8_json_is_400_malformed_json(
    answering: Gateway, raw: bytes, kind: str
) -> None:
    response = post_order(answering, raw)
    assert error_of(response) == (400, "malformed_json")
    assert response.json()["error"]["details"][0]["type"] == kind
    assert answering.fake.calls == []


def test_a_5000_deep_registration_is_400_malformed_json(answering: Gateway) -> None:
    raw = b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = answering.client.post("/api/v1/auth/register", content=raw, headers=JSON)
    assert error_of(response) == (400, "malformed_json")
    assert answering.fake.calls == []


@pytest.mark.parametrize(("amount", "kind"), [
    (100.1, "money_not_a_string"),
    (100, "money_not_a_string"),
    ("1e2", "money_format"),
    (" 1.00", "money_format"),
    ("1.00 ", "money_format"),
    ("+1.00", "money_format"),
    ("01.00", "money_format"),
    ("1,00", "money_format"),
    ("1.001", "money_precision"),
    ("0.00", "money_not_positive"),
    ("-5.00", "money_not_positive"),
    ("1234567890123.00", "money_too_large"),
])
def test_a_top_up_amount_that_is_not_a_decimal_string_of_its_currency_is_422(
    answering: Gateway, amount: Any, kind: str
) -> None:
    body = {**TOP_UP, "amount": {"amount": amount, "currency": "EUR"}}
    details = refused(answering.client.post("/api/v1/admin/accounts/acc-1/top-ups", json=body,
                                            headers=answering.auth(OPERATOR)))
    assert (details[0]["loc"], details[0]["type"]) == (["body", "amount", "amount"], kind)
    assert answering.fake.calls == []


@pytest.mark.parametrize("amount", ["100", {"amount": "100.00"}, {"amount": "100", "currency": "XXX"},
                                    {"amount": "1.5", "currency": "JPY"}])
def test_a_top_up_amount_that_is_not_a_money_object_is_422(answering: Gateway, amount: Any) -> None:
    body = {**TOP_UP, "amount": amount}
    response = answering.client.post("/api/v1/admin/accounts/acc-1/top-ups", json=body,
                                     headers=answering.auth(OPERATOR))
    assert refused(response)[0]["loc"][:2] == ["body", "amount"]
    assert answering.fake.calls == []


@pytest.mark.parametrize("quantity", [b"true", b'"2"', b"2.0", b"0", b"-1", b"10001", b"null", b"1e0"])
def test_a_quantity_that_is_not_a_positive_json_integer_is_422(answering: Gateway, quantity: bytes) -> None:
    raw = b'{"lines": [{"sku": "VM-SMALL", "quantity": ' + quantity + b"}]}"
    details = refused(post_order(answering, raw))
    assert details[0]["loc"] == ["body", "lines", 0, "quantity"]
    assert answering.fake.calls == []


@pytest.mark.parametrize(("route", "extra"), [
    ("orders", {"account_id": "acc-2"}),
    ("applications", {"account_id": "acc-2"}),
    ("register", {"role": "operator"}),
    ("top-ups", {"idempotency_key": "x"}),
])
def test_an_unknown_field_is_422(answering: Gateway, route: str, extra: dict[str, Any]) -> None:
    path, who, body, _ = ROUTES[route]
    response = answering.client.post(path, json={**body, **extra}, headers=headers_for(answering, who))
    assert refused(response)[0]["loc"] == ["body", *extra]
    assert answering.fake.calls == []


# -- size -----------------------------------------------------------------------------------------


@pytest.fixture
def small(make_gateway: Callable[..., Gateway]) -> Gateway:
    gw = make_gateway(max_request_bytes=1024)
    gw.fake.answer("orders", "place_order", order_out())
    return gw


def big_order(size: int) -> bytes:
    return json.dumps({**ORDER, "po_number": "x" * 10, "lines": [{"sku": "A" * 40, "quantity": 1}] * 100,
                       "pad": "p" * size}).encode()


def test_a_body_over_the_limit_is_413_payload_too_large(small: Gateway) -> None:
    response = small.client.post("/api/v1/orders", content=big_order(2000), headers=headers_for(small, ALICE))
    assert error_of(response) == (413, "payload_too_large")
    assert response.json()["error"]["details"] == {"limit": 1024}
    assert small.fake.calls == []


def test_a_body_over_the_limit_without_content_length_is_413(small: Gateway) -> None:
    raw = big_order(2000)
    chunks = (raw[i:i + 256] for i in range(0, len(raw), 256))
    response = small.client.post("/api/v1/orders", content=chunks, headers=headers_for(small, ALICE))
    assert error_of(response) == (413, "payload_too_large")
    assert small.fake.calls == []


def test_an_anonymous_body_over_the_limit_is_413(small: Gateway) -> None:
    body = {**REGISTRATION, "billing_address": "x" * 2000}
    response = small.client.post("/api/v1/auth/register", json=body)
    assert error_of(response) == (413, "payload_too_large")
    assert small.fake.calls == []


def test_a_body_under_the_limit_passes(small: Gateway) -> None:
    response = small.client.post("/api/v1/orders", json=ORDER, headers=small.auth())
    assert response.status_code == 201


@pytest.mark.parametrize("char", ["NUL", "ESC", "RLO"])
@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/admin/orders/ord-1/refunds", {"lines": [{"line_no": 1, "quantity": 1}], "reason": "x"}),
    ("/api/v1/admin/invoices/inv-1/credit-notes", {"reason": "x"}),
    ("/api/v1/admin/invoice-applications/app-1/reject", {"reason": "x"}),
], ids=["refunds", "credit-notes", "reject"])
def test_an_operators_reason_with_a_forbidden_character_never_reaches_a_service(
        answering: Gateway, path: str, body: dict[str, Any], char: str) -> None:
    raw = json.dumps({**body, "reason": "ab" + FORBIDDEN[char] + "cd"})
    response = answering.client.post(path, content=raw.encode(), headers=headers_for(answering, OPERATOR))
    assert [d["loc"] for d in refused(response)] == [["body", "reason"]]
    assert answering.fake.calls == []
