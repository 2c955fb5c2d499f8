"""Input refused at the edge: malformed JSON is a 400 ``malformed_json``; forbidden characters,
money that is not a decimal string of its currency, and integers that are not JSON integers are
a 422 ``validation_error`` naming the field; none of it ever reaches a handler (or a service)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import starlette.requests
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from gateway import errors
from gateway.validation import (
    MAX_JSON_DEPTH,
    Body,
    BodyRefused,
    CheckedRoute,
    MoneyIn,
    PositiveMoneyIn,
    StrictQuantity,
    Text,
    check_path_params,
    check_query_params,
    check_text,
    forbidden_character,
    json_depth,
    parse_json_body,
)
from services.common.money import Money


def refusal(raw: bytes) -> BodyRefused:
    with pytest.raises(BodyRefused) as caught:
        parse_json_body(raw)
    return caught.value


def malformed_kind(raw: bytes) -> str:
    refused = refusal(raw)
    assert (refused.status, refused.code) == (400, "malformed_json")
    return refused.details[0]["type"]


def locs(refused: BodyRefused) -> list[list[Any]]:
    assert (refused.status, refused.code) == (422, "validation_error")
    assert all(problem["type"] == "forbidden_character" for problem in refused.details)
    return [problem["loc"] for problem in refused.details]


def encoded(value: Any) -> bytes:
    """JSON as a client sends it: non-ASCII escaped, so even a lone surrogate can travel."""
    return json.dumps(value).encode()


def problems(model: type[BaseModel], raw: bytes) -> list[tuple[tuple[Any, ...], str]]:
    """Validate a body the way the gateway does (parse here, then the model) and list the errors."""
    try:
        model.model_validate(parse_json_body(raw))
    except ValidationError as error:
        return [(item["loc"], item["type"]) for item in error.errors()]
    return []


# -- forbidden characters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"company_name": "A\u0000B"}, ["body", "company_name"]),
        ({"order_ids": ["\u0000"]}, ["body", "order_ids", 0]),
        ({"order_ids": ["ok", "ok", "x\u0000"]}, ["body", "order_ids", 2]),
        ({"lines": [{"sku": "A"}, {"sku": "B\u0000"}]}, ["body", "lines", 1, "sku"]),
        (["\u0000"], ["body", 0]),
        ("\u0000", ["body"]),
    ],
)
def test_a_nul_in_any_string_is_refused_naming_the_field(body: Any, loc: list[Any]) -> None:
    assert locs(refusal(encoded(body))) == [loc]


@pytest.mark.parametrize(
    ("char", "described"),
    [
        ("\u0000", "U+0000 (NUL)"),
        ("\u0001", "U+0001 (SOH)"),
        ("\u0008", "U+0008 (BS)"),
        ("\u000b", "U+000B (VT)"),
        ("\u000c", "U+000C (FF)"),
        ("\u001b", "U+001B (ESC)"),
        ("\u007f", "U+007F (DEL)"),
        ("\u0085", "U+0085 (C1 control character)"),
        ("\u009f", "U+009F (C1 control character)"),
        ("\u202a", "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
        ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
        ("\u2069", "U+2069 (POP DIRECTIONAL ISOLATE)"),
        ("\ud800", "U+D800 (lone surrogate)"),
        ("\udfff", "U+DFFF (lone surrogate)"),
        ("\ufffe", "U+FFFE (noncharacter)"),
        ("\uffff", "U+FFFF (noncharacter)"),
        ("\ufdd0", "U+FDD0 (noncharacter)"),
        ("\U0010ffff", "U+10FFFF (noncharacter)"),
    ],
)
def test_every_forbidden_kind_of_character_is_refused_and_described(char: str, described: str) -> None:
    assert forbidden_character(f"ab{char}cd") == described
    refused = refusal(encoded({"note": f"ab{char}cd"}))
    assert locs(refused) == [["body", "note"]]
    assert described in refused.details[0]["msg"]


@pytest.mark.parametrize(
    "text",
    ["tab\there", "two\nlines", "crlf\r\n", "Åsa Öberg", "Иванов", "שלום \u200f", "😀", "\u00a0nbsp", ""],
)
def test_tab_newline_carriage_return_and_ordinary_unicode_are_kept_exactly(text: str) -> None:
    assert forbidden_character(text) is None
    assert parse_json_body(encoded({"note": text})) == {"note": text}


def test_an_escaped_surrogate_pair_is_one_character_not_a_lone_surrogate() -> None:
    assert parse_json_body(b'["\\ud83d\\ude00"]') == ["😀"]


def test_a_raw_bidi_override_is_refused_like_an_escaped_one() -> None:
    raw = '{"name": "invoice\u202egpj.exe"}'.encode()
    assert locs(refusal(raw)) == [["body", "name"]]


def test_a_raw_control_character_inside_a_string_is_malformed_json() -> None:
    # RFC 8259: control characters in a string must be escaped; unescaped, the text is not JSON.
    assert malformed_kind(b'{"name": "A\x00B"}') == "json_invalid"
    assert malformed_kind(b'{"name": "A\x1bB"}') == "json_invalid"


def test_a_forbidden_character_in_an_object_key_is_refused_without_echoing_it() -> None:
    refused = refusal(b'{"lines": [{"s\\u0000ku": "A"}], "\\ud800": 1}')
    assert locs(refused) == [["body", "lines", 0, "s\\u0000ku", "[key]"], ["body", "\\ud800", "[key]"]]
    assert refused.details[0]["msg"].startswith("the key ")
    # The answer must be encodable: a lone surrogate in it would turn the 422 into a 500.
    json.dumps(refused.details, ensure_ascii=False).encode("utf-8")


def test_every_bad_string_is_reported_in_document_order_up_to_a_limit() -> None:
    refused = refusal(encoded({"a": "\u0000", "b": ["ok", "\u202e"], "c": {"d": "\u0007"}}))
    assert locs(refused) == [["body", "a"], ["body", "b", 1], ["body", "c", "d"]]
    assert len(refusal(encoded(["\u0000"] * 1000)).details) == 20


def test_escapes_that_yield_harmless_characters_are_accepted() -> None:
    assert parse_json_body(b'{"a": "\\"quoted\\" \\\\ \\/ \\n \\t \\r \\u00e9"}') == {
        "a": '"quoted" \\ / \n \t \r é'
    }


def test_a_forbidden_character_in_a_path_parameter_is_refused_naming_it() -> None:
    with pytest.raises(BodyRefused) as caught:
        check_path_params({"account_id": "acc-1", "order_id": "a\u0000b"})
    assert locs(caught.value) == [["path", "order_id"]]
    check_path_params({"order_id": "ord-1", "line_no": 3})  # converted (non-string) values pass


def test_a_forbidden_character_in_a_query_parameter_is_refused_naming_it() -> None:
    with pytest.raises(BodyRefused) as caught:
        check_query_params([("kind", "charge"), ("q", "\u2066x")])
    assert locs(caught.value) == [["query", "q"]]


def test_text_is_kept_exactly_bounded_and_refuses_forbidden_characters_from_any_source() -> None:
    class Note(Body):
        text: Text(5, min_length=1)  # type: ignore[valid-type]

    assert Note(text="  a  ").text == "  a  "
    refusals = [("", "string_too_short"), ("123456", "string_too_long"),
                ("a\u202eb", "forbidden_character"), (5, "string_type")]
    for bad, kind in refusals:
        with pytest.raises(ValidationError) as caught:
            Note.model_validate({"text": bad})
        assert caught.value.errors()[0]["type"] == kind
    assert check_text("fine") == "fine"


# -- malformed JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b'{"a": "\xff"}', "json_not_utf8"),
        (b'{"a": "\xed\xa0\x80"}', "json_not_utf8"),  # a surrogate encoded as bytes
        (b'{"a": "\xc3"}', "json_not_utf8"),  # a sequence cut short
        ('{"a": 1}'.encode("utf-16"), "json_not_utf8"),
        (b'\xef\xbb\xbf{"a": 1}', "json_bom"),
        (b"", "json_empty"),
        (b'{"a": 1', "json_invalid"),
        (b"[1, 2,", "json_invalid"),
        (b'{"a": "abc', "json_invalid"),
        (b"tru", "json_invalid"),
        (b'{"a": 1} {"b": 2}', "json_invalid"),
        (b"{'a': 1}", "json_invalid"),
        (b'{"a": 1,}', "json_invalid"),
        (b"   ", "json_invalid"),
    ],
)
def test_a_body_that_is_not_utf8_json_text_is_malformed_json(raw: bytes, kind: str) -> None:
    assert malformed_kind(raw) == kind


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b"[Infinity]", b"[-Infinity]"])
def test_nan_and_infinity_literals_are_malformed_json(raw: bytes) -> None:
    assert malformed_kind(raw) == "json_non_finite_number"


def test_numbers_beyond_range_are_malformed_json() -> None:
    assert malformed_kind(b"[1e999]") == "json_number_too_large"
    assert malformed_kind(b"[" + b"9" * 5000 + b"]") == "json_number_too_large"


def test_a_key_given_twice_in_one_object_is_malformed_json() -> None:
    assert malformed_kind(b'{"amount": "1.00", "amount": "1000.00"}') == "json_duplicate_key"
    assert malformed_kind(b'{"lines": [{"sku": "A", "sku": "B"}]}') == "json_duplicate_key"
    assert parse_json_body(b'[{"sku": "A"}, {"sku": "B"}]') == [{"sku": "A"}, {"sku": "B"}]


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 5000 + b"]" * 5000,
        b"[" * 1_000_000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b"[{" * 20 + b"}]" * 20,
    ],
    ids=["5000-deep array", "a million open brackets", "5000-deep object", "40 mixed"],
)
def test_nesting_deeper_than_the_limit_is_malformed_json_not_a_crash(raw: bytes) -> None:
    assert malformed_kind(raw) == "json_too_deep"


def test_nesting_up_to_the_limit_is_accepted() -> None:
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert json_depth(at_limit.decode()) == MAX_JSON_DEPTH
    assert parse_json_body(at_limit) is not None
    assert malformed_kind(b"[" + at_limit + b"]") == "json_too_deep"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    inside = '["' + "[{" * 100 + '", "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\\"]'
    assert json_depth(inside) == 1
    assert parse_json_body(inside.encode())[0] == "[{" * 100


def test_an_ordinary_body_arrives_exactly_as_sent() -> None:
    body = {"lines": [{"sku": "A-1", "quantity": 2}], "po_number": None, "from_cart": False,
            "price": {"amount": "12.50", "currency": "EUR"}, "ratio": 0.5}
    assert parse_json_body(encoded(body)) == body


# -- money ---------------------------------------------------------------------------------------


class PriceIn(Body):
    price: MoneyIn


class TopUpIn(Body):
    amount: PositiveMoneyIn


def money_body(amount: Any, currency: Any = "EUR") -> bytes:
    return encoded({"price": {"amount": amount, "currency": currency}})


@pytest.mark.parametrize("amount", [b"100.1", b"100", b"1e2", b"true", b"null", b'["1"]'])
def test_money_as_a_json_number_is_refused(amount: bytes) -> None:
    raw = b'{"price": {"amount": ' + amount + b', "currency": "EUR"}}'
    assert problems(PriceIn, raw) == [(("price", "amount"), "money_not_a_string")]


@pytest.mark.parametrize(
    "amount",
    ["1e2", "1E2", " 1.00", "1.00 ", "1.00\n", "+1.00", "01.00", "00", "-01", "1.", ".5", "-.5", "NaN",
     "Infinity", "-Infinity", "1,00", "1 000", "1_000", "0x10", "", "-", "١٢", "12.50 EUR"],
)
def test_money_amount_is_only_a_plain_decimal_string(amount: str) -> None:
    assert problems(PriceIn, money_body(amount)) == [(("price", "amount"), "money_format")]


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1.001", "EUR"), ("12.500", "EUR"), ("0.1234567890", "SEK"), ("1.5", "JPY"), ("1.00", "JPY")],
)
def test_money_has_no_more_decimals_than_its_currency(amount: str, currency: str) -> None:
    assert problems(PriceIn, money_body(amount, currency)) == [(("price", "amount"), "money_precision")]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("12.50", "EUR", "12.50"), ("12.5", "EUR", "12.5"), ("12", "EUR", "12"), ("0", "SEK", "0"),
     ("-3.20", "USD", "-3.20"), ("100", "JPY", "100"), ("999999999999.99", "EUR", "999999999999.99")],
)
def test_money_in_its_currency_is_accepted_exactly(amount: str, currency: str, expected: str) -> None:
    price = PriceIn.model_validate(parse_json_body(money_body(amount, currency))).price
    assert price.amount == Decimal(expected) and str(price.amount) == expected
    assert price.currency == currency
    assert price.money() == Money(Decimal(expected), currency)


def test_money_magnitude_is_bounded_to_twelve_integer_digits() -> None:
    assert problems(PriceIn, money_body("999999999999")) == []
    assert problems(PriceIn, money_body("1000000000000")) == [(("price", "amount"), "money_too_large")]
    assert problems(PriceIn, money_body("-1000000000000")) == [(("price", "amount"), "money_too_large")]


@pytest.mark.parametrize("currency", ["XXX", "eur", "EURO", "", 978, None])
def test_money_currency_must_be_a_known_code(currency: Any) -> None:
    [(loc, _kind)] = problems(PriceIn, money_body("1.00", currency))
    assert loc == ("price", "currency")


def test_money_is_an_object_with_exactly_amount_and_currency() -> None:
    assert problems(PriceIn, b'{"price": "12.50"}') == [(("price",), "money_not_an_object")]
    assert problems(PriceIn, b'{"price": 12.5}') == [(("price",), "money_not_an_object")]
    extra = b'{"price": {"amount": "1.00", "currency": "EUR", "vat": "0.25"}}'
    assert problems(PriceIn, extra) == [(("price", "vat"), "extra_forbidden")]
    assert {loc for loc, _ in problems(PriceIn, b'{"price": {"amount": "1.00"}}')} == {("price", "currency")}


def test_positive_money_refuses_zero_and_negative_amounts() -> None:
    for amount in ["0", "0.00", "-0.01", "-5"]:
        raw = encoded({"amount": {"amount": amount, "currency": "EUR"}})
        assert problems(TopUpIn, raw) == [(("amount", "amount"), "money_not_positive")]
    assert problems(TopUpIn, encoded({"amount": {"amount": "0.01", "currency": "EUR"}})) == []


def test_money_amount_is_documented_as_a_decimal_string() -> None:
    schema = MoneyIn.model_json_schema()
    assert schema["properties"]["amount"]["type"] == "string"
    assert schema["properties"]["amount"]["pattern"] == r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
    assert "EUR" in schema["properties"]["currency"]["enum"]
    assert schema["additionalProperties"] is False


# -- integers ------------------------------------------------------------------------------------


class LineIn(Body):
    sku: str
    quantity: StrictQuantity


@pytest.mark.parametrize("quantity", [b"true", b'"2"', b"2.0", b"2.5", b"null", b"[2]", b"2e0"])
def test_a_quantity_is_only_a_json_integer(quantity: bytes) -> None:
    raw = b'{"sku": "A", "quantity": ' + quantity + b"}"
    assert problems(LineIn, raw) == [(("quantity",), "int_type")]


@pytest.mark.parametrize(("quantity", "kind"), [(0, "greater_than"), (-1, "greater_than"),
                                                (10_001, "less_than_equal")])
def test_a_quantity_is_bounded(quantity: int, kind: str) -> None:
    assert problems(LineIn, encoded({"sku": "A", "quantity": quantity})) == [(("quantity",), kind)]
    assert problems(LineIn, encoded({"sku": "A", "quantity": 10_000})) == []


def test_a_body_refuses_unknown_fields() -> None:
    assert problems(LineIn, encoded({"sku": "A", "quantity": 1, "price": "0"})) == [
        (("price",), "extra_forbidden")
    ]


# -- over HTTP -----------------------------------------------------------------------------------


class ThingIn(Body):
    name: Text(200, min_length=1)  # type: ignore[valid-type]
    price: MoneyIn
    quantity: StrictQuantity = 1
    tags: list[str] = []


@pytest.fixture
def received() -> list[Any]:
    return []


@pytest.fixture
def client(received: list[Any]) -> Iterator[TestClient]:
    router = APIRouter(prefix="/v1", route_class=CheckedRoute)

    @router.post("/things", status_code=201)
    def create_thing(body: ThingIn) -> dict[str, Any]:
        received.append(body)
        return body.model_dump(mode="json")

    @router.get("/things/{thing_id}")
    def read_thing(thing_id: str) -> dict[str, str]:
        received.append(thing_id)
        return {"id": thing_id}

    @router.get("/things")
    def list_things(kind: str | None = None) -> dict[str, Any]:
        received.append(kind)
        return {"items": [], "kind": kind}

    @router.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return {"json": await request.json()}

    @router.post("/notes")
    async def raw_note(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app = FastAPI()
    errors.install(app)
    app.include_router(router, prefix="/api")
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


GOOD = {"name": "Widget ✓", "price": {"amount": "12.50", "currency": "EUR"}, "quantity": 3, "tags": ["a"]}
JSON = {"content-type": "application/json"}


def error_of(response: Any) -> tuple[int, str, list[Any]]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["details"]


def test_a_good_body_arrives_at_the_handler_intact(client: TestClient, received: list[Any]) -> None:
    response = client.post("/api/v1/things", json=GOOD)
    assert response.status_code == 201, response.text
    assert response.json() == GOOD
    assert received[0].price.amount == Decimal("12.50")


def test_over_http_invalid_utf8_is_400_malformed_json(client: TestClient, received: list[Any]) -> None:
    status, code, details = error_of(client.post("/api/v1/things", content=b'{"a": "\xff"}', headers=JSON))
    assert (status, code, details[0]["type"]) == (400, "malformed_json", "json_not_utf8")
    assert received == []


def test_over_http_a_5000_deep_array_is_400_malformed_json_not_a_crash(
    client: TestClient, received: list[Any]
) -> None:
    raw = b"[" * 5000 + b"]" * 5000
    status, code, details = error_of(client.post("/api/v1/things", content=raw, headers=JSON))
    assert (status, code, details[0]["type"]) == (400, "malformed_json", "json_too_deep")
    assert received == []


def test_over_http_a_nul_in_a_body_string_is_422_naming_the_field(
    client: TestClient, received: list[Any]
) -> None:
    status, code, details = error_of(client.post("/api/v1/things", json={**GOOD, "name": "A\u0000B"}))
    assert (status, code) == (422, "validation_error")
    assert details == [{"loc": ["body", "name"], "msg": "contains a forbidden character: U+0000 (NUL)",
                        "type": "forbidden_character"}]
    assert received == []


def test_over_http_a_lone_surrogate_in_a_list_is_422_naming_its_index(
    client: TestClient, received: list[Any]
) -> None:
    raw = encoded({**GOOD, "tags": ["fine", "\ud800"]})
    assert b"\\ud800" in raw
    status, code, details = error_of(client.post("/api/v1/things", content=raw, headers=JSON))
    assert (status, code) == (422, "validation_error")
    assert [d["loc"] for d in details] == [["body", "tags", 1]]
    assert received == []


def test_over_http_a_nul_in_a_path_parameter_is_422(client: TestClient, received: list[Any]) -> None:
    status, code, details = error_of(client.get("/api/v1/things/a%00b"))
    assert (status, code) == (422, "validation_error")
    assert details[0]["loc"] == ["path", "thing_id"]
    assert received == []
    assert client.get("/api/v1/things/thing-1").json() == {"id": "thing-1"}


def test_over_http_a_bidi_override_in_a_query_parameter_is_422(
    client: TestClient, received: list[Any]
) -> None:
    status, code, details = error_of(client.get("/api/v1/things", params={"kind": "x\u202ey"}))
    assert (status, code, details[0]["loc"]) == (422, "validation_error", ["query", "kind"])
    assert received == []
    assert client.get("/api/v1/things", params={"kind": "charge"}).json()["kind"] == "charge"


def test_over_http_money_as_a_json_number_is_422(client: TestClient, received: list[Any]) -> None:
    body = {**GOOD, "price": {"amount": 100.1, "currency": "EUR"}}
    status, code, details = error_of(client.post("/api/v1/things", json=body))
    assert (status, code) == (422, "validation_error")
    assert details[0]["loc"] == ["body", "price", "amount"]
    assert details[0]["type"] == "money_not_a_string"
    assert received == []


def test_over_http_a_quantity_of_2_point_0_is_422(client: TestClient, received: list[Any]) -> None:
    raw = b'{"name": "x", "price": {"amount": "1.00", "currency": "EUR"}, "quantity": 2.0}'
    status, code, details = error_of(client.post("/api/v1/things", content=raw, headers=JSON))
    assert (status, code, details[0]["loc"]) == (422, "validation_error", ["body", "quantity"])
    assert received == []


def test_over_http_a_duplicate_key_is_400_malformed_json(client: TestClient) -> None:
    raw = b'{"name": "x", "name": "y", "price": {"amount": "1.00", "currency": "EUR"}}'
    status, code, details = error_of(client.post("/api/v1/things", content=raw, headers=JSON))
    assert (status, code, details[0]["type"]) == (400, "malformed_json", "json_duplicate_key")


def test_a_vendor_json_content_type_is_checked_too(client: TestClient) -> None:
    raw = encoded({**GOOD, "name": "A\u0000B"})
    headers = {"content-type": "application/merge-patch+json"}
    response = client.post("/api/v1/things", content=raw, headers=headers)
    assert error_of(response)[:2] == (422, "validation_error")


def test_fastapi_validates_the_body_parsed_here_and_never_parses_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_second_parse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the body was parsed a second time")

    monkeypatch.setattr(starlette.requests, "json", SimpleNamespace(loads=no_second_parse))
    response = client.post("/api/v1/things", json=GOOD)
    assert response.status_code == 201, response.text
    sent = {"a": [1, {"b": None}]}
    assert client.post("/api/v1/echo", json=sent).json() == {"json": sent}


def test_a_body_that_is_not_json_is_left_to_its_route(client: TestClient) -> None:
    raw = b"\x00\xff raw bytes"
    response = client.post("/api/v1/notes", content=raw, headers={"content-type": "text/plain"})
    assert response.json() == {"bytes": len(raw)}


def test_an_empty_body_is_left_to_fastapi_which_reports_the_missing_body(client: TestClient) -> None:
    status, code, details = error_of(client.post("/api/v1/things", headers=JSON))
    assert (status, code) == (422, "validation_error")
    assert details[0]["loc"] == ["body"]
