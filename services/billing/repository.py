"""Billing queries, each taking the caller's session."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric, case, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from services.billing.domain import CUSTOMER_CASH, CUSTOMER_VOUCHER, WALLETS, Leg
from services.billing.models import (
    Account,
    BankTransaction,
    CardPayment,
    EinvoiceParticipant,
    JournalEntry,
    LoginFailure,
    OverdueInvoice,
    Payable,
    PaymentOrder,
    Posting,
    ReferenceCounter,
    Revocation,
    User,
    UserToken,
)
from services.common import pages
from services.common.contracts import MoneyOut, Standing, utcnow, wire_time
from services.common.db import UtcDateTime
from services.common.errors import NotFound
from services.common.money import Money, exponent
from services.common.pages import newest_first


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


def latest_posting(session: Session, account_id: str, book: str, currency: str,
                   before: datetime | None = None) -> Any:
    """A wallet's latest posting (before a moment): its time and the balance after it.  One
    step down ``ix_postings_wallet_at``, however long the wallet's history."""
    query = (select(Posting.at, Posting.balance_after_minor)
             .where(Posting.account_id == account_id, Posting.book == book,
                    Posting.currency == currency)
             .order_by(Posting.at.desc(), Posting.id.desc()).limit(1))
    if before is not None:
        query = query.where(Posting.at < before)
    return session.execute(query).first()


def wallet_balance(session: Session, account_id: str, book: str, currency: str,
                   before: datetime | None = None) -> Money:
    """A wallet's balance (just before a moment): the sum of its postings, which its latest
    posting records (written under the account's lock; ``cli check-ledger`` proves it)."""
    latest = latest_posting(session, account_id, book, currency, before)
    return Money.from_minor(latest.balance_after_minor if latest is not None else 0, currency)


def cash_balance(session: Session, account_id: str, currency: str) -> Money:
    return wallet_balance(session, account_id, CUSTOMER_CASH, currency)


def voucher_balance(session: Session, account_id: str, currency: str) -> Money:
    return wallet_balance(session, account_id, CUSTOMER_VOUCHER, currency)


def paid_for_order(session: Session, account_id: str, order_id: str, currency: str) -> dict[str, Money]:
    """What an order's charges minus its refunds took from each wallet, by book."""
    rows = session.execute(
        select(Posting.book, func.sum(Posting.amount_minor))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.order_id == order_id, JournalEntry.account_id == account_id,
               Posting.account_id == account_id, Posting.currency == currency)
        .group_by(Posting.book)
    ).all()
    taken = {book: Money.from_minor(-int(total), currency) for book, total in rows}
    zero = Money.zero(currency)
    return {book: taken.get(book, zero) for book in (CUSTOMER_CASH, CUSTOMER_VOUCHER)}


def paid_on_invoices(session: Session, account_id: str, order_id: str, currency: str) -> Money:
    """What the payment invoices billing an order (claims) were paid: its price, paid by
    wire or card rather than charged, refundable to the cash wallet like a charge's."""
    paid = session.scalar(select(func.sum(Payable.paid_minor)).where(
        Payable.order_id == order_id, Payable.account_id == account_id, Payable.claim.is_(True),
        Payable.currency == currency))
    return Money.from_minor(int(paid or 0), currency)


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
    order_id: str | None = None,
    actor: str = "system",
) -> JournalEntry:
    """Write one entry.  The caller holds the account's lock, so the balance each wallet
    posting records after itself cannot be raced, and neither can its time: never earlier than
    the wallet's latest posting (a clock stepping back cannot reorder a wallet's history)."""
    now = utcnow()
    afters: list[int | None] = []
    for leg in legs:
        after = None
        if leg.book in WALLETS and leg.account_id is not None:
            latest = latest_posting(session, leg.account_id, leg.book, leg.amount.currency)
            if latest is not None:
                now = max(now, latest.at)
            after = (latest.balance_after_minor if latest is not None else 0) + leg.amount.minor
        afters.append(after)
    postings = [Posting(book=leg.book, account_id=leg.account_id, amount_minor=leg.amount.minor,
                        currency=leg.amount.currency, balance_after_minor=after, at=now,
                        **({"kind": kind, "reference": reference, "order_id": order_id}
                           if after is not None else {}))
                for leg, after in zip(legs, afters, strict=True)]
    entry = JournalEntry(
        id=str(uuid.uuid4()),
        account_id=account_id,
        kind=kind,
        reference=reference,
        idempotency_key=idempotency_key,
        amount_minor=amount.minor,
        currency=amount.currency,
        order_id=order_id,
        actor=actor,
        postings=postings,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


# -- identity -------------------------------------------------------------------------------------


def user(session: Session, user_id: str) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise NotFound("no such user", {"user_id": user_id})
    return found


def throttled_for(session: Session, subjects: list[str], limit: int, window: timedelta) -> int:
    """Seconds until the most throttled subject may try again (0: none is throttled).  A
    subject is throttled while it has ``limit`` failures within the window; the ``limit``-th
    most recent one leaving the window frees it."""
    now = utcnow()
    wait = 0.0
    for subject in subjects:
        pivot = session.scalar(
            select(LoginFailure.at)
            .where(LoginFailure.subject == subject, LoginFailure.at > now - window)
            .order_by(LoginFailure.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if pivot is not None:
            wait = max(wait, (pivot + window - now).total_seconds())
    return math.ceil(wait)


def record_failures(session: Session, subjects: list[str]) -> None:
    now = utcnow()
    session.add_all(LoginFailure(subject=subject, at=now) for subject in subjects)


def live_token(session: Session, digest: str, purpose: str, *, lock: bool = False) -> UserToken | None:
    """The unused, unexpired token with this hash and purpose, if any."""
    query = select(UserToken).where(
        UserToken.token_hash == digest, UserToken.purpose == purpose,
        UserToken.used_at.is_(None), UserToken.expires_at > utcnow(),
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def tokens_made_since(session: Session, user_id: str, purpose: str, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(UserToken).where(
        UserToken.user_id == user_id, UserToken.purpose == purpose,
        UserToken.created_at > since)) or 0)


def retire_tokens(session: Session, user_id: str, purpose: str) -> None:
    """Earlier unused tokens of this purpose stop working (only the newest link counts)."""
    session.execute(update(UserToken).where(
        UserToken.user_id == user_id, UserToken.purpose == purpose,
        UserToken.used_at.is_(None)).values(used_at=utcnow()))


def revocations_since(session: Session, cursor: int, overlap: timedelta) -> list[Revocation]:
    """Unexpired revocations after ``cursor``, and those of the last ``overlap`` again (a row
    with a lower id may commit after a higher one; the reader's set makes repeats harmless)."""
    now = utcnow()
    return list(session.scalars(select(Revocation).where(
        Revocation.expires_at > now,
        or_(Revocation.id > cursor, Revocation.created_at > now - overlap),
    ).order_by(Revocation.id)))


def purge_expired(session: Session, failures_before: datetime) -> None:
    now = utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.at < failures_before))
    session.execute(delete(Revocation).where(Revocation.expires_at < now))
    session.execute(delete(UserToken).where(UserToken.expires_at < now - timedelta(days=7)))


# -- profile --------------------------------------------------------------------------------------


def next_reference(session: Session) -> int:
    """The next number behind an account's payment reference; the counter row is locked, so
    concurrent registrations never share one."""
    counter = session.get(ReferenceCounter, "account", with_for_update=True)
    if counter is None:
        counter = ReferenceCounter(name="account", value=100_000)
        session.add(counter)
        session.flush()
    number = counter.value
    counter.value += 1
    return number


def einvoice_capable(session: Session, account: Account) -> bool:
    return account.participant_id is not None and \
        session.get(EinvoiceParticipant, account.participant_id) is not None


def accounts_with_participant(session: Session, participant_id: str) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.participant_id == participant_id)
                                .with_for_update()))


def participants(session: Session, limit: int, after: str | None) -> list[EinvoiceParticipant]:
    query = select(EinvoiceParticipant).order_by(EinvoiceParticipant.participant_id).limit(limit)
    if after is not None:
        query = query.where(EinvoiceParticipant.participant_id > after)
    return list(session.scalars(query))


def contact_address(session: Session, account: Account) -> str:
    """Where a notice about the account goes: the mailing e-mail, else the account's."""
    if account.mailing_info:
        email = json.loads(account.mailing_info).get("email")
        if email:
            return str(email)
    return account.email


# -- vouchers and the ledger's pages ----------------------------------------------------------


def wallet_postings(session: Session, account_id: str, limit: int, before_id: int | None,
                    kinds: list[str] | None, wallet_books: list[str], since: datetime | None,
                    until: datetime | None) -> list[Any]:
    """The account's wallet postings with their entries, newest first, before a posting id."""
    query = (select(Posting.id, Posting.book, Posting.amount_minor, Posting.currency,
                    Posting.balance_after_minor, JournalEntry.id.label("entry_id"),
                    JournalEntry.kind, JournalEntry.reference, JournalEntry.order_id,
                    JournalEntry.created_at)
             .join(JournalEntry, JournalEntry.id == Posting.entry_id)
             .where(Posting.account_id == account_id, Posting.book.in_(wallet_books))
             .order_by(Posting.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(Posting.id < before_id)
    if kinds:
        query = query.where(JournalEntry.kind.in_(kinds))
    if since is not None:
        query = query.where(Posting.at >= since)
    if until is not None:
        query = query.where(Posting.at < until)
    return list(session.execute(query))


# -- standing -------------------------------------------------------------------------------------


def overdue_total(session: Session, account_id: str, currency: str) -> Money:
    minor = session.scalar(select(func.coalesce(func.sum(OverdueInvoice.amount_due_minor), 0))
                           .where(OverdueInvoice.account_id == account_id,
                                  OverdueInvoice.currency == currency))
    return Money.from_minor(int(minor or 0), currency)


def arrears(cash: Money, overdue: Money) -> Money:
    """What an account owes now: its cash balance below zero, and its overdue invoices."""
    zero = Money.zero(cash.currency)
    return (zero - cash if cash < zero else zero) + overdue


def standing_of(session: Session, account: Account) -> Standing:
    currency = account.currency
    cash = cash_balance(session, account.id, currency)
    overdue = overdue_total(session, account.id, currency)
    zero = Money.zero(currency)
    owed = arrears(cash, overdue)
    return Standing(
        account_id=account.id, cash_balance=MoneyOut.of(cash),
        voucher_balance=MoneyOut.of(voucher_balance(session, account.id, currency)),
        credit_limit=MoneyOut.minor(account.credit_limit_minor, currency),
        overdue_invoices=MoneyOut.of(overdue), in_arrears=zero < owed,
        arrears_amount=MoneyOut.of(owed), version=account.standing_version)


def cash_before(session: Session, account_id: str, currency: str, moment: datetime | None) -> Money:
    """The cash wallet's balance just before ``moment`` (None: now)."""
    return wallet_balance(session, account_id, CUSTOMER_CASH, currency, moment)


@dataclass(frozen=True)
class StatementPage:
    opening: Money
    closing: Money
    rows: list[Any]
    next_cursor: str | None


def statement(session: Session, account: Account, since: datetime | None, until: datetime | None,
              size: int, cursor: str | None) -> StatementPage:
    """A page of the cash wallet's statement over [since, until): the balance before the
    period, ``size`` movements oldest first after ``cursor``, and the balance at its end.
    Each of the three is one range of ``ix_postings_wallet_at`` (the balances: one row each),
    so a page costs the same on the first day of a year of a million entries as on its last."""
    after = pages.decode_cursor(cursor)
    rows = statement_postings(session, account.id, account.currency, size + 1,
                              (after[0], int(after[1])) if after else None, since, until)
    more = len(rows) > size
    rows = rows[:size]
    currency = account.currency
    return StatementPage(
        opening=cash_before(session, account.id, currency, since) if since is not None
        else Money.zero(currency),
        closing=cash_before(session, account.id, currency, until),
        rows=rows, next_cursor=pages.encode_cursor(rows[-1].at, str(rows[-1].id)) if more else None)


def statement_postings(session: Session, account_id: str, currency: str, limit: int,
                       after: tuple[datetime, int] | None, since: datetime | None,
                       until: datetime | None) -> list[Any]:
    """The cash wallet's postings in a period, oldest first, after a (time, id) key."""
    query = (select(Posting.id, Posting.book, Posting.amount_minor, Posting.currency,
                    Posting.balance_after_minor, Posting.at, JournalEntry.id.label("entry_id"),
                    JournalEntry.kind, JournalEntry.reference, JournalEntry.order_id,
                    JournalEntry.created_at)
             .join(JournalEntry, JournalEntry.id == Posting.entry_id)
             .where(Posting.account_id == account_id, Posting.book == CUSTOMER_CASH,
                    Posting.currency == currency)
             .order_by(Posting.at, Posting.id).limit(limit))
    if after is not None:
        query = query.where(tuple_(Posting.at, Posting.id)
                            > tuple_(literal(after[0], UtcDateTime()), literal(after[1], BigInteger())))
    if since is not None:
        query = query.where(Posting.at >= since)
    if until is not None:
        query = query.where(Posting.at < until)
    return list(session.execute(query))


def search_accounts(session: Session, text: str | None, limit: int, after: str | None) -> list[Account]:
    """Accounts whose name, e-mail or organisation number contains ``text``, by id."""
    query = select(Account).order_by(Account.id).limit(limit)
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(or_(Account.company_name.ilike(pattern, escape="\\"),
                                Account.email.ilike(pattern, escape="\\"),
                                Account.organisation_number.ilike(pattern, escape="\\")))
    if after is not None:
        query = query.where(Account.id > after)
    return list(session.scalars(query))


def card_payment_by_key(session: Session, account_id: str, request_key: str) -> CardPayment | None:
    return session.scalars(select(CardPayment).where(CardPayment.account_id == account_id,
                                                     CardPayment.request_key == request_key)).first()


# -- bank transactions ----------------------------------------------------------------------------


def bank_transaction_by_key(session: Session, key: str) -> BankTransaction | None:
    return session.scalars(select(BankTransaction).where(BankTransaction.dedupe_key == key)).first()


def account_quoted(session: Session, references: list[str]) -> Account | None:
    """The account whose payment reference is the first of ``references`` to name one."""
    if not references:
        return None
    found = {a.payment_reference: a for a in session.scalars(
        select(Account).where(Account.payment_reference.in_(references)))}
    return next((found[r] for r in references if r in found), None)


def open_invoices(session: Session, account_id: str, currency: str) -> Money:
    """What remains to be paid on the account's open payment invoices."""
    minor = session.scalar(select(func.coalesce(func.sum(Payable.total_minor - Payable.paid_minor), 0))
                           .where(Payable.account_id == account_id, Payable.currency == currency,
                                  Payable.status == "open"))
    return Money.from_minor(int(minor or 0), currency)


def payable_quoted(session: Session, references: list[str], words: list[str]) -> Payable | None:
    """The payment invoice whose wire reference, else whose number, a credit quotes first."""
    if not references and not words:
        return None
    rows = list(session.scalars(select(Payable).where(or_(
        Payable.wire_reference.in_(references + words), Payable.number.in_(words)))))
    by_reference = {p.wire_reference: p for p in rows}
    by_number = {p.number: p for p in rows}
    return (next((by_reference[r] for r in references + words if r in by_reference), None)
            or next((by_number[w] for w in words if w in by_number), None))


def bank_transactions(session: Session, status: str | None, limit: int,
                      after: tuple[datetime, str] | None) -> list[BankTransaction]:
    query = select(BankTransaction)
    if status is not None:
        query = query.where(BankTransaction.status == status)
    return list(session.scalars(newest_first(query, BankTransaction.created_at, BankTransaction.id,
                                             limit, after)))


# -- payment orders -------------------------------------------------------------------------------


def payment_order_by_key(session: Session, account_id: str, key: str) -> PaymentOrder | None:
    return session.scalars(select(PaymentOrder).where(PaymentOrder.account_id == account_id,
                                                      PaymentOrder.request_key == key)).first()


def payment_orders(session: Session, account_id: str | None, status: str | None, limit: int,
                   after: tuple[datetime, str] | None) -> list[PaymentOrder]:
    query = select(PaymentOrder)
    if account_id is not None:
        query = query.where(PaymentOrder.account_id == account_id)
    if status is not None:
        query = query.where(PaymentOrder.status == status)
    return list(session.scalars(newest_first(query, PaymentOrder.created_at, PaymentOrder.id, limit,
                                             after)))


def members(session: Session, account_id: str) -> list[User]:
    return list(session.scalars(select(User).where(User.account_id == account_id)
                                .order_by(User.created_at, User.id)))


def open_payables(session: Session, account_ids: list[str]) -> list[Payable]:
    """The open payment invoices of these accounts, oldest due first."""
    return list(session.scalars(
        select(Payable).where(Payable.account_id.in_(account_ids), Payable.status == "open")
        .order_by(Payable.due_on, Payable.number)))


STATEMENT_COLUMNS = ("posting", "at", "kind", "reference", "order_id", "amount", "balance_after")


def statement_csv(session: Session, account_id: str, currency: str, since: datetime, until: datetime,
                  after: tuple[datetime, int] | None, limit: int) -> tuple[str, int]:
    """Up to ``limit`` of the cash wallet's postings in [since, until) after a (time, id) key,
    oldest first, as CSV rows (``STATEMENT_COLUMNS``, amounts in major units) and how many.
    One range of ``ix_postings_wallet_at``: a wallet posting carries its entry's kind, reference
    and order.  On PostgreSQL the database writes the CSV itself (``string_agg`` of formatted rows, one
    value back: a page of 50,000 costs little more than reading it; ``COPY`` would be the same
    but psycopg2 refuses it under eventlet's green wait callback); elsewhere the csv module."""
    digits = exponent(currency)
    query = (select(Posting.id, Posting.at, Posting.kind, Posting.reference, Posting.order_id,
                    Posting.amount_minor, Posting.balance_after_minor)
             .where(Posting.account_id == account_id, Posting.book == CUSTOMER_CASH,
                    Posting.currency == currency, Posting.at >= since, Posting.at < until)
             .order_by(Posting.at, Posting.id).limit(limit))
    if after is not None:
        query = query.where(tuple_(Posting.at, Posting.id)
                            > tuple_(literal(after[0], UtcDateTime()), literal(after[1], BigInteger())))
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        count = 0
        for row in session.execute(query):
            writer.writerow([row.id, wire_time(row.at), row.kind, row.reference, row.order_id or "",
                             Money.from_minor(row.amount_minor, currency).amount,
                             "" if row.balance_after_minor is None
                             else Money.from_minor(row.balance_after_minor, currency).amount])
            count += 1
        return out.getvalue(), count
    scale = literal(Decimal(1).scaleb(-digits), Numeric())  # minor units times 0.01: exact

    def text_cell(value: Any) -> Any:
        """As the csv module writes it: quoted (quotes doubled) only when it must be."""
        return case((value.regexp_match('[,"\r\n]'),
                     literal('"') + func.replace(value, '"', '""') + literal('"')), else_=value)

    line = func.concat_ws(  # kinds are identifiers and order ids UUIDs: never quoted
        ",", Posting.id,
        func.to_char(func.timezone("UTC", Posting.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        func.coalesce(Posting.kind, ""), text_cell(func.coalesce(Posting.reference, "")),
        func.coalesce(Posting.order_id, ""),  # concat_ws leaves out NULLs: every cell is there
        Posting.amount_minor * scale, Posting.balance_after_minor * scale)
    page = query.with_only_columns(line.label("line"), Posting.at, Posting.id).subquery()
    text, count = session.execute(select(
        func.coalesce(func.string_agg(page.c.line, aggregate_order_by(literal("\n"), page.c.at,
                                                                      page.c.id)), ""),
        func.count())).one()
    return text + "\n" if count else "", count
