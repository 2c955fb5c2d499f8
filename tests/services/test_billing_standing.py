"""Standing through billing's entrypoints: a postpaid account may order down to minus its
credit limit and is then in arrears; a payment invoice reported overdue puts an account in
arrears until it is settled; every change is announced (``arrears_changed``, rising versions);
the statement gives opening and closing balances of a period; operators find accounts."""

import uuid
from datetime import UTC, datetime

import pytest
from service_fakes import Service

from services.billing.service import BillingService
from services.common.contracts import MoneyOut, PaymentInvoiceOverdue, PaymentInvoiceSettled
from services.common.errors import InsufficientFunds, InvalidRequest


@pytest.fixture
def billing(service_database, outbox, settings) -> Service:
    return Service(BillingService, service_database("billing"), outbox=outbox, settings=settings)


def account(billing, name: str = "Standing AB", number: str | None = None) -> str:
    return billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-password",
        "company_name": name, "country": "SE", "organisation_number": number})["account_id"]


def charge(billing, account_id: str, amount: str) -> dict:
    return billing.charge_order({"account_id": account_id, "order_id": str(uuid.uuid4()),
                                 "amount": amount, "currency": "EUR"})


def top_up(billing, account_id: str, amount: str) -> None:
    billing.credit_balance({"account_id": account_id, "amount": amount, "currency": "EUR",
                            "reference": "wire", "idempotency_key": uuid.uuid4().hex})


def test_a_postpaid_account_orders_down_to_its_credit_limit_and_is_then_in_arrears(billing, outbox):
    account_id = account(billing)
    billing.set_credit_limit(account_id, "100.00", "EUR")

    charge(billing, account_id, "60.00")
    with pytest.raises(InsufficientFunds) as refused:
        charge(billing, account_id, "40.01")

    assert refused.value.details["credit_limit"] == "100.00"
    standing = billing.get_standing(account_id)
    assert (standing["cash_balance"]["amount"], standing["in_arrears"],
            standing["arrears_amount"]["amount"]) == ("-60.00", True, "60.00")
    assert billing.get_account(account_id)["in_arrears"] is True
    (changed,) = outbox.of_type("arrears_changed")
    assert (changed.standing.in_arrears, changed.standing.version) == (True, 1)


def test_paying_the_debt_takes_the_account_out_of_arrears_and_says_so(billing, outbox):
    account_id = account(billing)
    billing.set_credit_limit(account_id, "100.00", "EUR")
    charge(billing, account_id, "60.00")

    top_up(billing, account_id, "25.00")
    top_up(billing, account_id, "35.00")

    assert billing.get_standing(account_id)["in_arrears"] is False
    changes = outbox.of_type("arrears_changed")
    assert [(c.standing.in_arrears, c.standing.arrears_amount.amount, c.standing.version)
            for c in changes] == [(True, 60, 1), (True, 35, 2), (False, 0, 3)]


def test_a_prepaid_account_movement_in_credit_announces_nothing(billing, outbox):
    account_id = account(billing)
    top_up(billing, account_id, "50.00")
    charge(billing, account_id, "10.00")
    assert outbox.of_type("arrears_changed") == []


def overdue(account_id: str, invoice: str, amount: str) -> dict:
    return PaymentInvoiceOverdue(payment_invoice_id=invoice, account_id=account_id,
                                 amount_due=MoneyOut(amount=amount, currency="EUR")).wire()


def test_an_overdue_payment_invoice_is_arrears_until_it_is_settled(billing, outbox):
    account_id = account(billing)
    top_up(billing, account_id, "500.00")
    reported = overdue(account_id, "pi-1", "120.00")

    billing.on_payment_invoice_overdue(reported)
    billing.on_payment_invoice_overdue(reported)  # a redelivery

    standing = billing.get_standing(account_id)
    assert (standing["in_arrears"], standing["arrears_amount"]["amount"],
            standing["overdue_invoices"]["amount"]) == (True, "120.00", "120.00")
    billing.on_payment_invoice_settled(PaymentInvoiceSettled(payment_invoice_id="pi-1",
                                                             account_id=account_id).wire())
    assert billing.get_standing(account_id)["in_arrears"] is False
    assert [c.standing.in_arrears for c in outbox.of_type("arrears_changed")] == [True, False]


def test_a_credit_limit_is_never_negative(billing):
    with pytest.raises(InvalidRequest):
        billing.set_credit_limit(account(billing), "-1.00", "EUR")


def test_the_statement_gives_the_period_its_opening_and_closing_balance(billing):
    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    charge(billing, account_id, "30.00")
    today = datetime.now(UTC).date().isoformat()

    whole = billing.statement(account_id, today, today)
    before = billing.statement(account_id, None, "2000-01-01")

    assert (whole["opening_balance"]["amount"], whole["closing_balance"]["amount"]) == ("0.00", "70.00")
    assert [line["kind"] for line in whole["items"]] == ["top_up", "order_charge"]
    assert (before["closing_balance"]["amount"], before["items"]) == ("0.00", [])
    first = billing.statement(account_id, today, today, 1)
    rest = billing.statement(account_id, today, today, 1, first["next_cursor"])
    assert [line["kind"] for line in first["items"] + rest["items"]] == ["top_up", "order_charge"]


def test_operators_find_accounts_by_name_email_or_number(billing):
    wanted = account(billing, "Findme 100% AB", "556677-1234")
    account(billing, "Other AB")
    assert [a["id"] for a in billing.search_accounts("findme 100%")["items"]] == [wanted]
    assert [a["id"] for a in billing.search_accounts("677-12")["items"]] == [wanted]
    assert billing.search_accounts("_")["items"] == []  # a wildcard is a plain character
    assert len(billing.search_accounts(None)["items"]) == 2


def test_a_clock_stepping_back_cannot_date_a_movement_before_the_wallets_last_one(billing, monkeypatch):
    """The wallet's latest posting is its balance, so its postings never go back in time;
    movements at one instant page through a statement each once, in order."""
    import services.billing.repository as repository

    account_id = account(billing)
    top_up(billing, account_id, "100.00")
    monkeypatch.setattr(repository, "utcnow", lambda: datetime(2020, 1, 1, tzinfo=UTC))
    for amount in ("1.00", "2.00", "3.00"):
        charge(billing, account_id, amount)

    today = datetime.now(UTC).date().isoformat()
    seen, cursor = [], None
    while True:
        page = billing.statement(account_id, today, today, 1, cursor)
        seen += [line["amount"]["amount"] for line in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == ["100.00", "-1.00", "-2.00", "-3.00"]
    shown = billing.get_account(account_id)["cash_balance"]["amount"]
    assert page["closing_balance"]["amount"] == shown == "94.00"
    assert billing.statement(account_id, None, "2020-01-01")["closing_balance"]["amount"] == "0.00"
