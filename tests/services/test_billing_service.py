"""Billing's decisions through its entrypoints: a charge is keyed by its order and answers every
repeat with its first outcome (a refusal included, even after a top-up), registration is keyed
by the request, and authentication costs one password check whether the address exists or not."""

import json
import uuid

import pytest
from service_fakes import Service
from sqlalchemy import func, select

from services.billing import domain
from services.billing.models import JournalEntry, User
from services.billing.service import BillingService
from services.common.errors import (
    EmailAlreadyRegistered,
    InsufficientFunds,
    InvalidCredentials,
    PaymentConflict,
)

PASSWORD = "long-enough-password"


@pytest.fixture
def billing_db(service_database):
    return service_database("billing")


@pytest.fixture
def ledger(billing_db, outbox, settings) -> Service:
    return Service(BillingService, billing_db, outbox=outbox, settings=settings)


def registration(email: str = "owner@example.com") -> dict:
    return {"email": email, "password": PASSWORD, "company_name": "Ledger AB"}


def register(ledger, email: str = "owner@example.com") -> str:
    return ledger.register_account(registration(email))["account"]["id"]


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
    assert first.value.details == {"balance": "0.00", "required": "50.00", "currency": "EUR"}
    assert balance(ledger, account_id) == "100.00"
    assert entries_of(billing_db, order_id) == 0
    (refused,) = outbox.of_type("order_charge_refused")
    assert refused.wire()["order_id"] == order_id
    assert refused.wire()["error"]["code"] == "insufficient_funds"
    assert outbox.of_type("order_charged") == []
    assert outbox.types() == ["order_charge_refused", "balance_credited"]


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


def test_registering_with_the_same_request_key_twice_answers_the_same_account(
    ledger, billing_db, monkeypatch
):
    hashes = count_calls(monkeypatch, "hash_password")

    first = ledger.register_account(registration(), "key-1")
    again = ledger.register_account(registration(), "key-1")

    assert again == first
    assert first["account"]["email"] == "owner@example.com"
    assert first["principal"]["account_id"] == first["account"]["id"]
    assert len(hashes) == 1, "a replayed registration must not hash the password again"
    with billing_db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


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


# -- authentication --------------------------------------------------------------------------------


def count_calls(monkeypatch, name: str) -> list[tuple]:
    """Wrap ``services.billing.domain.<name>`` (the service calls it through
    ``tpool.execute(domain.<name>, ...)``, so the module attribute is what runs)."""
    calls: list[tuple] = []
    real = getattr(domain, name)

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(domain, name, counting)
    return calls


def test_authenticating_an_unknown_address_checks_one_hash_as_a_known_one_does(
    ledger, monkeypatch
):
    register(ledger)
    checks = count_calls(monkeypatch, "password_matches")
    hashes = count_calls(monkeypatch, "hash_password")

    with pytest.raises(InvalidCredentials) as unknown:
        ledger.authenticate("nobody@example.com", PASSWORD)
    unknown_checks = list(checks)
    checks.clear()
    with pytest.raises(InvalidCredentials) as wrong:
        ledger.authenticate("owner@example.com", "wrong-password-1")
    wrong_checks = list(checks)

    assert len(unknown_checks) == 1
    assert unknown_checks[0] == (PASSWORD, domain.UNMATCHABLE_HASH)
    assert len(wrong_checks) == 1
    assert wrong_checks[0][1].startswith("scrypt$")
    assert hashes == []
    assert (unknown.value.code, unknown.value.message) == (wrong.value.code, wrong.value.message)


def test_authenticating_a_known_address_with_its_password_checks_one_hash(ledger, monkeypatch):
    account_id = register(ledger)
    checks = count_calls(monkeypatch, "password_matches")

    principal = ledger.authenticate(" OWNER@example.com", PASSWORD)

    assert principal["account_id"] == account_id
    assert principal["role"] == "customer"
    assert len(checks) == 1
