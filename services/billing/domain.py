"""Billing rules in plain Python: addresses, and the shape of each ledger entry (passwords
and mail tokens are in ``credentials``).

The ledger is double entry: every movement is one journal entry whose postings sum to zero in
each currency, across these books (a customer's wallets carry its account id):

* ``customer_cash`` — the cash wallet: what the seller holds for the customer (can go below
  zero only for a postpaid account, down to minus its credit limit);
* ``customer_voucher`` — the voucher wallet: promotional money, spendable on orders, never paid
  out or refunded as cash, never invoiced;
* ``bank``, ``card_clearing`` — money received by wire or card;
* ``revenue_clearing`` — what orders were paid (until invoicing recognises it);
* ``voucher_liability`` — vouchers redeemed into wallets;
* ``receivables`` — what customers owe (postpaid, payment invoices).

Entries are never changed: a correction is a new entry (``reversal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.common.contracts import money_wire
from services.common.errors import InsufficientFunds, InvalidRequest
from services.common.money import Money

CUSTOMER_CASH = "customer_cash"
CUSTOMER_VOUCHER = "customer_voucher"
BANK = "bank"
CARD_CLEARING = "card_clearing"
REVENUE_CLEARING = "revenue_clearing"
VOUCHER_LIABILITY = "voucher_liability"
RECEIVABLES = "receivables"
WALLETS = {CUSTOMER_CASH: "cash", CUSTOMER_VOUCHER: "voucher"}
PAYMENT_METHODS = ("balance", "voucher", "balance+voucher")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    labels = domain.split(".")
    if (not local or "@" in domain or len(labels) < 2 or not all(labels)
            or any(c.isspace() for c in email) or len(email) > 254):
        raise InvalidRequest("not a valid e-mail address", {"field": "email"})
    return email


@dataclass(frozen=True)
class Leg:
    book: str
    account_id: str | None
    amount: Money


def top_up(account_id: str, amount: Money) -> list[Leg]:
    if amount.amount <= 0:
        raise InvalidRequest("a top-up must be a positive amount", {"field": "amount"})
    return balanced([Leg(CUSTOMER_CASH, account_id, amount), Leg(BANK, None, -amount)])


@dataclass(frozen=True)
class Split:
    """How an order's total is paid: the voucher wallet's part and the cash wallet's part."""

    cash: Money
    voucher: Money

    @property
    def total(self) -> Money:
        return self.cash + self.voucher


def split_payment(method: str, total: Money, cash: Money, voucher: Money,
                  credit_limit: Money | None = None) -> Split:
    """The part of ``total`` each wallet pays.  ``balance`` pays from cash, which may go down
    to minus the credit limit; ``voucher`` from the voucher wallet alone; ``balance+voucher``
    spends the voucher wallet first and the rest from cash.  Refuses what the wallets cannot
    cover (``insufficient_funds`` naming the wallet)."""
    if method not in PAYMENT_METHODS:
        raise InvalidRequest(f"the payment method is one of {', '.join(PAYMENT_METHODS)}",
                             {"field": "payment_method"})
    if total.amount <= 0:
        raise InvalidRequest("a charge must be a positive amount", {"field": "amount"})
    zero = Money.zero(total.currency)
    if method == "voucher":
        if voucher < total:
            raise insufficient("voucher", voucher, total)
        return Split(cash=zero, voucher=total)
    from_voucher = zero
    if method == "balance+voucher" and zero < voucher:
        from_voucher = voucher if voucher < total else total
    from_cash = total - from_voucher
    spendable = cash + (credit_limit or zero)
    if spendable < from_cash:
        raise insufficient("cash", cash, from_cash, credit_limit)
    return Split(cash=from_cash, voucher=from_voucher)


def insufficient(wallet: str, balance: Money, required: Money,
                 credit_limit: Money | None = None) -> InsufficientFunds:
    details: dict[str, str] = {"wallet": wallet, "balance": str(balance.amount),
                               "required": str(required.amount), "currency": required.currency}
    if credit_limit is not None and credit_limit.amount:
        details["credit_limit"] = str(credit_limit.amount)
    return InsufficientFunds(f"the {wallet} balance {balance} does not cover {required}", details)


def pay_order(account_id: str, split: Split) -> list[Leg]:
    legs = [Leg(REVENUE_CLEARING, None, split.total)]
    if split.cash.amount:
        legs.append(Leg(CUSTOMER_CASH, account_id, -split.cash))
    if split.voucher.amount:
        legs.append(Leg(CUSTOMER_VOUCHER, account_id, -split.voucher))
    return balanced(legs)


def pay_from_cash(account_id: str, amount: Money, cash_balance: Money) -> list[Leg]:
    """Pay from the cash wallet alone (a prepaid account)."""
    split = split_payment("balance", amount, cash_balance, Money.zero(amount.currency))
    return pay_order(account_id, split)


def refund_order(account_id: str, cash: Money, voucher: Money) -> list[Leg]:
    """Give back what an order was paid, each part to the wallet it came from."""
    total = cash + voucher
    if total.amount <= 0 or cash.amount < 0 or voucher.amount < 0:
        raise InvalidRequest("a refund is a positive amount", {"field": "amount"})
    legs = [Leg(REVENUE_CLEARING, None, -total)]
    if cash.amount:
        legs.append(Leg(CUSTOMER_CASH, account_id, cash))
    if voucher.amount:
        legs.append(Leg(CUSTOMER_VOUCHER, account_id, voucher))
    return balanced(legs)


def wire_payment(account_id: str, amount: Money) -> list[Leg]:
    """Money received by wire into the cash wallet."""
    return balanced([Leg(CUSTOMER_CASH, account_id, amount), Leg(BANK, None, -amount)])


def card_payment(account_id: str, amount: Money) -> list[Leg]:
    """Money paid by card into the cash wallet (held by the processor until it pays out)."""
    return balanced([Leg(CUSTOMER_CASH, account_id, amount), Leg(CARD_CLEARING, None, -amount)])


def open_claim(account_id: str, total: Money) -> list[Leg]:
    """A payment invoice billing a sale: the customer owes its total from now on."""
    return balanced([Leg(RECEIVABLES, account_id, -total), Leg(REVENUE_CLEARING, None, total)])


def pay_invoice(account_id: str, received: Money, applied: Money, source: str,
                claim: bool) -> list[Leg]:
    """Money received by wire or card (``source`` is ``bank`` or ``card_clearing``) for a
    payment invoice: ``applied`` of it settles the invoice (a claim's receivable; an advance's
    is the customer's cash), the rest is a surplus credited to the cash wallet."""
    if received.amount <= 0 or applied.amount < 0 or received < applied:
        raise ValueError("a payment covers what it applies")
    to_cash = received - applied if claim else received
    legs = [Leg(source, None, -received)]
    if claim and applied.amount:
        legs.append(Leg(RECEIVABLES, account_id, applied))
    if to_cash.amount:
        legs.append(Leg(CUSTOMER_CASH, account_id, to_cash))
    return balanced(legs)


def void_claim(account_id: str, remaining: Money, paid: Money) -> list[Leg]:
    """A claim voided: what was still owed is owed no more, and what was paid for it goes to
    the customer's cash wallet."""
    legs = [Leg(REVENUE_CLEARING, None, -(remaining + paid))]
    if remaining.amount:
        legs.append(Leg(RECEIVABLES, account_id, remaining))
    if paid.amount:
        legs.append(Leg(CUSTOMER_CASH, account_id, paid))
    return balanced(legs)


def redeem_voucher(account_id: str, amount: Money) -> list[Leg]:
    return balanced([Leg(CUSTOMER_VOUCHER, account_id, amount),
                     Leg(VOUCHER_LIABILITY, None, -amount)])


def reversal(legs: list[Leg]) -> list[Leg]:
    """The entry that undoes another: every posting negated."""
    return balanced([Leg(leg.book, leg.account_id, -leg.amount) for leg in legs])


def balanced(legs: list[Leg]) -> list[Leg]:
    """An entry's postings sum to zero in each currency."""
    for currency in {leg.amount.currency for leg in legs}:
        if sum(leg.amount.minor for leg in legs if leg.amount.currency == currency) != 0:
            raise ValueError("a journal entry's postings must sum to zero in each currency")
    return legs


# -- receivables --------------------------------------------------------------------------------

AGEING = (("current", 0), ("1_30", 30), ("31_60", 60), ("61_90", 90), ("over_90", None))


def ageing_bucket(days_overdue: int) -> str:
    """The bucket of an amount ``days_overdue`` past its due date (0 or less: current)."""
    for bucket, upto in AGEING:
        if upto is None or days_overdue <= upto:
            return bucket
    raise AssertionError("unreachable")


def receivable(account_id: str, name: str, currency: str, cash: Money, voucher: Money,
               payables: list[Any], today: date) -> dict[str, Any]:
    """One account's receivables as of ``today``: it owes its open payment invoices' remains
    and a negative cash balance (due at once); it is owed a positive cash balance and its
    voucher balance (prepaid, spent on orders)."""
    buckets = {bucket: 0 for bucket, _ in AGEING}
    invoices = []
    for payable in payables:
        remaining = payable.total_minor - payable.paid_minor
        overdue = (today - payable.due_on).days
        buckets[ageing_bucket(overdue)] += remaining
        invoices.append({"number": payable.number, "due_date": payable.due_on.isoformat(),
                         "issue_date": payable.opened_at.date().isoformat(),
                         "days_overdue": max(overdue, 0), "bucket": ageing_bucket(overdue),
                         "total": money_wire(payable.total_minor, currency),
                         "remaining": money_wire(remaining, currency)})
    if cash.minor < 0:
        buckets["current"] += -cash.minor
    owes = sum(buckets.values())
    return {"account_id": account_id, "name": name, "currency": currency,
            "cash_balance": money_wire(cash.minor, currency),
            "voucher_balance": money_wire(voucher.minor, currency),
            "owes": money_wire(owes, currency),
            "owed": money_wire(max(cash.minor, 0) + max(voucher.minor, 0), currency),
            "buckets": {bucket: money_wire(minor, currency) for bucket, minor in buckets.items()},
            "invoices": invoices}
