"""Property test of the ledger: over random sequences of top-ups, card payments (with repeated
and stale callbacks), wire matches (to an account, or to a payment invoice, above or below what
remains on it), payment invoices opened, paid by card and voided, voucher redemptions, charges
by every payment method, refunds, and repeats of any of them with the same key, every entry
balances, every wallet's recorded balances equal its postings, no wallet goes below zero (a
prepaid account), each wallet holds exactly what the accepted movements say, and a repeat
changes nothing."""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_fakes import Service

from services.billing import ledger_check
from services.billing.models import Account, BankStatement, BankTransaction
from services.billing.service import BillingService
from services.common.contracts import MoneyOut, PaymentInvoiceOpened, PaymentInvoiceVoided
from services.common.errors import BusinessError

CENTS = st.integers(min_value=1, max_value=20_000)
METHODS = st.sampled_from(["balance", "voucher", "balance+voucher"])

operation = st.one_of(
    st.tuples(st.just("wire"), st.integers(0, 1), CENTS),
    st.tuples(st.just("invoice"), st.integers(0, 1), CENTS, st.booleans()),
    st.tuples(st.just("invoice_wire"), st.integers(0, 10), CENTS),
    st.tuples(st.just("invoice_card"), st.integers(0, 10)),
    st.tuples(st.just("void"), st.integers(0, 10)),
    st.tuples(st.just("top_up"), st.integers(0, 1), CENTS),
    st.tuples(st.just("voucher"), st.integers(0, 1), CENTS),
    st.tuples(st.just("card"), st.integers(0, 1), CENTS, st.sampled_from(["succeeded", "declined"])),
    st.tuples(st.just("charge"), st.integers(0, 1), CENTS, METHODS),
    st.tuples(st.just("refund"), st.integers(0, 30), st.floats(0, 1), st.floats(0, 1)),
    st.tuples(st.just("repeat"), st.integers(0, 30)),
)


PAYMENT_INVOICE_OPS = ("wire", "invoice", "invoice_wire", "invoice_card", "void")


def eur(cents: int) -> str:
    return str(Decimal(cents) / 100)


def cents(money: dict[str, str]) -> int:
    return int(Decimal(money["amount"]) * 100)


@dataclass
class Model:
    """What the wallets must hold, from the movements billing accepted."""

    cash: dict[str, int] = field(default_factory=dict)
    voucher: dict[str, int] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)  # order, account, paid parts
    invoices: list[dict[str, Any]] = field(default_factory=list)  # id, account, total, paid, status
    done: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def billing_db(service_database):
    return service_database("billing")


@pytest.fixture
def billing(billing_db, outbox, settings) -> Service:
    return Service(BillingService, billing_db, outbox=outbox, settings=settings)


def fresh_accounts(billing_db) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(2)]
    with billing_db.session() as session:
        session.add_all(Account(id=i, company_name="Prop AB", email=f"{i}@example.com",
                                currency="EUR", country="SE", language="en",
                                payment_reference=f"RF00{uuid.UUID(i).int % 10**20}") for i in ids)
        session.commit()
    return ids


def unmatched_credit(billing_db, amount: int) -> str:
    """A credit on the seller's account that quoted nothing, as a statement import leaves it."""
    statement, tx = str(uuid.uuid4()), str(uuid.uuid4())
    with billing_db.session() as session:
        session.add(BankStatement(id=statement, message_id=statement, statement_id=statement,
                                  version="001.02", account_iban="SE00", imported_by="prop"))
        session.flush()
        session.add(BankTransaction(id=tx, statement_id=statement, dedupe_key=tx,
                                    amount_minor=amount, currency="EUR", remittance="",
                                    status="unmatched"))
        session.commit()
    return tx


def pay_invoice(model: Model, invoice: dict[str, Any], amount: int) -> None:
    """What a payment does to the model: up to what remains pays the invoice, the rest (and an
    advance's whole payment) is cash."""
    applied = min(amount, invoice["total"] - invoice["paid"]) if invoice["status"] == "open" else 0
    invoice["paid"] += applied
    if invoice["status"] == "open" and invoice["paid"] == invoice["total"]:
        invoice["status"] = "paid"
    model.cash[invoice["account"]] += amount if not invoice["claim"] else amount - applied


def apply_payment_invoice_op(billing, billing_db, model: Model, accounts: list[str], op: tuple) -> None:
    kind = op[0]
    if kind == "wire":
        billing.match_bank_transaction(unmatched_credit(billing_db, op[2]), accounts[op[1]], "prop")
        model.cash[accounts[op[1]]] += op[2]
    elif kind == "invoice":
        invoice = {"id": str(uuid.uuid4()), "account": accounts[op[1]], "total": op[2], "paid": 0,
                   "status": "open", "claim": op[3]}
        billing.on_payment_invoice_opened(PaymentInvoiceOpened(
            payment_invoice_id=invoice["id"], account_id=invoice["account"],
            number=f"PI-{invoice['id']}", wire_reference=f"W{uuid.uuid4().hex[:30]}",
            total=MoneyOut(amount=eur(op[2]), currency="EUR"), due_on="2999-12-31",
            claim=op[3]).wire())
        model.invoices.append(invoice)
    elif not model.invoices:
        return
    elif kind == "invoice_wire":
        invoice = model.invoices[op[1] % len(model.invoices)]
        billing.match_bank_transaction(unmatched_credit(billing_db, op[2]), None, "prop", invoice["id"])
        pay_invoice(model, invoice, op[2])
    elif kind == "invoice_card":
        invoice = model.invoices[op[1] % len(model.invoices)]
        try:
            payment = billing.create_card_payment(invoice["account"], None, None, None, invoice["id"])
        except BusinessError as refused:
            assert refused.code == "payment_invoice_not_open" and invoice["status"] != "open"
            return
        assert cents(payment["amount"]) == invoice["total"] - invoice["paid"]
        billing.settle_card_payment(payment["id"], "succeeded")
        billing.settle_card_payment(payment["id"], "succeeded")
        pay_invoice(model, invoice, cents(payment["amount"]))
    elif kind == "void":
        invoice = model.invoices[op[1] % len(model.invoices)]
        billing.on_payment_invoice_voided(PaymentInvoiceVoided(
            payment_invoice_id=invoice["id"], account_id=invoice["account"]).wire())
        if invoice["status"] != "void" and invoice["claim"]:
            model.cash[invoice["account"]] += invoice["paid"]
        invoice["status"] = "void"
    shown = billing.get_payable(invoice["id"]) if kind != "wire" else None
    if shown is not None:
        assert (shown["status"], cents(shown["paid"])) == (invoice["status"], invoice["paid"])


def apply(billing, model: Model, accounts: list[str], op: tuple, billing_db: Any = None) -> None:
    kind = op[0]
    if kind in PAYMENT_INVOICE_OPS:
        apply_payment_invoice_op(billing, billing_db, model, accounts, op)
    elif kind == "top_up":
        account = accounts[op[1]]
        request = {"account_id": account, "amount": eur(op[2]), "currency": "EUR",
                   "reference": "wire", "idempotency_key": uuid.uuid4().hex}
        billing.credit_balance(request)
        model.cash[account] += op[2]
        model.done.append(("credit_balance", request, {}))
    elif kind == "voucher":
        account = accounts[op[1]]
        code = billing.create_voucher({"amount": eur(op[2]), "currency": "EUR",
                                       "expires_on": "2999-12-31", "created_by": "prop"})["code"]
        billing.redeem_voucher(account, code)
        model.voucher[account] += op[2]
    elif kind == "card":
        account = accounts[op[1]]
        payment = billing.create_card_payment(account, eur(op[2]), "EUR", uuid.uuid4().hex)
        for status in (op[3], "pending", "succeeded", op[3]):  # repeats and stale callbacks
            billing.settle_card_payment(payment["id"], status, "card_declined", "sim")
        if op[3] == "succeeded":
            model.cash[account] += op[2]
    elif kind == "charge":
        account, amount, method = accounts[op[1]], op[2], op[3]
        request = {"account_id": account, "order_id": str(uuid.uuid4()), "amount": eur(amount),
                   "currency": "EUR", "payment_method": method}
        try:
            paid = billing.charge_order(request)
        except BusinessError as refused:
            assert refused.code == "insufficient_funds"
            model.done.append(("charge_order", request, {"refused": refused.code}))
            return
        cash, voucher = -cents(paid["cash"]), -cents(paid["voucher"])
        assert cash + voucher == amount
        if method == "voucher":
            assert cash == 0
        if method == "balance+voucher":
            assert voucher == min(amount, model.voucher[account])
        model.cash[account] -= cash
        model.voucher[account] -= voucher
        model.charges.append({"order_id": request["order_id"], "account": account,
                              "cash": cash, "voucher": voucher})
        model.done.append(("charge_order", request, paid))
    elif kind == "refund" and model.charges:
        charge = model.charges[op[1] % len(model.charges)]
        cash, voucher = int(charge["cash"] * op[2]), int(charge["voucher"] * op[3])
        if cash + voucher == 0:
            return
        request = {"refund_id": uuid.uuid4().hex, "account_id": charge["account"],
                   "order_id": charge["order_id"], "cash": eur(cash), "voucher": eur(voucher),
                   "currency": "EUR"}
        billing.refund(request)
        charge["cash"] -= cash
        charge["voucher"] -= voucher
        model.cash[charge["account"]] += cash
        model.voucher[charge["account"]] += voucher
        model.done.append(("refund", request, {}))
    elif kind == "repeat" and model.done:
        method, request, first = model.done[op[1] % len(model.done)]
        try:
            again = getattr(billing, method)(request)
        except BusinessError as refused:
            assert first.get("refused") == refused.code
            return
        if first and "refused" not in first:
            assert again == first, "a repeat answers the first result"


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=15))
def test_postings_balance_wallets_stay_covered_and_repeats_change_nothing(billing, billing_db, ops):
    accounts = fresh_accounts(billing_db)
    model = Model(cash=dict.fromkeys(accounts, 0), voucher=dict.fromkeys(accounts, 0))

    for op in ops:
        apply(billing, model, accounts, op, billing_db)

    for account in accounts:
        shown = billing.get_account(account)
        assert cents(shown["cash_balance"]) == model.cash[account] >= 0
        assert cents(shown["voucher_balance"]) == model.voucher[account] >= 0
    with billing_db.session() as session:
        assert list(ledger_check.problems(session)) == []
