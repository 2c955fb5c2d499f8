"""Bad input gets a clear JSON error with a stable code and the right status — never a 500,
never a traceback — on every route."""

import pytest

ROUTES_WITH_BODIES = [
    "/auth/register", "/auth/login", "/orders", "/invoice-applications",
    "/admin/accounts/00000000-0000-0000-0000-000000000000/top-ups",
]


def assert_error(answer, status, code):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("path", ROUTES_WITH_BODIES)
def test_malformed_json_is_a_400_malformed_json(operator, path):
    answer = operator.http.post(path, content=b'{"lines": [', headers={
        **operator.headers(), "Content-Type": "application/json"})
    assert_error(answer, 400, "malformed_json")


@pytest.mark.parametrize("path", ROUTES_WITH_BODIES)
def test_unknown_fields_are_refused(operator, path):
    answer = operator.post(path, {"surprise": 1})
    assert_error(answer, 422, "validation_error")
    assert any(p["type"] == "extra_forbidden" for p in answer.json()["error"]["details"])


def test_wrong_types_are_a_422_naming_the_field(customer):
    answer = customer.post("/orders", {"lines": [{"sku": "VM-S-1M", "quantity": "many"}]})
    assert_error(answer, 422, "validation_error")
    assert answer.json()["error"]["details"][0]["loc"][-1] == "quantity"


def test_an_oversized_body_is_a_413(customer):
    answer = customer.http.post("/orders", content=b"x" * 2_000_000, headers={
        **customer.headers(), "Content-Type": "application/json"})
    assert_error(answer, 413, "payload_too_large")


def test_an_oversized_chunked_body_is_a_413(customer):
    def chunks():
        for _ in range(40):
            yield b"x" * 64_000

    answer = customer.http.post("/orders", content=chunks(), headers={
        **customer.headers(), "Content-Type": "application/json"})
    assert_error(answer, 413, "payload_too_large")


def test_unknown_routes_are_a_404_json(customer):
    assert_error(customer.get("/no-such-thing"), 404, "not_found")
    assert_error(customer.http.get("/../../etc/passwd"), 404, "not_found")


def test_a_wrong_method_is_a_405_json(customer):
    assert_error(customer.http.delete("/products"), 405, "method_not_allowed")


def test_requests_without_a_token_are_a_401(product):
    from tests.e2e.conftest import Api

    anonymous = Api(product.url)
    assert_error(anonymous.get("/account"), 401, "authentication_required")
    anonymous.token = "forged.token"
    assert_error(anonymous.get("/orders"), 401, "authentication_required")


def test_customers_cannot_top_up_balances(customer):
    account = customer.get("/account").json()
    answer = customer.post(f"/admin/accounts/{account['id']}/top-ups",
                           {"amount": {"amount": "1000.00", "currency": "EUR"}})
    assert_error(answer, 403, "forbidden")


def test_a_wrong_password_is_a_401_invalid_credentials(customer, product):
    from tests.e2e.conftest import Api

    answer = Api(product.url).post("/auth/login", {"email": "operator@example.com", "password": "nope"})
    assert_error(answer, 401, "invalid_credentials")


def test_registering_an_address_twice_is_a_409(product):
    from tests.e2e.conftest import Api

    first = Api(product.url, product.mail)
    who = first.register()
    again = Api(product.url).post("/auth/register", {
        "email": who["email"].upper(), "password": "another-password", "company_name": "Copy AB",
        "country": "SE"})
    assert_error(again, 409, "email_already_registered")


def test_ordering_an_unknown_product_is_a_422(customer):
    answer = customer.post("/orders", {"lines": [{"sku": "NOPE", "quantity": 1}]})
    assert_error(answer, 422, "product_not_found")


def test_a_negative_top_up_is_refused(operator, customer):
    account = customer.get("/account").json()
    answer = operator.post(f"/admin/accounts/{account['id']}/top-ups",
                           {"amount": {"amount": "-5", "currency": "EUR"}})
    assert_error(answer, 422, "validation_error")


def test_a_top_up_of_a_missing_account_is_a_404(operator):
    answer = operator.post("/admin/accounts/00000000-0000-0000-0000-000000000000/top-ups",
                           {"amount": {"amount": "5.00", "currency": "EUR"}})
    assert_error(answer, 404, "not_found")


def test_an_order_applied_for_twice_is_a_409_order_already_invoiced(customer, operator):
    customer.complete_profile()
    operator.top_up(customer.get("/account").json()["id"], "25.00")
    order = customer.order()
    customer.wait_invoiceable(order["id"])
    assert customer.post("/invoice-applications", {"order_ids": [order["id"]]}).status_code == 201
    again = customer.post("/invoice-applications", {"order_ids": [order["id"]]})
    assert_error(again, 409, "order_already_invoiced")


def test_the_openapi_document_describes_the_api(product):
    import httpx

    spec = httpx.get(f"{product.url}/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/orders", "/api/v1/invoice-applications/{application_id}/confirm",
                 "/api/v1/invoices/{invoice_id}/pdf", "/api/v1/auth/register"):
        assert path in spec["paths"]
    assert httpx.get(f"{product.url}/api/v1/docs").status_code == 200


# -- input refused at the edge: nothing reaches a service that would choke on it --------------


SIGN_UP = b'{"email": "a@example.com", "password": "long-enough-pw", "country": "SE", '


@pytest.mark.parametrize("raw", [
    SIGN_UP + b'"company_name": "A\\u0000B"}',
    SIGN_UP + b'"company_name": "A\\ud800B"}',
    SIGN_UP + b'"company_name": "A\\u202eB"}',
    SIGN_UP + b'"company_name": "A\\u0007B"}',
])
def test_forbidden_characters_in_a_string_are_a_422_naming_the_field(product, raw):
    from tests.e2e.conftest import Api

    answer = Api(product.url).http.post("/auth/register", content=raw,
                                        headers={"Content-Type": "application/json"})
    assert_error(answer, 422, "validation_error")
    assert answer.json()["error"]["details"][0]["loc"] == ["body", "company_name"]


def test_a_lone_surrogate_in_a_list_is_a_422_naming_the_item(customer):
    answer = customer.http.post("/invoice-applications", content=b'{"order_ids": ["\\ud800"]}',
                                headers={**customer.headers(), "Content-Type": "application/json"})
    assert_error(answer, 422, "validation_error")
    assert answer.json()["error"]["details"][0]["loc"] == ["body", "order_ids", 0]


def test_a_nul_in_a_path_parameter_is_a_422(customer):
    answer = customer.get("/orders/a%00b")
    assert_error(answer, 422, "validation_error")
    assert answer.json()["error"]["details"][0]["loc"] == ["path", "order_id"]


@pytest.mark.parametrize("raw", [b'{"lines": "\xff\xfe"}', b"[" * 5000 + b"]" * 5000])
def test_a_body_that_is_not_json_is_a_400_malformed_json(customer, raw):
    answer = customer.http.post("/orders", content=raw, headers={
        **customer.headers(), "Content-Type": "application/json"})
    assert_error(answer, 400, "malformed_json")


@pytest.mark.parametrize("amount", [100.1, 100, "1e2", " 1.00", "1.001", "NaN", "0x10"])
def test_money_other_than_a_decimal_string_with_the_currencys_decimals_is_a_422(
    operator, customer, amount
):
    account = customer.get("/account").json()
    answer = operator.post(f"/admin/accounts/{account['id']}/top-ups",
                           {"amount": {"amount": amount, "currency": "EUR"}})
    assert_error(answer, 422, "validation_error")
    assert customer.get("/account").json()["cash_balance"]["amount"] == "0.00"


@pytest.mark.parametrize("quantity", [True, "2", 2.0, 2.5])
def test_a_quantity_other_than_a_json_integer_is_a_422(customer, quantity):
    answer = customer.post("/orders", {"lines": [{"sku": "VM-S-1M", "quantity": quantity}]})
    assert_error(answer, 422, "validation_error")


@pytest.mark.parametrize("claims", [
    {"acc": None, "email": "x@example.com", "role": "customer", "exp": 4102444800},
    {"sub": "u", "acc": None, "email": "x@example.com", "role": "customer", "exp": "soon"},
    {"sub": "u", "acc": 7, "email": "x@example.com", "role": "customer", "exp": 4102444800},
    {"sub": "u", "acc": None, "email": "x@example.com", "role": "root", "exp": 4102444800},
    ["not", "an", "object"],
])
def test_a_validly_signed_token_with_malformed_claims_is_a_401(product, claims):
    import json

    from gateway.auth import Tokens, _b64
    from tests.e2e.conftest import Api

    body = _b64(json.dumps(claims).encode())
    signed = f"{body}.{Tokens(product.env['SECRET_KEY'], 60)._sign(body)}"
    api = Api(product.url)
    api.token = signed
    assert_error(api.get("/orders"), 401, "authentication_required")
