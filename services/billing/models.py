"""Billing's tables.  Amounts are integer minor units; balances are sums of postings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.commands import CommandMixin
from services.common.contracts import utcnow
from services.common.db import UtcDateTime
from services.common.messaging import OutboxMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    organisation_number: Mapped[str | None] = mapped_column(String(40))
    billing_address: Mapped[str | None] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[Literal["en", "sv", "ru"]] = mapped_column(String(5), default="en")
    vat_number: Mapped[str | None] = mapped_column(String(20))
    # the profile's parts as JSON (the shared contracts Address, BillingInfo, MailingInfo)
    company_address: Mapped[str | None] = mapped_column(Text)
    billing_info: Mapped[str | None] = mapped_column(Text)
    mailing_info: Mapped[str | None] = mapped_column(Text)
    delivery_channel: Mapped[Literal["email_pdf", "letter", "einvoice"]] = mapped_column(
        String(20), default="email_pdf")
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # derived from country + organisation number; kept so a directory change finds its accounts
    participant_id: Mapped[str | None] = mapped_column(String(60), index=True)
    payment_reference: Mapped[str] = mapped_column(String(25), unique=True)
    # raised by every profile change, so consumers can order what they hear
    profile_version: Mapped[int] = mapped_column(Integer, default=1)
    # a postpaid account may take its cash balance down to minus this (an operator sets it)
    credit_limit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # raised by every change of standing (``arrears_changed`` carries it)
    standing_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class EinvoiceParticipant(Base):
    """The e-invoice directory operators keep: who can receive e-invoices."""

    __tablename__ = "einvoice_participants"

    participant_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OverdueInvoice(Base):
    """A payment invoice the invoicing service reported overdue and not yet settled."""

    __tablename__ = "overdue_invoices"

    payment_invoice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_due_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    since: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Payable(Base):
    """A payment invoice the invoicing service opened, as billing takes payments for it: paid
    by wire (quoting its ``number`` or ``wire_reference``) or card, ``paid`` once ``paid_minor``
    reaches ``total_minor``; a payment above what remains goes to the cash wallet."""

    __tablename__ = "payables"

    payment_invoice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    wire_reference: Mapped[str] = mapped_column(String(35), unique=True)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    due_on: Mapped[date] = mapped_column(Date)
    claim: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[Literal["open", "paid", "void"]] = mapped_column(String(10))
    order_id: Mapped[str | None] = mapped_column(String(36), index=True)  # the sale it bills
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CardPayment(Base):
    """Money a customer pays by card: ``pending`` until the processor's signed callback says
    ``succeeded`` (the cash wallet is credited, or a payment invoice paid) or ``declined``;
    ``cancelled`` when its order expired unpaid (a success the processor reports anyway still
    brings its money, to the cash wallet)."""

    __tablename__ = "card_payments"
    __table_args__ = (UniqueConstraint("account_id", "request_key",
                                       name="uq_card_payments_request_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    request_key: Mapped[str | None] = mapped_column(String(250))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    purpose: Mapped[str] = mapped_column(String(20))  # top_up | payment_invoice | order
    payment_invoice_id: Mapped[str | None] = mapped_column(String(36))
    order_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[Literal["pending", "succeeded", "declined", "cancelled"]] = mapped_column(
        String(20))
    decline_reason: Mapped[str | None] = mapped_column(String(60))
    processor_reference: Mapped[str | None] = mapped_column(String(100))
    entry_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BankStatement(Base):
    """One imported camt.053 file."""

    __tablename__ = "bank_statements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(140))
    statement_id: Mapped[str] = mapped_column(String(140))
    version: Mapped[str] = mapped_column(String(10))
    account_iban: Mapped[str] = mapped_column(String(34))
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BankTransaction(Base):
    """Money received on the seller's account, from a statement: ``matched`` to an account
    (credited to its cash wallet) or ``unmatched`` until an operator matches it.  The bank's
    reference (``dedupe_key``) is unique, so a statement imported twice credits nothing more."""

    __tablename__ = "bank_transactions"
    __table_args__ = (Index("ix_bank_transactions_status", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    statement_id: Mapped[str] = mapped_column(ForeignKey("bank_statements.id"))
    dedupe_key: Mapped[str] = mapped_column(String(140), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    booked_on: Mapped[date | None] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    debtor_name: Mapped[str | None] = mapped_column(String(140))
    debtor_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str] = mapped_column(Text)
    creditor_reference: Mapped[str | None] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(20))  # matched | unmatched
    account_id: Mapped[str | None] = mapped_column(String(36))
    payment_invoice_id: Mapped[str | None] = mapped_column(String(36))
    entry_id: Mapped[str | None] = mapped_column(String(36))
    matched_by: Mapped[str | None] = mapped_column(String(80))
    matched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PaymentOrder(Base):
    """A customer's proof of a payment (a PDF or image of the bank's payment order), waiting
    for an operator to match it to money received (``matched``) or turn it down
    (``rejected``, with the reason)."""

    __tablename__ = "payment_orders"
    __table_args__ = (UniqueConstraint("account_id", "request_key", name="uq_payment_orders_request_key"),
                      Index("ix_payment_orders_account_created", "account_id", "created_at"),
                      Index("ix_payment_orders_status", "status", "created_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    request_key: Mapped[str | None] = mapped_column(String(250))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))  # pending | matched | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    bank_transaction_id: Mapped[str | None] = mapped_column(String(36))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ReferenceCounter(Base):
    """Hands out the numbers behind payment references (one row, locked when taken)."""

    __tablename__ = "reference_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[Literal["customer", "operator"]] = mapped_column(String(20))
    # owner | member within a customer account (None for operators)
    account_role: Mapped[str | None] = mapped_column(String(20))
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # tokens issued before this moment no longer work (a password reset sets it)
    credentials_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # a member the owner removed: kept (their actions stay attributable), unable to sign in
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    invited_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class UserToken(Base):
    """A one-time token sent by mail (e-mail verification, password reset).  Only its SHA-256
    is kept; it works once, until ``expires_at``."""

    __tablename__ = "user_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # verify_email | reset_password
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class LoginFailure(Base):
    """One failed sign-in, counted per subject (``user:<id>`` and ``client:<address>``) over a
    sliding hour."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_subject_at", "subject", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    subject: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class Revocation(Base):
    """A bearer token that stops working before it expires: one token (``token:<jti>``, at
    logout) or every token of a user issued before ``not_before`` (``user:<id>``, at a password
    reset).  The gateway keeps them in memory and polls for new ones."""

    __tablename__ = "revocations"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    subject: Mapped[str] = mapped_column(String(80), index=True)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class JournalEntry(Base):
    """One money movement.  Its postings sum to zero."""

    __tablename__ = "journal_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # the order a charge or refund belongs to (refunds are checked against its charges)
    order_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # who caused it: a user id, or "system"
    actor: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    postings: Mapped[list[Posting]] = relationship(back_populates="entry", lazy="selectin")


class Posting(Base):
    __tablename__ = "postings"
    __table_args__ = (Index("ix_postings_wallet_at", "account_id", "book", "currency", "at", "id"),
                      Index("ix_postings_account_id_id", "account_id", "id"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"))
    book: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str | None] = mapped_column(String(36))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # on a wallet posting: the wallet's balance after it (kept under the account's lock, and
    # checked against the sum of postings by ``cli check-ledger``)
    balance_after_minor: Mapped[int | None] = mapped_column(BigInteger)
    # the entry's time, kept here so a wallet's postings in a period, and its latest one, are
    # found by one index; never earlier than the wallet's previous posting's
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    # on a wallet posting: its entry's kind, reference and order, as its statement line shows
    # them (read without joining the journal)
    kind: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[str | None] = mapped_column(String(36))

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")


class Voucher(Base):
    """A code operators hand out: redeemed into the voucher wallet, ``uses`` times at most, once
    per account, until it expires; ``account_id`` set: only that account may redeem it."""

    __tablename__ = "vouchers"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    expires_on: Mapped[date] = mapped_column(Date)
    uses: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)
    account_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class VoucherRedemption(Base):
    __tablename__ = "voucher_redemptions"

    code: Mapped[str] = mapped_column(ForeignKey("vouchers.code"), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Command(CommandMixin, Base):
    pass


class OutboxMessage(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
