"""Billing rules in plain Python: credentials, and the shape of each ledger entry.

Books: ``customer_cash`` (what the seller owes the customer: the cash balance),
``bank`` (money received from outside) and ``sales`` (revenue).  A top-up moves money from
``bank`` into ``customer_cash``; paying an order moves it from ``customer_cash`` to ``sales``.
Every entry's postings sum to zero.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from services.common.errors import InsufficientFunds, InvalidRequest
from services.common.money import Money

CUSTOMER_CASH = "customer_cash"
BANK = "bank"
SALES = "sales"

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
MIN_PASSWORD_LENGTH = 10
# The hash of a random password nobody knows: checking an unknown user against it costs what
# checking a known one costs, so response times do not reveal which addresses exist.
UNMATCHABLE_HASH = "scrypt$73Yg/aYOd/+2bHi8OWia1Q==$oAjL9qwvYDkWXO57CrrSqxCY/O3wZLyidTFF0+EgvRo="


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            {"field": "password"},
        )


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
