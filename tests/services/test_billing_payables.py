"""Payment invoices as billing takes payments for them (opened and voided by the invoicing
service's events): a wire quoting a payment invoice's number or wire reference pays it, in full
or in part, and what is paid above what remains goes to the cash wallet; a card pays what
remains; money paying a claim never passes through the cash wallet; an advance invoice's money
does; paying an overdue invoice in full lifts the arrears; voiding a claim gives back what was
paid as cash; the ledger's receivables always equal what remains on open claims."""

from __future__ import annotations

import base64
import uuid
from datetime import date, timedelta
from pathlib import Path
from string import Template

import pytest
from service_fakes import Service

from services.billing import ledger_check
from services.billing.profile import rf_reference
from services.billing.service import BillingService
from services.common.contracts import (
    MoneyOut,
    PaymentInvoiceOpened,
    PaymentInvoiceOverdue,
    PaymentInvoiceVoided,
)
from services.common.errors import InvalidRequest, NotFound, PaymentInvoiceNotOpen

DATA = Path(__file__).resolve().parent.parent / "data"
SELLER_IBAN = "SE4550000000058398257466"


@pytest.fixture
def database(service_database):
    return service_database("billing")


@pytest.fixture
def billing(database, outbox, settings) -> Service:
    return Service(BillingService, database, outbox=outbox, settings=settings)


def account(billing) -> str:
    return billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-password",
        "company_name": "Payable AB", "country": "SE"})["account_id"]


def opened(billing, account_id: str, total: str, *, claim: bool = True,
           spaced_reference: bool = False) -> PaymentInvoiceOpened:
    """The invoicing service's event for a new payment invoice, delivered to billing."""
    reference = rf_reference(uuid.uuid4().int % 10**12)
    evt = PaymentInvoiceOpened(
        payment_invoice_id=str(uuid.uuid4()), account_id=account_id,
        number=f"PI-2026-{uuid.uuid4().int % 10**6:06d}", wire_reference=reference,
        total=MoneyOut(amount=total, currency="EUR"), due_on=date.today() + timedelta(days=14),
        claim=claim)
    billing.on_payment_invoice_opened(evt.wire())
    return evt


def spaced(reference: str) -> str:
    return " ".join(reference[i:i + 4] for i in range(0, len(reference), 4))


def statement(**values: str) -> str:
    raw = Template((DATA / "camt053_v02_payment_invoices.xml").read_text()).substitute(
        STATEMENT=uuid.uuid4().hex[:10], IBAN=SELLER_IBAN, **values)
    return base64.b64encode(raw.encode()).decode()


def cash(billing, account_id: str) -> str:
    return billing.get_account(account_id)["cash_balance"]["amount"]


def payable(billing, evt: PaymentInvoiceOpened) -> tuple[str, str, str]:
    shown = billing.get_payable(evt.payment_invoice_id)
    return shown["status"], shown["paid"]["amount"], shown["remaining"]["amount"]


def whole(database) -> list[str]:
    with database.session() as session:
        return list(ledger_check.problems(session))


def test_a_statement_pays_payment_invoices_in_full_in_part_and_above_what_they_ask(
    billing, database, outbox
):
    account_id = account(billing)
    full, partial, over = (opened(billing, account_id, total) for total in ("250.00", "300.00", "50.00"))
    advance = opened(billing, account_id, "40.00", claim=False)

    counts = billing.import_bank_statement(statement(
        FULL_NUMBER=full.number, PARTIAL_REFERENCE=spaced(partial.wire_reference),
        OVER_NUMBER=over.number, ADVANCE_NUMBER=advance.number), "op")

    assert (counts["matched"], counts["unmatched"]) == (4, 0)
    assert payable(billing, full) == ("paid", "250.00", "0.00")
    assert payable(billing, partial) == ("open", "100.00", "200.00")
    assert payable(billing, over) == ("paid", "50.00", "0.00")
    assert payable(billing, advance) == ("paid", "40.00", "0.00")
    assert cash(billing, account_id) == "70.00"  # the 30.00 too much and the advance's 40.00
    received = {e.payable.number: (e.applied.amount, e.entry.cash.amount if e.entry.cash else None)
                for e in outbox.of_type("payment_received")}
    assert {k: (str(a), str(c)) for k, (a, c) in received.items()} == {
        full.number: ("250.00", "0.00"), partial.number: ("100.00", "0.00"),
        over.number: ("50.00", "30.00"), advance.number: ("40.00", "40.00")}
    assert whole(database) == []


def test_money_paying_a_claim_never_passes_through_the_cash_wallet(billing):
    account_id = account(billing)
    claim = opened(billing, account_id, "250.00")
    billing.import_bank_statement(statement(FULL_NUMBER=claim.number, PARTIAL_REFERENCE="none",
                                            OVER_NUMBER="none", ADVANCE_NUMBER="none"), "op")
    assert cash(billing, account_id) == "0.00"
    assert [line["kind"] for line in billing.ledger(account_id)["items"]] == []


def test_a_statement_imported_twice_pays_each_invoice_once(billing, database):
    account_id = account(billing)
    partial = opened(billing, account_id, "300.00")
    content = statement(FULL_NUMBER="x", PARTIAL_REFERENCE=partial.wire_reference,
                        OVER_NUMBER="x", ADVANCE_NUMBER="x")
    billing.import_bank_statement(content, "op")
    again = billing.import_bank_statement(content, "op")
    assert again["duplicates"] == 4
    assert payable(billing, partial) == ("open", "100.00", "200.00")
    assert whole(database) == []


def test_a_card_pays_what_remains_on_a_payment_invoice(billing, database, outbox):
    account_id = account(billing)
    partial = opened(billing, account_id, "300.00")
    billing.import_bank_statement(statement(FULL_NUMBER="x", PARTIAL_REFERENCE=partial.wire_reference,
                                            OVER_NUMBER="x", ADVANCE_NUMBER="x"), "op")

    payment = billing.create_card_payment(account_id, None, None, "k1", partial.payment_invoice_id)
    assert (payment["amount"]["amount"], payment["payment_invoice_id"]) == (
        "200.00", partial.payment_invoice_id)
    billing.settle_card_payment(payment["id"], "succeeded")
    billing.settle_card_payment(payment["id"], "succeeded")  # the callback again

    assert payable(billing, partial) == ("paid", "300.00", "0.00")
    assert cash(billing, account_id) == "0.00"
    card = [e for e in outbox.of_type("payment_received") if e.method == "card"]
    assert [(e.payable.status, str(e.applied.amount)) for e in card] == [("paid", "200.00")]
    with pytest.raises(PaymentInvoiceNotOpen):
        billing.create_card_payment(account_id, None, None, None, partial.payment_invoice_id)
    assert whole(database) == []


def test_a_card_payment_arriving_after_a_wire_paid_the_invoice_goes_to_the_cash_wallet(billing):
    account_id = account(billing)
    claim = opened(billing, account_id, "250.00")
    payment = billing.create_card_payment(account_id, None, None, None, claim.payment_invoice_id)
    billing.import_bank_statement(statement(FULL_NUMBER=claim.number, PARTIAL_REFERENCE="x",
                                            OVER_NUMBER="x", ADVANCE_NUMBER="x"), "op")

    billing.settle_card_payment(payment["id"], "succeeded")

    assert payable(billing, claim) == ("paid", "250.00", "0.00")
    assert cash(billing, account_id) == "250.00"


def test_another_accounts_payment_invoice_cannot_be_paid_by_card(billing):
    claim = opened(billing, account(billing), "10.00")
    with pytest.raises(NotFound):
        billing.create_card_payment(account(billing), None, None, None, claim.payment_invoice_id)
    with pytest.raises(NotFound):
        billing.get_payable(claim.payment_invoice_id, account(billing))


def test_paying_an_overdue_payment_invoice_in_full_lifts_the_arrears_at_once(billing, outbox):
    account_id = account(billing)
    claim = opened(billing, account_id, "250.00")
    billing.on_payment_invoice_overdue(PaymentInvoiceOverdue(
        payment_invoice_id=claim.payment_invoice_id, account_id=account_id,
        amount_due=MoneyOut(amount="250.00", currency="EUR")).wire())
    assert billing.get_standing(account_id)["in_arrears"] is True

    billing.import_bank_statement(statement(FULL_NUMBER=claim.number, PARTIAL_REFERENCE="x",
                                            OVER_NUMBER="x", ADVANCE_NUMBER="x"), "op")

    assert billing.get_standing(account_id)["in_arrears"] is False
    assert [c.standing.in_arrears for c in outbox.of_type("arrears_changed")] == [True, False]


def test_voiding_a_claim_gives_back_what_was_paid_as_cash_and_owes_nothing_more(billing, database):
    account_id = account(billing)
    partial = opened(billing, account_id, "300.00")
    billing.import_bank_statement(statement(FULL_NUMBER="x", PARTIAL_REFERENCE=partial.wire_reference,
                                            OVER_NUMBER="x", ADVANCE_NUMBER="x"), "op")
    voided = PaymentInvoiceVoided(payment_invoice_id=partial.payment_invoice_id,
                                  account_id=account_id).wire()

    billing.on_payment_invoice_voided(voided)
    billing.on_payment_invoice_voided(voided)  # a redelivery

    assert payable(billing, partial) == ("void", "100.00", "0.00")
    assert cash(billing, account_id) == "100.00"
    assert whole(database) == []


def test_a_payment_invoice_opened_twice_is_one(billing, database):
    account_id = account(billing)
    claim = opened(billing, account_id, "250.00")
    billing.on_payment_invoice_opened(claim.wire())
    billing.on_payment_invoice_opened(claim.model_copy(update={"event_id": "another"}).wire())
    assert payable(billing, claim) == ("open", "0.00", "250.00")
    assert whole(database) == []


def test_an_operator_matches_an_unmatched_credit_to_a_payment_invoice(billing, database):
    account_id = account(billing)
    claim = opened(billing, account_id, "280.00")
    billing.import_bank_statement(statement(FULL_NUMBER="nobody", PARTIAL_REFERENCE="x",
                                            OVER_NUMBER="x", ADVANCE_NUMBER="x"), "op")
    waiting = {t["amount"]["amount"]: t for t in
               billing.list_bank_transactions("unmatched")["items"]}

    matched = billing.match_bank_transaction(waiting["250.00"]["id"], None, "op",
                                             claim.payment_invoice_id)
    again = billing.match_bank_transaction(waiting["250.00"]["id"], None, "op",
                                           claim.payment_invoice_id)

    assert matched == again
    assert (matched["status"], matched["payment_invoice_id"], matched["account_id"]) == (
        "matched", claim.payment_invoice_id, account_id)
    assert payable(billing, claim) == ("open", "250.00", "30.00")
    with pytest.raises(InvalidRequest):
        billing.match_bank_transaction(waiting["100.00"]["id"], account_id, "op",
                                       claim.payment_invoice_id)
    assert whole(database) == []


def test_the_ledger_check_names_receivables_that_disagree_with_open_invoices(billing, database):
    from services.billing.models import Payable

    account_id = account(billing)
    claim = opened(billing, account_id, "250.00")
    with database.session() as session:
        session.get(Payable, claim.payment_invoice_id).paid_minor = 100
        session.commit()
    (problem,) = whole(database)
    assert problem.startswith(f"receivables of {account_id}: 25000 EUR owed in the ledger")
