"""Signing in and out at the gateway: a token stops working at once when it is signed out, and
every token of a user issued before a password reset stops working; revocations made through
another gateway arrive by polling billing; sign-in passes the client's address for throttling
and its refusals answer with their codes (429 with Retry-After)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common import errors as e
from tests.gateway.conftest import ALICE, BOB, REGISTRATION, Gateway, error_of, registered


def me(gw: Gateway, headers: dict[str, str]) -> Any:
    gw.fake.answer("billing", "get_account", {"id": "acc-1"})
    return gw.client.get("/api/v1/account", headers=headers)


def test_a_signed_out_token_stops_working_at_once(gw: Gateway) -> None:
    gw.fake.answer("billing", "revoke_token", None)
    headers = gw.auth(ALICE)
    assert me(gw, headers).status_code == 200

    assert gw.client.post("/api/v1/auth/logout", headers=headers).status_code == 204

    assert error_of(me(gw, headers)) == (401, "authentication_required")
    (call,) = gw.fake.calls_to("billing", "revoke_token")  # billing keeps it for every gateway
    assert isinstance(call.args[0], str) and call.args[1] > time.time()


def test_signing_out_one_token_leaves_the_users_other_tokens_working(gw: Gateway) -> None:
    gw.fake.answer("billing", "revoke_token", None)
    first, second = gw.auth(ALICE), gw.auth(ALICE)
    gw.client.post("/api/v1/auth/logout", headers=first)
    assert me(gw, second).status_code == 200


def test_a_password_reset_ends_every_earlier_token_of_the_user_only(gw: Gateway) -> None:
    alice, bob = gw.auth(ALICE), gw.auth(BOB)
    gw.fake.answer("billing", "reset_password", ALICE.wire())
    time.sleep(0.002)

    answer = gw.client.post("/api/v1/auth/password-reset/confirm",
                            json={"token": "t" * 43, "password": "a-brand-new-secret-9"})

    assert answer.status_code == 204
    assert error_of(me(gw, alice)) == (401, "authentication_required")
    assert me(gw, bob).status_code == 200
    time.sleep(0.002)
    assert me(gw, gw.auth(ALICE)).status_code == 200  # signing in again works


def test_revocations_made_elsewhere_are_learnt_from_billing(gw: Gateway) -> None:
    headers = gw.auth(ALICE)
    token_id = gw.app.state.tokens.verify(headers["Authorization"]).token_id
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    gw.fake.answer("billing", "revocations", {"items": [
        {"subject": f"token:{token_id}", "not_before": datetime.now(UTC).isoformat(),
         "expires_at": later}], "cursor": 7})

    feed = gw.app.state.revocations  # polls every REVOCATION_POLL_SECONDS (1 s)
    deadline = time.monotonic() + 5
    while me(gw, headers).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)

    assert error_of(me(gw, headers)) == (401, "authentication_required")
    assert feed.cursor == 7


def test_sign_in_passes_the_client_address_for_throttling(gw: Gateway) -> None:
    gw.fake.answer("billing", "authenticate", ALICE.wire())
    answer = gw.client.post("/api/v1/auth/login", headers=gw.from_host("192.0.2.9"),
                            json={"email": "alice@example.com", "password": "x" * 12})
    assert answer.status_code == 200
    assert set(answer.json()) >= {"token", "expires_at", "account_id", "role"}
    (call,) = gw.fake.calls_to("billing", "authenticate")
    assert call.args == ("alice@example.com", "x" * 12, "192.0.2.9")


def test_too_many_attempts_is_429_with_retry_after(gw: Gateway) -> None:
    gw.fake.answer("billing", "authenticate", e.TooManyAttempts(details={"retry_after": 1234}))
    answer = gw.client.post("/api/v1/auth/login", json={"email": "a@b.se", "password": "x"})
    assert error_of(answer) == (429, "too_many_attempts")
    assert answer.headers["Retry-After"] == "1234"


def test_an_unverified_address_is_403_email_not_verified(gw: Gateway) -> None:
    gw.fake.answer("billing", "authenticate", e.EmailNotVerified())
    answer = gw.client.post("/api/v1/auth/login", json={"email": "a@b.se", "password": "x"})
    assert error_of(answer) == (403, "email_not_verified")


def test_registration_answers_201_with_ids_only(gw: Gateway) -> None:
    gw.fake.answer("billing", "register_account", registered())
    answer = gw.client.post("/api/v1/auth/register", json=REGISTRATION)
    assert (answer.status_code, answer.json()) == (201, registered())


def test_registration_needs_a_country(gw: Gateway) -> None:
    body = {k: v for k, v in REGISTRATION.items() if k != "country"}
    assert error_of(gw.client.post("/api/v1/auth/register", json=body)) == (422, "validation_error")


def test_a_bad_verification_token_is_400_token_invalid(gw: Gateway) -> None:
    gw.fake.answer("billing", "verify_email", e.TokenInvalid())
    answer = gw.client.post("/api/v1/auth/verify", json={"token": "nope"})
    assert error_of(answer) == (400, "token_invalid")


def test_verification_mail_and_password_reset_answer_202_whatever_the_address(gw: Gateway) -> None:
    gw.fake.answer("billing", "send_verification_mail", None)
    gw.fake.answer("billing", "request_password_reset", None)
    for path in ("/api/v1/auth/verification-mail", "/api/v1/auth/password-reset"):
        answer = gw.client.post(path, json={"email": "nobody@example.com"})
        assert (answer.status_code, answer.content) == (202, b"")


def test_a_rejected_password_is_422_password_rejected(gw: Gateway) -> None:
    gw.fake.answer("billing", "reset_password", e.PasswordRejected("too common", {"field": "password"}))
    answer = gw.client.post("/api/v1/auth/password-reset/confirm",
                            json={"token": "t", "password": "password1234"})
    assert error_of(answer) == (422, "password_rejected")
