"""The billing ledger on PostgreSQL: balances come from postings, charges cannot overdraw even
when they race, and retried charges have the effect of one."""

import base64
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from string import Template

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing import ledger_check
from services.billing.models import Posting
from services.billing.profile import rf_reference
from services.billing.service import BillingService
from services.common import testing
from services.common.contracts import MoneyOut, PaymentInvoiceOpened
from services.common.db import make_engine
from services.common.errors import BusinessError, InsufficientFunds, NotFound, PaymentConflict


def register(rpc) -> str:
    created = rpc.billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-pw", "country": "SE",
        "company_name": "Race AB",
    })
    return created["account_id"]


def credit(rpc, account_id: str, amount: str) -> None:
    rpc.billing.credit_balance({"account_id": account_id, "amount": amount, "currency": "EUR",
                                "reference": "test", "idempotency_key": uuid.uuid4().hex})


def charge(rpc, account_id: str, amount: str, order_id: str | None = None,
           method: str = "balance") -> dict:
    return rpc.billing.charge_order({"account_id": account_id, "order_id": order_id or uuid.uuid4().hex,
                                     "amount": amount, "currency": "EUR", "payment_method": method})


def give_voucher(rpc, account_id: str, amount: str) -> None:
    code = rpc.billing.create_voucher({"amount": amount, "currency": "EUR",
                                       "expires_on": "2999-12-31", "created_by": "test"})["code"]
    rpc.billing.redeem_voucher(account_id, code)


def test_concurrent_charges_cannot_overdraw_the_cash_balance(run_services, rpc, rpc_factory):
    run_services(BillingService)
    account_id = register(rpc)
    credit(rpc, account_id, "100.00")

    def attempt(_: int) -> str:
        try:
            charge(rpc_factory(), account_id, "30.00")
            return "charged"
        except InsufficientFunds:
            return "refused"

    outcomes = list(eventlet.GreenPool(8).imap(attempt, range(8)))
    assert outcomes.count("charged") == 3
    assert outcomes.count("refused") == 5
    assert rpc.billing.get_account(account_id)["cash_balance"]["amount"] == "10.00"


def test_concurrent_voucher_and_split_charges_overdraw_neither_wallet(run_services, rpc, rpc_factory,
                                                                      database_urls):
    run_services(BillingService)
    account_id = register(rpc)
    credit(rpc, account_id, "50.00")
    give_voucher(rpc, account_id, "40.00")
    methods = ["voucher", "balance+voucher", "balance"] * 4

    def attempt(method: str) -> tuple[str, int, int]:
        try:
            paid = charge(rpc_factory(), account_id, "15.00", method=method)
        except InsufficientFunds:
            return method, 0, 0
        return method, -int(Decimal(paid["cash"]["amount"]) * 100), -int(
            Decimal(paid["voucher"]["amount"]) * 100)

    outcomes = list(eventlet.GreenPool(12).imap(attempt, methods))
    shown = rpc.billing.get_account(account_id)
    cash, voucher = shown["cash_balance"]["amount"], shown["voucher_balance"]["amount"]
    assert Decimal(cash) >= 0 and Decimal(voucher) >= 0
    assert 5000 - sum(o[1] for o in outcomes) == int(Decimal(cash) * 100)
    assert 4000 - sum(o[2] for o in outcomes) == int(Decimal(voucher) * 100)
    assert sum(o[1] + o[2] for o in outcomes) >= 6000  # 90.00 held: at least four charges went
    engine = make_engine(database_urls["billing"])
    with Session(engine) as session:
        assert list(ledger_check.problems(session)) == []
    engine.dispose()


def test_charging_the_same_order_twice_concurrently_charges_once(run_services, rpc, rpc_factory):
    run_services(BillingService)
    account_id = register(rpc)
    credit(rpc, account_id, "100.00")
    order_id = uuid.uuid4().hex
    entries = list(eventlet.GreenPool(5).imap(
        lambda _: charge(rpc_factory(), account_id, "40.00", order_id)["entry_id"], range(5)))
    assert len(set(entries)) == 1
    assert rpc.billing.get_account(account_id)["cash_balance"]["amount"] == "60.00"


def test_a_charge_replayed_with_a_different_amount_is_a_conflict(run_services, rpc):
    run_services(BillingService)
    account_id = register(rpc)
    credit(rpc, account_id, "100.00")
    order_id = uuid.uuid4().hex
    charge(rpc, account_id, "10.00", order_id)
    with pytest.raises(PaymentConflict):
        charge(rpc, account_id, "11.00", order_id)


def test_every_journal_entry_balances_and_the_balance_is_the_sum_of_postings(
    run_services, rpc, database_urls
):
    run_services(BillingService)
    account_id = register(rpc)
    credit(rpc, account_id, "80.00")
    charge(rpc, account_id, "12.50")
    engine = make_engine(database_urls["billing"])
    with Session(engine) as session:
        unbalanced = session.execute(
            select(Posting.entry_id).group_by(Posting.entry_id, Posting.currency)
            .having(func.sum(Posting.amount_minor) != 0)
        ).all()
        cash = session.scalar(select(func.sum(Posting.amount_minor)).where(
            Posting.account_id == account_id, Posting.book == "customer_cash"))
    engine.dispose()
    assert unbalanced == []
    assert cash == 6750
    assert rpc.billing.get_account(account_id)["cash_balance"]["amount"] == "67.50"


def test_business_errors_arrive_at_the_caller_as_their_own_class(run_services, rpc):
    run_services(BillingService)
    with pytest.raises(NotFound) as raised:
        rpc.billing.get_account("no-such-account")
    assert raised.value.code == "not_found"
    assert raised.value.details == {"account_id": "no-such-account"}


def test_events_nobody_subscribes_to_yet_are_still_published(run_services, rpc, database_urls):
    from services.billing.models import OutboxMessage
    from services.common import testing

    run_services(BillingService)
    account_id = register(rpc)
    credit(rpc, account_id, "5.00")
    engine = make_engine(database_urls["billing"])

    def all_published() -> bool:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.published_at.is_(None))) == 0

    testing.wait_for(all_published, 10, message="the outbox relay is stuck")
    engine.dispose()


def test_one_statement_imported_twice_at_once_credits_once(run_services, rpc, rpc_factory):
    run_services(BillingService)
    account_id = register(rpc)
    reference = rpc.billing.get_account(account_id)["payment_reference"]
    raw = Template((Path(__file__).resolve().parent.parent / "data" / "camt053_v02_sample.xml")
                   .read_text()).substitute(STATEMENT=uuid.uuid4().hex[:10],
                                            IBAN="SE4550000000058398257466",
                                            FREE_TEXT_REFERENCE=reference,
                                            STRUCTURED_REFERENCE="RF18539007547034")
    content = base64.b64encode(raw.encode()).decode()

    results = list(eventlet.GreenPool(4).imap(
        lambda _: rpc_factory().billing.import_bank_statement(content, "op"), range(4)))

    assert sum(r["matched"] for r in results) == 2
    assert sum(r["duplicates"] for r in results) == 3 * 5
    assert rpc.billing.get_account(account_id)["cash_balance"]["amount"] == "130.00"


def test_a_wire_and_a_card_paying_one_payment_invoice_at_once_pay_it_once_and_the_rest_is_cash(
    run_services, rpc, rpc_factory, config, database_urls
):
    run_services(BillingService)
    account_id = register(rpc)
    opened = PaymentInvoiceOpened(
        payment_invoice_id=str(uuid.uuid4()), account_id=account_id,
        number=f"PI-2026-{uuid.uuid4().int % 10**6:06d}",
        wire_reference=rf_reference(uuid.uuid4().int % 10**12),
        total=MoneyOut(amount="250.00", currency="EUR"), due_on=date(2026, 12, 31))
    event_dispatcher(config)(opened.source, opened.type, opened.wire())

    def known() -> bool:
        try:
            return rpc.billing.get_payable(opened.payment_invoice_id)["status"] == "open"
        except NotFound:
            return False

    testing.wait_for(known, 20, message="billing never heard of the payment invoice")
    cards = [rpc.billing.create_card_payment(account_id, None, None, None, opened.payment_invoice_id)
             for _ in range(3)]
    raw = Template((Path(__file__).resolve().parent.parent / "data"
                    / "camt053_v02_payment_invoices.xml").read_text()).substitute(
        STATEMENT=uuid.uuid4().hex[:10], IBAN="SE4550000000058398257466",
        FULL_NUMBER=opened.number, PARTIAL_REFERENCE="-", OVER_NUMBER="-", ADVANCE_NUMBER="-")
    content = base64.b64encode(raw.encode()).decode()

    def pay(way: int) -> None:
        if way < len(cards):
            rpc_factory().billing.settle_card_payment(cards[way]["id"], "succeeded")
        else:
            rpc_factory().billing.import_bank_statement(content, "op")

    list(eventlet.GreenPool(4).imap(pay, range(4)))

    shown = rpc.billing.get_payable(opened.payment_invoice_id)
    assert (shown["status"], shown["paid"]["amount"]) == ("paid", "250.00")
    assert rpc.billing.get_account(account_id)["cash_balance"]["amount"] == "750.00"
    engine = make_engine(database_urls["billing"])
    with Session(engine) as session:
        assert list(ledger_check.problems(session)) == []
    engine.dispose()


def test_an_order_racing_its_expiry_is_either_paid_or_expired_never_both(run_services, rpc,
                                                                        rpc_factory, database_urls):
    """Per order, at once: the card's success callback (twice), the expiry, and the orders
    service's retried balance charge.  Each order ends one way: its charge made from the card
    (and nothing in cash), or expired with the card's money in the cash wallet."""
    run_services(BillingService, BillingService)
    account_id = register(rpc)
    credit(rpc, account_id, "1000.00")
    orders = [str(uuid.uuid4()) for _ in range(12)]
    payments = {order_id: rpc.billing.create_card_payment(
        account_id, "10.00", "EUR", f"order:{order_id}", None, order_id)["id"] for order_id in orders}

    def step(job: tuple[str, str]) -> tuple[str, str, str]:
        kind, order_id = job
        client = rpc_factory()
        if kind == "card":
            settled = client.billing.settle_card_payment(payments[order_id], "succeeded")
            return kind, order_id, settled["status"]
        if kind == "expire":
            said = client.billing.expire_order_payment(account_id, order_id)
            return kind, order_id, said["outcome"]
        try:
            charge(client, account_id, "10.00", order_id)
            return kind, order_id, "charged"
        except BusinessError as refused:
            return kind, order_id, refused.code

    jobs = [(kind, order_id) for order_id in orders for kind in ("card", "expire", "charge", "card")]
    outcomes = list(eventlet.GreenPool(16).imap(step, jobs))

    expired_count = 0
    for order_id in orders:
        said = {kind: outcome for kind, oid, outcome in outcomes if oid == order_id and kind != "card"}
        final = rpc.billing.expire_order_payment(account_id, order_id)["outcome"]
        assert final in ("charged", "expired") and said["expire"] == final
        assert said["charge"] == ("charged" if final == "charged" else "payment_expired")
        expired_count += final == "expired"
    # every card brought 10.00; each paid order was charged 10.00 once (from the card's money
    # or from cash, the card's then staying in cash): only expired orders leave 10.00 more
    cash = Decimal(rpc.billing.get_account(account_id)["cash_balance"]["amount"])
    assert cash == Decimal("1000.00") + 10 * expired_count
    engine = make_engine(database_urls["billing"])
    with Session(engine) as session:
        assert list(ledger_check.problems(session)) == []
    engine.dispose()
