"""Billing's decisions through its entrypoints: a charge is keyed by its order and answers every
repeat with its first outcome (a refusal included, even after a top-up); registration is keyed
by the request and mails a one-time verification link; authentication costs one password check
whether the address exists or not, is throttled per user and per client, and tells an
unverified owner so only with the right password; a reset link sets a password once and
revokes earlier tokens."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from argon2 import PasswordHasher
from service_fakes import Service
from sqlalchemy import func, select, update

from services.billing import credentials
from services.billing.models import JournalEntry, LoginFailure, User, UserToken
from services.billing.service import BillingService
from services.common.errors import (
    EmailAlreadyRegistered,
    EmailNotVerified,
    InsufficientFunds,
    InvalidCredentials,
    PasswordRejected,
    PaymentConflict,
    TokenInvalid,
    TooManyAttempts,
)

PASSWORD = "long-enough-password"
REGISTRATION_EVENTS = ("mail_requested", "account_registered")


@pytest.fixture
def billing_db(service_database):
    return service_database("billing")


@pytest.fixture
def ledger(billing_db, outbox, settings) -> Service:
    return Service(BillingService, billing_db, outbox=outbox, settings=settings)


def registration(email: str = "owner@example.com") -> dict:
    return {"email": email, "password": PASSWORD, "company_name": "Ledger AB", "country": "SE"}


def register(ledger, email: str = "owner@example.com") -> str:
    return ledger.register_account(registration(email))["account_id"]


def token_in(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


def verified_owner(ledger, outbox, email: str = "owner@example.com") -> str:
    account_id = register(ledger, email)
    mail = [m for m in outbox.of_type("mail_requested") if m.to == email][-1]
    ledger.verify_email(token_in(mail.context["link"]))
    return account_id


def top_up(ledger, account_id: str, amount: str) -> dict:
    return ledger.credit_balance({"account_id": account_id, "amount": amount, "currency": "EUR",
                                  "reference": "bank transfer",
                                  "idempotency_key": uuid.uuid4().hex})


def charge(account_id: str, order_id: str, amount: str) -> dict:
    return {"account_id": account_id, "order_id": order_id, "amount": amount, "currency": "EUR"}


def balance(ledger, account_id: str) -> str:
    return ledger.get_account(account_id)["cash_balance"]["amount"]


def entries_of(billing_db, order_id: str) -> int:
    with billing_db.session() as session:
        return session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.reference == f"order {order_id}")) or 0


# -- charges ---------------------------------------------------------------------------------------


def test_a_refused_charge_is_remembered_even_after_a_top_up(ledger, billing_db, outbox):
    account_id = register(ledger)
    order_id = str(uuid.uuid4())

    with pytest.raises(InsufficientFunds) as first:
        ledger.charge_order(charge(account_id, order_id, "50.00"))
    top_up(ledger, account_id, "100.00")
    with pytest.raises(InsufficientFunds) as again:
        ledger.charge_order(charge(account_id, order_id, "50.00"))

    assert (again.value.message, again.value.details) == (first.value.message,
                                                         first.value.details)
    assert first.value.details == {"wallet": "cash", "balance": "0.00", "required": "50.00",
                                   "currency": "EUR"}
    assert balance(ledger, account_id) == "100.00"
    assert entries_of(billing_db, order_id) == 0
    (refused,) = outbox.of_type("order_charge_refused")
    assert refused.wire()["order_id"] == order_id
    assert refused.wire()["error"]["code"] == "insufficient_funds"
    assert outbox.of_type("order_charged") == []
    assert [t for t in outbox.types() if t not in REGISTRATION_EVENTS] == [
        "order_charge_refused", "balance_credited"]


def test_a_repeated_charge_answers_the_first_result_byte_for_byte_and_charges_once(
    ledger, billing_db, outbox
):
    account_id = register(ledger)
    top_up(ledger, account_id, "100.00")
    order_id = str(uuid.uuid4())

    first = ledger.charge_order(charge(account_id, order_id, "40.00"))
    again = ledger.charge_order(charge(account_id, order_id, "40.00"))

    assert json.dumps(again) == json.dumps(first)
    assert first["amount"] == {"amount": "40.00", "currency": "EUR"}
    assert first["balance"] == {"amount": "60.00", "currency": "EUR"}
    assert balance(ledger, account_id) == "60.00"
    assert entries_of(billing_db, order_id) == 1
    (charged,) = outbox.of_type("order_charged")
    assert charged.wire()["entry"] == first
    assert charged.wire()["order_id"] == order_id


@pytest.mark.parametrize("amount", ["40.01", "39.99"])
def test_a_repeated_charge_with_a_different_amount_is_a_payment_conflict(ledger, billing_db,
                                                                        outbox, amount):
    account_id = register(ledger)
    top_up(ledger, account_id, "100.00")
    order_id = str(uuid.uuid4())
    ledger.charge_order(charge(account_id, order_id, "40.00"))

    with pytest.raises(PaymentConflict):
        ledger.charge_order(charge(account_id, order_id, amount))

    assert balance(ledger, account_id) == "60.00"
    assert entries_of(billing_db, order_id) == 1
    assert len(outbox.of_type("order_charged")) == 1


def test_a_repeated_charge_of_another_account_is_a_payment_conflict(ledger, outbox):
    payer, other = register(ledger, "payer@example.com"), register(ledger, "other@example.com")
    top_up(ledger, payer, "100.00")
    top_up(ledger, other, "100.00")
    order_id = str(uuid.uuid4())
    ledger.charge_order(charge(payer, order_id, "40.00"))

    with pytest.raises(PaymentConflict):
        ledger.charge_order(charge(other, order_id, "40.00"))

    assert balance(ledger, other) == "100.00"


# -- registration ----------------------------------------------------------------------------------


def test_registering_with_the_same_request_key_twice_answers_the_same_account_and_mails_once(
    ledger, billing_db, outbox, monkeypatch
):
    hashes = count_calls(monkeypatch, "hash_password")

    first = ledger.register_account(registration(), "key-1")
    again = ledger.register_account(registration(), "key-1")

    assert again == first
    assert set(first) == {"account_id", "user_id"}
    assert len(hashes) == 1, "a replayed registration must not hash the password again"
    with billing_db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
    assert outbox.types() == ["mail_requested", "account_registered"]


def test_a_registered_owner_is_unverified_and_mailed_a_link_in_the_accounts_language(
    ledger, billing_db, outbox
):
    registered = ledger.register_account({**registration(), "language": "sv"})

    with billing_db.session() as session:
        owner = session.get(User, registered["user_id"])
        assert (owner.email_verified_at, owner.account_role) == (None, "owner")
        (stored,) = session.scalars(select(UserToken)).all()
    (mail,) = outbox.of_type("mail_requested")
    assert (mail.to, mail.language, mail.template, mail.sensitive) == (
        "owner@example.com", "sv", "verify_email", True)
    token = token_in(mail.context["link"])
    assert mail.context["link"].startswith("http://127.0.0.1:8000/verify?token=")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert (stored.expires_at - stored.created_at).total_seconds() == 24 * 3600
    (announced,) = outbox.of_type("account_registered")
    assert announced.account.account_id == registered["account_id"]


def test_registering_an_address_again_without_a_key_is_email_already_registered(ledger,
                                                                                billing_db):
    ledger.register_account(registration())

    with pytest.raises(EmailAlreadyRegistered):
        ledger.register_account(registration(" Owner@Example.COM "))

    with billing_db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_registering_an_address_again_with_a_new_key_is_email_already_registered(ledger):
    ledger.register_account(registration(), "key-1")

    with pytest.raises(EmailAlreadyRegistered):
        ledger.register_account(registration(), "key-2")


def test_a_common_password_is_refused_before_anything_is_written(ledger, billing_db, outbox):
    with pytest.raises(PasswordRejected):
        ledger.register_account({**registration(), "password": "password1234"})
    with billing_db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
    assert outbox.events == []


# -- verification ------------------------------------------------------------------------------------


def test_the_mailed_link_verifies_the_address_once(ledger, billing_db, outbox):
    registered = ledger.register_account(registration())
    token = token_in(outbox.of_type("mail_requested")[0].context["link"])

    verified = ledger.verify_email(token)

    assert verified["user_id"] == registered["user_id"]
    with pytest.raises(TokenInvalid):
        ledger.verify_email(token)
    (announced,) = outbox.of_type("email_verified")
    assert announced.user_id == registered["user_id"]


@pytest.mark.parametrize("token", ["", "x", "A" * 43])
def test_a_wrong_token_verifies_nothing(ledger, token):
    ledger.register_account(registration())
    with pytest.raises(TokenInvalid):
        ledger.verify_email(token)


def test_an_expired_link_verifies_nothing(ledger, billing_db, outbox):
    ledger.register_account(registration())
    token = token_in(outbox.of_type("mail_requested")[0].context["link"])
    with billing_db.session() as session:
        session.execute(update(UserToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()

    with pytest.raises(TokenInvalid):
        ledger.verify_email(token)


def test_a_new_verification_mail_retires_the_earlier_link(ledger, outbox):
    ledger.register_account(registration())
    first = token_in(outbox.of_type("mail_requested")[0].context["link"])

    ledger.send_verification_mail(" OWNER@example.com")

    second = token_in(outbox.of_type("mail_requested")[1].context["link"])
    with pytest.raises(TokenInvalid):
        ledger.verify_email(first)
    ledger.verify_email(second)


def test_a_verification_mail_for_an_unknown_or_verified_address_sends_nothing(ledger, outbox):
    verified_owner(ledger, outbox)
    before = len(outbox.events)

    ledger.send_verification_mail("owner@example.com")
    ledger.send_verification_mail("nobody@example.com")

    assert len(outbox.events) == before


def test_at_most_five_verification_mails_an_hour(ledger, outbox):
    ledger.register_account(registration())  # the first
    for _ in range(10):
        ledger.send_verification_mail("owner@example.com")
    assert len(outbox.of_type("mail_requested")) == 5


# -- authentication --------------------------------------------------------------------------------


def count_calls(monkeypatch, name: str) -> list[tuple]:
    """Wrap ``services.billing.credentials.<name>`` (the service calls it through
    ``tpool.execute(credentials.<name>, ...)``, so the module attribute is what runs)."""
    calls: list[tuple] = []
    real = getattr(credentials, name)

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(credentials, name, counting)
    return calls


def test_authenticating_an_unknown_address_checks_one_hash_as_a_known_one_does(
    ledger, outbox, monkeypatch
):
    verified_owner(ledger, outbox)
    checks = count_calls(monkeypatch, "verify_password")
    hashes = count_calls(monkeypatch, "hash_password")

    with pytest.raises(InvalidCredentials) as unknown:
        ledger.authenticate("nobody@example.com", PASSWORD)
    unknown_checks = list(checks)
    checks.clear()
    with pytest.raises(InvalidCredentials) as wrong:
        ledger.authenticate("owner@example.com", "wrong-password-1")
    wrong_checks = list(checks)

    assert unknown_checks == [(PASSWORD, credentials.DUMMY_HASH)]
    assert len(wrong_checks) == 1
    assert wrong_checks[0][1].startswith("$argon2id$")
    assert hashes == []
    assert (unknown.value.code, unknown.value.message) == (wrong.value.code, wrong.value.message)


def test_authenticating_a_verified_owner_with_its_password_checks_one_hash(
    ledger, outbox, monkeypatch
):
    account_id = verified_owner(ledger, outbox)
    checks = count_calls(monkeypatch, "verify_password")

    principal = ledger.authenticate(" OWNER@example.com", PASSWORD)

    assert principal["account_id"] == account_id
    assert principal["role"] == "customer"
    assert len(checks) == 1


def test_an_unverified_owner_hears_so_only_with_the_right_password(ledger):
    ledger.register_account(registration())

    with pytest.raises(InvalidCredentials):
        ledger.authenticate("owner@example.com", "wrong-password-1")
    with pytest.raises(EmailNotVerified):
        ledger.authenticate("owner@example.com", PASSWORD)


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(ledger, billing_db, outbox):
    verified_owner(ledger, outbox)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with billing_db.session() as session:
        session.execute(update(User).values(password_hash=weak))
        session.commit()

    ledger.authenticate("owner@example.com", PASSWORD)

    with billing_db.session() as session:
        stored = session.scalar(select(User.password_hash))
    assert stored != weak and not credentials.verify_password(PASSWORD, stored)[1]


@pytest.fixture
def strict(billing_db, outbox, settings) -> Service:
    """Billing allowing 3 failed sign-ins a minute."""
    limited = settings.model_copy(update={"login_failure_limit": 3,
                                          "login_failure_window_seconds": 60})
    return Service(BillingService, billing_db, outbox=outbox, settings=limited)


def test_the_fourth_failure_in_the_window_is_too_many_attempts_with_retry_after(strict, outbox):
    verified_owner(strict, outbox)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            strict.authenticate("owner@example.com", "wrong-password-1", "192.0.2.1")

    with pytest.raises(TooManyAttempts) as throttled:
        strict.authenticate("owner@example.com", PASSWORD, "198.51.100.7")  # right, other client
    assert 0 < throttled.value.details["retry_after"] <= 60


def test_failures_from_one_client_throttle_it_for_every_address(strict, outbox):
    verified_owner(strict, outbox)
    for n in range(3):
        with pytest.raises(InvalidCredentials):
            strict.authenticate(f"nobody-{n}@example.com", "wrong-password-1", "192.0.2.1")

    with pytest.raises(TooManyAttempts):
        strict.authenticate("owner@example.com", PASSWORD, "192.0.2.1")
    assert strict.authenticate("owner@example.com", PASSWORD, "198.51.100.7")["role"] == "customer"


def test_the_owner_signs_in_again_once_the_failures_leave_the_window(strict, billing_db, outbox):
    verified_owner(strict, outbox)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            strict.authenticate("owner@example.com", "wrong-password-1", "192.0.2.1")
    with billing_db.session() as session:  # the window passes
        for failure in session.scalars(select(LoginFailure)):
            failure.at -= timedelta(seconds=61)
        session.commit()

    assert strict.authenticate("owner@example.com", PASSWORD, "192.0.2.1")["role"] == "customer"


# -- password reset and sign-out ---------------------------------------------------------------


def test_a_password_reset_link_sets_the_password_once_and_revokes_earlier_tokens(ledger, outbox):
    verified_owner(ledger, outbox)
    ledger.request_password_reset("owner@example.com")
    (mail,) = outbox.of_type("mail_requested")[1:]
    assert (mail.template, mail.sensitive) == ("reset_password", True)
    assert mail.context["link"].startswith("http://127.0.0.1:8000/reset-password?token=")
    token = token_in(mail.context["link"])

    who = ledger.reset_password(token, "a-brand-new-secret-9")

    with pytest.raises(TokenInvalid):
        ledger.reset_password(token, "another-new-secret-9")
    with pytest.raises(InvalidCredentials):
        ledger.authenticate("owner@example.com", PASSWORD)
    ledger.authenticate("owner@example.com", "a-brand-new-secret-9")
    revoked = ledger.revocations(0)["items"]
    assert [r["subject"] for r in revoked] == [f"user:{who['user_id']}"]


def test_a_reset_with_a_common_password_keeps_the_link_usable(ledger, outbox):
    verified_owner(ledger, outbox)
    ledger.request_password_reset("owner@example.com")
    token = token_in(outbox.of_type("mail_requested")[-1].context["link"])

    with pytest.raises(PasswordRejected):
        ledger.reset_password(token, "password1234")
    ledger.reset_password(token, "a-brand-new-secret-9")


def test_a_reset_for_an_unknown_address_sends_nothing(ledger, outbox):
    ledger.request_password_reset("nobody@example.com")
    assert outbox.events == []


def test_revocations_are_read_after_a_cursor(ledger):
    ledger.revoke_token("token-1", 2_000_000_000)
    first = ledger.revocations(0)
    ledger.revoke_token("token-2", 2_000_000_000)
    later = ledger.revocations(first["cursor"])

    assert [r["subject"] for r in first["items"]] == ["token:token-1"]
    assert "token:token-2" in [r["subject"] for r in later["items"]]
    assert later["cursor"] > first["cursor"]


def test_an_expired_revocation_is_not_read(ledger):
    ledger.revoke_token("old", int(datetime.now(UTC).timestamp()) - 1)
    assert ledger.revocations(0)["items"] == []
