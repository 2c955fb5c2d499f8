"""Billing queries, each taking the caller's session."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.billing.domain import CUSTOMER_CASH, Leg
from services.billing.models import Account, JournalEntry, Posting, User
from services.common.errors import NotFound
from services.common.money import Money


def account(session: Session, account_id: str, *, lock: bool = False) -> Account:
    query = select(Account).where(Account.id == account_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound("no such account", {"account_id": account_id})
    return found


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).first()


def cash_balance(session: Session, account_id: str, currency: str) -> Money:
    minor = session.scalar(
        select(func.coalesce(func.sum(Posting.amount_minor), 0)).where(
            Posting.book == CUSTOMER_CASH,
            Posting.account_id == account_id,
            Posting.currency == currency,
        )
    )
    return Money.from_minor(int(minor or 0), currency)


def entry_by_key(session: Session, idempotency_key: str) -> JournalEntry | None:
    return session.scalars(
        select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key)
    ).first()


def record_entry(
    session: Session,
    *,
    account_id: str,
    kind: str,
    reference: str,
    idempotency_key: str,
    amount: Money,
    legs: list[Leg],
) -> JournalEntry:
    entry = JournalEntry(
        id=str(uuid.uuid4()),
        account_id=account_id,
        kind=kind,
        reference=reference,
        idempotency_key=idempotency_key,
        amount_minor=amount.minor,
        currency=amount.currency,
        postings=[
            Posting(
                book=leg.book,
                account_id=leg.account_id,
                amount_minor=leg.amount.minor,
                currency=leg.amount.currency,
            )
            for leg in legs
        ],
    )
    session.add(entry)
    session.flush()
    return entry
