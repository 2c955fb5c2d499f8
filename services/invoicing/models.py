"""Invoicing's tables.  Amounts are integer minor units.  An issued invoice is immutable and
keeps a JSON snapshot of seller, buyer and lines as they were when it was issued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.contracts import utcnow
from services.common.db import UtcDateTime
from services.common.messaging import OutboxMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class InvoiceableOrder(Base):
    """A paid order as invoicing knows it from the orders service's events (the newest state
    wins): what of it can be invoiced, or why nothing can."""

    __tablename__ = "invoiceable_orders"
    __table_args__ = (
        Index("ix_invoiceable_account_implemented", "account_id", "implemented_at", "order_id"),
    )

    order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    # available | applied | invoiced | pending | failed | voucher_only | nothing (domain.py)
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    # the cash (and voucher money) that paid what the order kept: paid less refunded
    cash_paid_minor: Mapped[int] = mapped_column(BigInteger)
    voucher_paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # the order's own status and when it last changed (an older event changes nothing)
    order_status: Mapped[str | None] = mapped_column(String(30))
    order_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    po_number: Mapped[str | None] = mapped_column(String(64))
    lines_json: Mapped[str] = mapped_column(Text)
    implemented_at: Mapped[datetime] = mapped_column(UtcDateTime())
    application_id: Mapped[str | None] = mapped_column(String(36))
    # invoiced: what its lines had returned and refunded when last invoiced or credited, JSON
    # {line_no: [returned units, refunded cash, refunded voucher]}; a later refund is credited
    credit_basis_json: Mapped[str | None] = mapped_column(Text)


class AccountProfile(Base):
    """What invoicing knows of an account, kept from billing's ``profile_changed`` and
    ``arrears_changed`` (each part: the newest version wins).  An application is checked
    against it under its row lock, which those events also take to change it."""

    __tablename__ = "account_profiles"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    profile_json: Mapped[str | None] = mapped_column(Text)  # ProfileChanged, as billing said it
    profile_version: Mapped[int] = mapped_column(Integer, default=-1)
    in_arrears: Mapped[bool] = mapped_column(Boolean, default=False)
    standing_version: Mapped[int] = mapped_column(Integer, default=-1)


class InvoiceApplication(Base):
    __tablename__ = "invoice_applications"
    __table_args__ = (
        UniqueConstraint("account_id", "request_key"),
        Index("ix_applications_account_created", "account_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    request_key: Mapped[str | None] = mapped_column(String(250))
    # awaiting_confirmation → submitted → issued | rejected; withdrawn (domain.py)
    status: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str | None] = mapped_column(String(20))  # this invoice's delivery channel
    reason: Mapped[str | None] = mapped_column(String(500))  # why it was rejected
    # every status it has had, with when: JSON [{"status", "at"}]
    status_history: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    orders: Mapped[list[ApplicationOrder]] = relationship(
        lazy="selectin", order_by="ApplicationOrder.position", cascade="all, delete-orphan"
    )


class ApplicationOrder(Base):
    __tablename__ = "application_orders"

    application_id: Mapped[str] = mapped_column(
        ForeignKey("invoice_applications.id"), primary_key=True
    )
    order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class InvoiceCounter(Base):
    """The last number issued in a series and year; locked while the next is taken."""

    __tablename__ = "invoice_counters"

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("series", "year", "sequence"),
        Index("ix_invoices_account_issued", "account_id", "issued_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    series: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="invoice")  # invoice | credit_note
    application_id: Mapped[str | None] = mapped_column(String(36), unique=True)  # an invoice's
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    snapshot_json: Mapped[str] = mapped_column(Text)
    issue_date: Mapped[str] = mapped_column(String(10))
    pdf_status: Mapped[str] = mapped_column(String(20), default="pending")
    pdf_document_id: Mapped[str | None] = mapped_column(String(36))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # the hash chain (chain.py): this document's hash, and the one before it in its series
    content_hash: Mapped[str | None] = mapped_column(String(64))
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    # the latest delivery's status (DeliveryStatus), as the customer sees it
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    credited_invoice_id: Mapped[str | None] = mapped_column(String(36), index=True)


class Delivery(Base):
    """One issued document's delivery by its channel (seed 001): ``email_pdf`` (the PDF
    attached to a mail), ``letter`` (queued for operators to print and post) or ``einvoice``
    (validated, then handed to the access point).  Every attempt is kept in ``attempts_json``;
    a failed attempt is retried after a doubling pause, ``DELIVERY_RETRY_LIMIT`` times, and
    then shows ``failed`` for operators.  A document the e-invoice rules refuse is ``held``
    with their rule ids and is not sent."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(20))
    # pending | emailed | queued_for_print | posted | transmitted | held | failed
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))  # the relay's / access point's
    rule_ids_json: Mapped[str | None] = mapped_column(Text)  # a held document's failed rules
    recipient: Mapped[str | None] = mapped_column(String(300))  # e-mail, address or endpoint
    attempts_json: Mapped[str] = mapped_column(Text, default="[]")  # [{at, outcome, detail}]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Transmission(Base):
    """What the access-point simulator received: the e-invoice as sent, under its message id."""

    __tablename__ = "access_point_transmissions"

    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), index=True)
    receiver: Mapped[str] = mapped_column(String(60))
    document_xml: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SimulatorSetting(Base):
    """How the access-point simulator answers (``accept``, ``fail`` once per attempt: a
    transient outage, ``reject``: a permanent refusal), set by operators for tests and demos."""

    __tablename__ = "simulator_settings"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class PaymentInvoice(Base):
    """An invoice for payment (seed 000: "wire transfer (create invoice)"): numbered in its own
    series without gaps, paid by a wire quoting its number or RF reference, or by card; open →
    paid, or void (its order expired unpaid).  Billing takes the payments; this keeps what it
    reports."""

    __tablename__ = "payment_invoices"
    __table_args__ = (
        UniqueConstraint("series", "year", "sequence"),
        UniqueConstraint("account_id", "request_key"),
        Index("ix_payment_invoices_account_created", "account_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # chosen by the order
    number: Mapped[str] = mapped_column(String(40), unique=True)
    series: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(String(36))
    order_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(10))  # open | overdue | paid | void
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    wire_reference: Mapped[str] = mapped_column(String(35), unique=True)
    po_number: Mapped[str | None] = mapped_column(String(64))
    lines_json: Mapped[str] = mapped_column(Text)
    issue_date: Mapped[str] = mapped_column(String(10))
    due_date: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # a claim bills a sale (an order, realizations); otherwise it asks for an advance
    claim: Mapped[bool] = mapped_column(Boolean, default=True)
    shipment_ids_json: Mapped[str | None] = mapped_column(Text)  # the realizations it bills
    request_key: Mapped[str | None] = mapped_column(String(250))


class Realization(Base):
    """A shipped shipment (from ``shipment_status_changed``), to be billed by a payment
    invoice for chosen realizations (seed 003), at most one."""

    __tablename__ = "realizations"
    __table_args__ = (Index("ix_realizations_account_shipped", "account_id", "shipped_at"),)

    shipment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36))
    number: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    po_number: Mapped[str | None] = mapped_column(String(64))
    lines_json: Mapped[str] = mapped_column(Text)
    shipped_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payment_invoice_id: Mapped[str | None] = mapped_column(String(36))


class OutboxMessage(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
