"""Billing rules in plain Python: addresses, and the shape of each ledger entry (passwords
and mail tokens are in ``credentials``).

Books: ``customer_cash`` (what the seller owes the customer: the cash balance),
``bank`` (money received from outside) and ``sales`` (revenue).  A top-up moves money from
``bank`` into ``customer_cash``; paying an order moves it from ``customer_cash`` to ``sales``.
Every entry's postings sum to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import InsufficientFunds, InvalidRequest
from services.common.money import Money

CUSTOMER_CASH = "customer_cash"
BANK = "bank"
SALES = "sales"


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


def pay_from_cash(account_id: str, amount: Money, cash_balance: Money) -> list[Leg]:
    if amount.amount <= 0:
        raise InvalidRequest("a charge must be a positive amount", {"field": "amount"})
    if cash_balance < amount:
        raise InsufficientFunds(
            f"the cash balance {cash_balance} does not cover {amount}",
            {"balance": str(cash_balance.amount), "required": str(amount.amount),
             "currency": amount.currency},
        )
    return balanced([Leg(CUSTOMER_CASH, account_id, -amount), Leg(SALES, None, amount)])


def balanced(legs: list[Leg]) -> list[Leg]:
    """An entry's postings sum to zero in each currency."""
    for currency in {leg.amount.currency for leg in legs}:
        if sum(leg.amount.minor for leg in legs if leg.amount.currency == currency) != 0:
            raise ValueError("a journal entry's postings must sum to zero in each currency")
    return legs
