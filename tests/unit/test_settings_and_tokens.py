"""Settings and gateway edge rules: production needs a real SECRET_KEY, a bad setting stops
the process with one line naming it; bearer tokens are signed and expire, so a tampered,
foreign or expired token is refused; an idempotency fingerprint identifies a request
independently of JSON key order."""

import pytest
from pydantic import ValidationError

from gateway.auth import Tokens
from gateway.errors import AuthenticationRequired, Forbidden
from gateway.idempotency import fingerprint
from services.common.config import DEVELOPMENT_SECRET, Settings, load_settings
from services.common.contracts import PrincipalOut
from services.common.errors import NotFound

SECRET = "x" * 40
ALICE = PrincipalOut(user_id="u-1", account_id="acc-1", email="alice@example.com", role="customer")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("ENVIRONMENT", "SECRET_KEY", "GATEWAY_PORT"):
        monkeypatch.delenv(name, raising=False)


# -- settings -----------------------------------------------------------------------------


def test_secret_key_is_required_in_production(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError):
        Settings()


def test_the_development_secret_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", DEVELOPMENT_SECRET)
    with pytest.raises(ValidationError):
        Settings()


def test_a_short_secret_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "too-short")
    with pytest.raises(ValidationError):
        Settings()


def test_a_long_secret_is_accepted_in_production(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert Settings().secret_key == SECRET


def test_development_falls_back_to_the_development_secret():
    assert Settings().secret_key == DEVELOPMENT_SECRET


def test_a_bad_setting_stops_the_process_with_one_line_naming_it(monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_PORT", "notaport")
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "GATEWAY_PORT" in lines[0]


def test_a_port_out_of_range_is_a_bad_setting(monkeypatch):
    monkeypatch.setenv("GATEWAY_PORT", "70000")
    with pytest.raises(ValidationError):
        load_settings(exit_on_error=False)


# -- tokens -------------------------------------------------------------------------------


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_an_issued_token_identifies_the_caller():
    token, _ = Tokens(SECRET, 3600).issue(ALICE)
    principal = Tokens(SECRET, 3600).verify(bearer(token))
    assert (principal.user_id, principal.account_id, principal.email, principal.role) == (
        "u-1",
        "acc-1",
        "alice@example.com",
        "customer",
    )


def test_a_tampered_token_is_refused():
    tokens = Tokens(SECRET, 3600)
    token, _ = tokens.issue(ALICE)
    body, signature = token.split(".")
    forged, _ = tokens.issue(ALICE.model_copy(update={"role": "operator"}))
    with pytest.raises(AuthenticationRequired):
        tokens.verify(bearer(forged.split(".")[0] + "." + signature))
    other_signature = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    with pytest.raises(AuthenticationRequired):
        tokens.verify(bearer(body + "." + other_signature))


def test_a_token_signed_with_another_secret_is_refused():
    token, _ = Tokens("y" * 40, 3600).issue(ALICE)
    with pytest.raises(AuthenticationRequired):
        Tokens(SECRET, 3600).verify(bearer(token))


def test_an_expired_token_is_refused():
    tokens = Tokens(SECRET, -60)
    token, expires = tokens.issue(ALICE)
    with pytest.raises(AuthenticationRequired, match="expired"):
        tokens.verify(bearer(token))


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer no-signature"])
def test_a_missing_or_malformed_authorization_is_refused(header):
    with pytest.raises(AuthenticationRequired):
        Tokens(SECRET, 3600).verify(header)


def test_a_token_with_non_ascii_characters_is_refused_not_crashed():
    # Starlette decodes headers as latin-1, so a client can send any of these characters.
    with pytest.raises(AuthenticationRequired):
        Tokens(SECRET, 3600).verify("Bearer abc.\u00e9\u00e9\u00e9")


def test_a_customer_is_not_an_operator():
    principal = Tokens(SECRET, 3600).verify(bearer(Tokens(SECRET, 3600).issue(ALICE)[0]))
    assert principal.own_account() == "acc-1"
    with pytest.raises(Forbidden):
        principal.require_operator()


def test_a_user_without_an_account_has_no_own_account():
    operator = ALICE.model_copy(update={"account_id": None, "role": "operator"})
    tokens = Tokens(SECRET, 3600)
    principal = tokens.verify(bearer(tokens.issue(operator)[0]))
    principal.require_operator()
    with pytest.raises(NotFound):
        principal.own_account()


# -- idempotency fingerprint --------------------------------------------------------------


def test_the_same_request_has_the_same_fingerprint_whatever_the_key_order():
    assert fingerprint("POST", "/orders", {"a": 1, "b": [1, 2]}) == fingerprint(
        "POST", "/orders", {"b": [1, 2], "a": 1}
    )


@pytest.mark.parametrize(
    "other",
    [
        ("POST", "/orders", {"a": 2}),
        ("POST", "/invoices", {"a": 1}),
        ("PUT", "/orders", {"a": 1}),
        ("POST", "/orders", None),
    ],
)
def test_a_different_request_has_a_different_fingerprint(other):
    assert fingerprint("POST", "/orders", {"a": 1}) != fingerprint(*other)
