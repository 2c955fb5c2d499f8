"""Invoicing queries, each taking the caller's session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.common.pages import newest_first
from services.invoicing.models import (
    Delivery,
    Invoice,
    InvoiceableOrder,
    InvoiceApplication,
    InvoiceCounter,
    PaymentInvoice,
    Realization,
)


def invoiceable_orders(session: Session, account_id: str, limit: int,
                       after: tuple[datetime, str] | None) -> list[InvoiceableOrder]:
    query = select(InvoiceableOrder).where(InvoiceableOrder.account_id == account_id)
    return list(session.scalars(newest_first(
        query, InvoiceableOrder.implemented_at, InvoiceableOrder.order_id, limit, after)))


def applications(session: Session, account_id: str | None, limit: int,
                 after: tuple[datetime, str] | None,
                 status: str | None = None) -> list[InvoiceApplication]:
    """Applications newest first: of one account (None: of every account), in a status if
    given."""
    query = select(InvoiceApplication)
    if account_id is not None:
        query = query.where(InvoiceApplication.account_id == account_id)
    if status is not None:
        query = query.where(InvoiceApplication.status == status)
    return list(session.scalars(newest_first(
        query, InvoiceApplication.created_at, InvoiceApplication.id, limit, after)))


def application_by_request(session: Session, account_id: str,
                           request_key: str) -> InvoiceApplication | None:
    return session.scalars(select(InvoiceApplication).where(
        InvoiceApplication.account_id == account_id,
        InvoiceApplication.request_key == request_key,
    )).first()


def orders_for_update(session: Session, account_id: str, order_ids: list[str]) -> list[InvoiceableOrder]:
    """The account's invoiceable orders among ``order_ids``, locked in a stable order; an id
    that is missing or belongs to another account is reported as not found."""
    found = {
        row.order_id: row
        for row in session.scalars(
            select(InvoiceableOrder)
            .where(InvoiceableOrder.order_id.in_(order_ids),
                   InvoiceableOrder.account_id == account_id)
            .order_by(InvoiceableOrder.order_id)
            .with_for_update()
        )
    }
    missing = [order_id for order_id in order_ids if order_id not in found]
    if missing:
        raise NotFound("no such invoiceable order", {"order_ids": missing})
    return [found[order_id] for order_id in order_ids]


def orders_of(session: Session, application: InvoiceApplication,
              lock: bool = False) -> list[InvoiceableOrder]:
    """An application's orders in its order (locked in a stable order if ``lock``)."""
    ids = [link.order_id for link in application.orders]
    query = select(InvoiceableOrder).where(InvoiceableOrder.order_id.in_(ids))
    if lock:
        query = query.order_by(InvoiceableOrder.order_id).with_for_update()
    found = {row.order_id: row for row in session.scalars(query)}
    return [found[order_id] for order_id in ids if order_id in found]


def application(
    session: Session, account_id: str | None, application_id: str, *, lock: bool = False
) -> InvoiceApplication:
    """An application by id: of this account (another's is not found), or (None) any."""
    query = select(InvoiceApplication).where(InvoiceApplication.id == application_id)
    if account_id is not None:
        query = query.where(InvoiceApplication.account_id == account_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound("no such invoice application", {"application_id": application_id})
    return found


def invoice(session: Session, account_id: str, invoice_id: str) -> Invoice:
    found = session.scalars(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.account_id == account_id)
    ).first()
    if found is None:
        raise NotFound("no such invoice", {"invoice_id": invoice_id})
    return found


def invoices(session: Session, account_id: str, limit: int,
             after: tuple[datetime, str] | None, kind: str = "invoice") -> list[Invoice]:
    query = select(Invoice).where(Invoice.account_id == account_id, Invoice.kind == kind)
    return list(session.scalars(newest_first(query, Invoice.issued_at, Invoice.id, limit, after)))


def credit_notes_of(session: Session, invoice_id: str) -> list[Invoice]:
    return list(session.scalars(select(Invoice).where(Invoice.credited_invoice_id == invoice_id)
                                .order_by(Invoice.sequence)))


def deliveries(session: Session, limit: int, after: tuple[datetime, str] | None,
               invoice_id: str | None = None, status: str | None = None,
               channel: str | None = None) -> list[Delivery]:
    """Deliveries newest first, of one document, in one status or by one channel if given."""
    query = select(Delivery)
    if invoice_id is not None:
        query = query.where(Delivery.invoice_id == invoice_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    return list(session.scalars(newest_first(query, Delivery.created_at, Delivery.id, limit, after)))


def deliveries_of(session: Session, invoice_id: str, lock: bool = False) -> list[Delivery]:
    query = select(Delivery).where(Delivery.invoice_id == invoice_id).order_by(Delivery.created_at)
    return list(session.scalars(query.with_for_update() if lock else query))


def due_einvoices(session: Session, now: datetime, limit: int,
                  invoice_id: str | None = None) -> list[Delivery]:
    """E-invoice deliveries due for an attempt, locked, skipping rows another replica holds."""
    query = select(Delivery).where(Delivery.channel == "einvoice", Delivery.status == "pending",
                                   Delivery.next_attempt_at <= now)
    if invoice_id is not None:
        query = query.where(Delivery.invoice_id == invoice_id)
    return list(session.scalars(query.order_by(Delivery.next_attempt_at).limit(limit)
                                .with_for_update(skip_locked=True)))


def payment_invoices(session: Session, account_id: str, limit: int,
                     after: tuple[datetime, str] | None) -> list[PaymentInvoice]:
    query = select(PaymentInvoice).where(PaymentInvoice.account_id == account_id)
    return list(session.scalars(newest_first(
        query, PaymentInvoice.created_at, PaymentInvoice.id, limit, after)))


def payment_invoice_by_request(session: Session, account_id: str,
                               request_key: str) -> PaymentInvoice | None:
    return session.scalars(select(PaymentInvoice).where(
        PaymentInvoice.account_id == account_id, PaymentInvoice.request_key == request_key)).first()


def realizations_for_update(session: Session, account_id: str,
                            shipment_ids: list[str]) -> list[Realization]:
    """The account's realizations among ``shipment_ids``, locked in a stable order; one that
    is missing, not shipped or another account's is not found."""
    found = {row.shipment_id: row for row in session.scalars(
        select(Realization).where(Realization.shipment_id.in_(shipment_ids),
                                  Realization.account_id == account_id)
        .order_by(Realization.shipment_id).with_for_update())}
    missing = [shipment_id for shipment_id in shipment_ids if shipment_id not in found]
    if missing:
        raise NotFound("no such shipped shipment", {"shipment_ids": missing})
    return [found[shipment_id] for shipment_id in shipment_ids]


def past_due(session: Session, today: str, limit: int) -> list[PaymentInvoice]:
    """Open payment invoices whose due date is before ``today``, locked, skipping rows another
    replica holds."""
    return list(session.scalars(
        select(PaymentInvoice).where(PaymentInvoice.status == "open",
                                     PaymentInvoice.due_date < today)
        .order_by(PaymentInvoice.due_date).limit(limit).with_for_update(skip_locked=True)))


def next_invoice_sequence(session: Session, series: str, year: int) -> int:
    """Take the next number of a series and year inside the caller's transaction.  The
    counter row stays locked until that transaction ends, so concurrent issuers queue and a
    rolled-back issue gives its number back: no gaps, no duplicates."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(InvoiceCounter)
        .values(series=series, year=year, last_number=0)
        .on_conflict_do_nothing()
    )
    number = session.scalar(
        update(InvoiceCounter)
        .where(InvoiceCounter.series == series, InvoiceCounter.year == year)
        .values(last_number=InvoiceCounter.last_number + 1)
        .returning(InvoiceCounter.last_number)
    )
    assert number is not None
    return number
