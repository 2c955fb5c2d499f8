"""Property test of the ledger: over random sequences of top-ups, card payments (with repeated
and stale callbacks), voucher redemptions, charges by every payment method, refunds, and repeats
of any of them with the same key, every entry
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
from services.billing.models import Account
from services.billing.service import BillingService
from services.common.errors import BusinessError

CENTS = st.integers(min_value=1, max_value=20_000)
METHODS = st.sampled_from(["balance", "voucher", "balance+voucher"])

operation = st.one_of(
    st.tuples(st.just("top_up"), st.integers(0, 1), CENTS),
    st.tuples(st.just("voucher"), st.integers(0, 1), CENTS),
    st.tuples(st.just("card"), st.integers(0, 1), CENTS, st.sampled_from(["succeeded", "declined"])),
    st.tuples(st.just("charge"), st.integers(0, 1), CENTS, METHODS),
    st.tuples(st.just("refund"), st.integers(0, 30), st.floats(0, 1), st.floats(0, 1)),
    st.tuples(st.just("repeat"), st.integers(0, 30)),
)


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


def apply(billing, model: Model, accounts: list[str], op: tuple) -> None:
    kind = op[0]
    if kind == "top_up":
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
        apply(billing, model, accounts, op)

    for account in accounts:
        shown = billing.get_account(account)
        assert cents(shown["cash_balance"]) == model.cash[account] >= 0
        assert cents(shown["voucher_balance"]) == model.voucher[account] >= 0
    with billing_db.session() as session:
        assert list(ledger_check.problems(session)) == []
