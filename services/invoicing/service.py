"""The invoicing service: learns of implemented orders, takes invoice applications, issues
numbered invoices and tracks their PDFs."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from eventlet import tpool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import einvoice, pages
from services.common.contracts import (
    ApplyForInvoice,
    ArrearsChanged,
    Attachment,
    CreatePaymentInvoice,
    CreditNoteIssued,
    DocumentReady,
    InvoiceableOrderOut,
    InvoiceApplicationOut,
    InvoiceIssued,
    InvoiceLineOut,
    InvoiceMailRequested,
    InvoiceOut,
    MailFailed,
    MailSent,
    MoneyOut,
    OrderCancelled,
    OrderEvent,
    OrderFailed,
    OrderImplemented,
    OrderLineOut,
    OrderOut,
    OrderPaid,
    OrderPartiallyFailed,
    OrderRefunded,
    PartySnapshot,
    PaymentInvoiceLineOut,
    PaymentInvoiceOpened,
    PaymentInvoiceOut,
    PaymentInvoiceOverdue,
    PaymentInvoiceRequested,
    PaymentInvoiceVoided,
    PaymentReceived,
    ProfileChanged,
    ShipmentStatusChanged,
    Standing,
    VatBreakdownOut,
    parse,
    utcnow,
    wire_minor,
    wire_time,
)
from services.common.db import Database
from services.common.errors import (
    CurrencyNotSupported,
    InvalidRequest,
    InvoiceAlreadyCredited,
    LetterNotQueued,
    NotFound,
    OrderAlreadyInvoiced,
)
from services.common.messaging import (
    Outbox,
    ServiceRpc,
    every,
    first_delivery,
    handles,
    retry_delay,
    rpc,
)
from services.common.money import Money, person_decides
from services.common.references import rf_reference
from services.common.seller import seller_party
from services.common.service import Pingable
from services.invoicing import chain, delivery, domain, repository
from services.invoicing.models import (
    AccountProfile,
    ApplicationOrder,
    Delivery,
    Invoice,
    InvoiceableOrder,
    InvoiceApplication,
    OutboxMessage,
    PaymentInvoice,
    ProcessedEvent,
    Realization,
    Transmission,
)

log = logging.getLogger(__name__)


class InvoicingService(Pingable):
    name = "invoicing"

    db = Database("invoicing")
    outbox = Outbox("invoicing", OutboxMessage)
    billing = ServiceRpc("billing")

    # -- events ----------------------------------------------------------------------------

    @handles(OrderPaid)
    def on_order_paid(self, payload: dict[str, Any]) -> None:
        self._learn(parse(OrderPaid, payload))

    @handles(OrderImplemented)
    def on_order_implemented(self, payload: dict[str, Any]) -> None:
        self._learn(parse(OrderImplemented, payload))

    @handles(OrderPartiallyFailed)
    def on_order_partially_failed(self, payload: dict[str, Any]) -> None:
        self._learn(parse(OrderPartiallyFailed, payload))

    @handles(OrderFailed)
    def on_order_failed(self, payload: dict[str, Any]) -> None:
        self._learn(parse(OrderFailed, payload))

    @handles(OrderCancelled)
    def on_order_cancelled(self, payload: dict[str, Any]) -> None:
        """An order cancelled: what it keeps, or (expired unpaid) its payment invoice void."""
        evt = parse(OrderCancelled, payload)
        if evt.reason == "payment_expired" and evt.order.payment_invoice_id:
            self._void_payment_invoice(evt.order.payment_invoice_id)
        self._learn(evt)

    # -- payment invoices ------------------------------------------------------------------

    @handles(PaymentInvoiceRequested)
    def on_payment_invoice_requested(self, payload: dict[str, Any]) -> None:
        """An order to be paid by wire transfer ("create invoice"): its payment invoice, with
        the id the order chose, numbered in ``PAYMENT_INVOICE_SERIES`` without gaps, for the
        order's total, due ``PAYMENT_TERMS_DAYS`` from today; billing takes its payments from
        now on (``payment_invoice_opened``, a claim: the order's price is owed)."""
        evt = parse(PaymentInvoiceRequested, payload)
        order = evt.order
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, evt.type, evt.event_id):
                return
            if session.get(PaymentInvoice, evt.payment_invoice_id) is not None:
                return
            self._open_payment_invoice(
                session, evt.payment_invoice_id, order.account_id, order.total.money(),
                [line.wire() for line in order.lines], po_number=order.po_number,
                order_id=order.id)

    def _open_payment_invoice(self, session: Session, invoice_id: str, account_id: str,
                              total: Money, lines: list[dict[str, Any]], *,
                              po_number: str | None = None, order_id: str | None = None,
                              shipment_ids: list[str] | None = None, claim: bool = True,
                              request_key: str | None = None) -> PaymentInvoice:
        """Number a payment invoice in its series (no gaps), give it its RF reference and due
        date, and tell billing to take payments for it (``payment_invoice_opened``)."""
        settings = self.settings
        today = datetime.now(UTC).date()
        series = settings.payment_invoice_series
        sequence = repository.next_invoice_sequence(session, series, today.year)
        due = today + timedelta(days=settings.payment_terms_days)
        invoice = PaymentInvoice(
            id=invoice_id, number=domain.invoice_number(series, today.year, sequence),
            series=series, year=today.year, sequence=sequence, account_id=account_id,
            order_id=order_id, status="open", currency=total.currency, total_minor=total.minor,
            paid_minor=0, wire_reference=rf_reference(int(f"9{today.year}{sequence:06d}")),
            po_number=po_number, lines_json=json.dumps(lines), issue_date=today.isoformat(),
            due_date=due.isoformat(), created_at=utcnow(), claim=claim,
            shipment_ids_json=json.dumps(shipment_ids) if shipment_ids else None,
            request_key=request_key)
        session.add(invoice)
        self.outbox.add(session, PaymentInvoiceOpened(
            payment_invoice_id=invoice.id, account_id=account_id, number=invoice.number,
            wire_reference=invoice.wire_reference, total=MoneyOut.of(total), due_on=due,
            claim=claim, order_id=order_id))
        return invoice

    @handles(ShipmentStatusChanged)
    def on_shipment_status_changed(self, payload: dict[str, Any]) -> None:
        """A shipped shipment is a realization, to be billed by a payment invoice on request."""
        evt = parse(ShipmentStatusChanged, payload)
        shipment = evt.shipment
        if shipment.status != "shipped":
            return
        with self.db.transaction() as session:
            if session.get(Realization, shipment.id) is not None:
                return
            session.add(Realization(
                shipment_id=shipment.id, account_id=shipment.account_id, number=shipment.number,
                order_id=shipment.order_id, currency=shipment.total.currency,
                total_minor=shipment.total.money().minor, po_number=shipment.po_number,
                lines_json=json.dumps([line.wire() for line in shipment.lines]),
                shipped_at=shipment.shipped_at or evt.occurred_at))

    @rpc
    def create_payment_invoice(self, account_id: str, data: dict[str, Any],
                               request_key: str | None = None) -> dict[str, Any]:
        """An invoice for payment on request: for chosen realizations of the account (their
        totals; each on one payment invoice at most: ``order_already_invoiced``), or for any
        amount in the account's currency (an advance: paid, it goes to the cash wallet).  A
        repeated ``request_key`` answers the invoice it made."""
        request = parse(CreatePaymentInvoice, data)
        currency = None
        if request.amount is not None:  # the account's currency, as billing keeps it
            currency = Standing.model_validate(
                self.billing.account_for_invoicing(account_id)["standing"]).cash_balance.currency
            if request.currency != currency:
                raise CurrencyNotSupported(f"the account is billed in {currency}",
                                           {"field": "currency"})
        with self.db.transaction() as session:
            if request_key and (made := repository.payment_invoice_by_request(
                    session, account_id, request_key)):
                return payment_invoice_out(made, self.settings.console_url).wire()
            invoice_id = str(uuid.uuid4())
            if request.amount is not None and currency is not None:
                invoice = self._open_payment_invoice(
                    session, invoice_id, account_id, Money(request.amount, currency), [],
                    claim=False, request_key=request_key)
                return payment_invoice_out(invoice, self.settings.console_url).wire()
            ids = list(dict.fromkeys(request.shipment_ids or []))
            shipped = repository.realizations_for_update(session, account_id, ids)
            for row in shipped:
                if row.payment_invoice_id is not None:
                    raise OrderAlreadyInvoiced(
                        f"shipment {row.number} is already on a payment invoice",
                        {"shipment_id": row.shipment_id, "payment_invoice_id": row.payment_invoice_id})
            billed = domain.single_currency([row.currency for row in shipped])
            invoice = self._open_payment_invoice(
                session, invoice_id, account_id,
                Money.from_minor(sum(row.total_minor for row in shipped), billed),
                [line for row in shipped for line in json.loads(row.lines_json)],
                po_number=next((row.po_number for row in shipped if row.po_number), None),
                shipment_ids=ids, request_key=request_key)
            for row in shipped:
                row.payment_invoice_id = invoice.id
            return payment_invoice_out(invoice, self.settings.console_url).wire()

    @every("reconcile_interval")
    def report_overdue(self) -> None:
        self._overdue(datetime.now(UTC).date())

    @rpc
    def run_timers_at(self, today: str) -> dict[str, int]:
        """Tests and demos move time: report what is overdue as of ``today`` (refused in
        production)."""
        if self.settings.environment == "production":
            raise InvalidRequest("time is not moved in production", {"field": "today"})
        return {"overdue": self._overdue(date.fromisoformat(today[:10]))}

    def _overdue(self, today: date) -> int:
        """Open payment invoices past their due date become ``overdue`` and are reported to
        billing (the account is in arrears until they are paid); rows taken with ``SKIP
        LOCKED``, so replicas never report one twice."""
        with self.db.transaction() as session:
            late = repository.past_due(session, today.isoformat(), 100)
            for invoice in late:
                invoice.status = "overdue"
                self.outbox.add(session, PaymentInvoiceOverdue(
                    payment_invoice_id=invoice.id, account_id=invoice.account_id,
                    amount_due=MoneyOut.minor(invoice.total_minor - invoice.paid_minor,
                                              invoice.currency)))
            return len(late)

    @handles(PaymentReceived)
    def on_payment_received(self, payload: dict[str, Any]) -> None:
        """Billing took money for a payment invoice: what it says was paid (never less than
        already known: reports may come out of order), and paid in full, ``paid``."""
        evt = parse(PaymentReceived, payload)
        if evt.payable is None:
            return
        with self.db.transaction() as session:
            invoice = session.get(PaymentInvoice, evt.payable.payment_invoice_id,
                                  with_for_update=True)
            if invoice is None:
                return
            invoice.paid_minor = max(invoice.paid_minor, evt.payable.paid.money().minor)
            if evt.payable.status == "paid" and invoice.status in ("open", "overdue"):
                invoice.status = "paid"

    def _void_payment_invoice(self, payment_invoice_id: str) -> None:
        """Void an open payment invoice and tell billing (nothing more is owed on it)."""
        with self.db.transaction() as session:
            invoice = session.get(PaymentInvoice, payment_invoice_id, with_for_update=True)
            if invoice is None or invoice.status not in ("open", "overdue"):
                return
            invoice.status = "void"
            self.outbox.add(session, PaymentInvoiceVoided(payment_invoice_id=invoice.id,
                                                          account_id=invoice.account_id))

    @handles(OrderRefunded)
    def on_order_refunded(self, payload: dict[str, Any]) -> None:
        self._learn(parse(OrderRefunded, payload))

    def _learn(self, evt: OrderEvent) -> None:
        """Keep a paid service or licence order's newest state: what of it can be invoiced
        (``domain.fate_of``), or why nothing can.  Events may come twice or out of order: a
        repeat is dropped, and an order state older than the one kept changes nothing.  An
        order on an application or invoice keeps that status."""
        order = evt.order
        if any(line.kind == "goods" for line in order.lines):
            return  # goods are billed by payment invoices for their shipments
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, evt.type, evt.event_id):
                return
            row = session.get(InvoiceableOrder, order.id, with_for_update=True)
            if row is None:
                if not domain.was_paid(order):
                    return  # refused or expired unpaid: nothing to list
                row = InvoiceableOrder(order_id=order.id, account_id=order.account_id,
                                       currency=order.total.currency, implemented_at=evt.occurred_at)
                session.add(row)
            elif row.order_updated_at is not None and row.order_updated_at > order.updated_at:
                return
            fate = domain.fate_of(order)
            if row.status not in (domain.APPLIED, domain.INVOICED):
                row.status = fate.status
            kept = kept_lines(order)
            row.net_minor = sum(line.net.money().minor for line in kept)
            row.vat_minor = sum(line.vat.money().minor for line in kept)
            row.cash_paid_minor, row.voucher_paid_minor = fate.cash_minor, fate.voucher_minor
            row.po_number, row.order_status, row.order_updated_at = (
                order.po_number, order.status, order.updated_at)
            row.lines_json = json.dumps([line.wire() for line in kept])
            if row.status == domain.INVOICED:
                self._credit_refunds(session, row, order, getattr(evt, "reason", None))

    @handles(DocumentReady)
    def on_document_ready(self, payload: dict[str, Any]) -> None:
        evt = parse(DocumentReady, payload)
        if evt.document.kind != "invoice":
            return
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, "document_ready", evt.event_id):
                return
            invoice = session.get(Invoice, evt.document.reference)
            if invoice is not None:
                invoice.pdf_status = "ready"
                invoice.pdf_document_id = evt.document.id
                for waiting in repository.deliveries_of(session, invoice.id, lock=True):
                    if waiting.status == delivery.PENDING and waiting.channel != "einvoice":
                        self._hand_over(session, waiting, invoice)

    # -- the customer's steps --------------------------------------------------------------

    @rpc
    def invoiceable(self, account_id: str, limit: int | None = None,
                    cursor: str | None = None) -> dict[str, Any]:
        """The Invoiceable List: the account's implemented orders, newest first, each saying
        whether it can be put on an application now."""
        size = pages.check_limit(limit)
        rows = repository.invoiceable_orders(self.db.session, account_id, size + 1,
                                             pages.decode_cursor(cursor))
        return pages.page([invoiceable_out(row).wire() for row in rows], size,
                          "implemented_at", "order_id")

    # -- the account, as billing announces it ------------------------------------------------

    @handles(ProfileChanged)
    def on_profile_changed(self, payload: dict[str, Any]) -> None:
        evt = parse(ProfileChanged, payload)
        self._keep(evt.account_id, profile=evt)

    @handles(ArrearsChanged)
    def on_arrears_changed(self, payload: dict[str, Any]) -> None:
        evt = parse(ArrearsChanged, payload)
        self._keep(evt.standing.account_id, standing=evt.standing)

    def _keep(self, account_id: str, profile: ProfileChanged | None = None,
              standing: Standing | None = None) -> None:
        """Keep the newer of what is known and what is told, part by part (by version), under
        the profile row's lock: the lock an application's check holds."""
        for attempt in range(2):
            try:
                with self.db.transaction() as session:
                    row = session.get(AccountProfile, account_id, with_for_update=True)
                    if row is None:
                        row = AccountProfile(account_id=account_id, profile_version=-1,
                                             in_arrears=False, standing_version=-1)
                        session.add(row)
                    if profile is not None and profile.profile_version > row.profile_version:
                        row.profile_json = profile.model_dump_json(
                            exclude={"event_id", "occurred_at", "version"})
                        row.profile_version = profile.profile_version
                    if standing is not None and standing.version > row.standing_version:
                        row.in_arrears, row.standing_version = standing.in_arrears, standing.version
                return
            except IntegrityError:  # its first two events at once: the other made the row
                if attempt:
                    raise

    def _ask_billing(self, account_id: str) -> None:
        """Ask billing about an account invoicing has not heard of yet, or that it would
        refuse (information missing, arrears): its events may be on their way, and a customer
        who has just paid should not be refused for the moment until they arrive.  Whichever
        is newer stays."""
        told = self.billing.account_for_invoicing(account_id)
        self._keep(account_id, profile=ProfileChanged.model_validate(told["profile"]),
                   standing=Standing.model_validate(told["standing"]))

    # -- the customer's steps --------------------------------------------------------------

    @rpc
    def apply(self, account_id: str, data: dict[str, Any],
              request_key: str | None = None) -> dict[str, Any]:
        """Put the chosen orders on an application awaiting the customer's confirmation (the
        preview).  The account's rules (billing and mailing information given, no arrears) and
        each order's are checked in the transaction that takes the orders, holding the
        account's profile row, so neither can change between the check and the commit; an
        account that would be refused is first asked about at billing (``_ask_billing``).  A
        repeated ``request_key`` answers with the application it made, so a client retrying
        after a timeout learns its id instead of hearing that its orders are taken."""
        request = parse(ApplyForInvoice, data)
        order_ids = list(dict.fromkeys(request.order_ids))
        for asked_billing in (False, True):
            with self.db.transaction() as session:
                account = session.get(AccountProfile, account_id, with_for_update=True)
                orders = repository.orders_for_update(session, account_id, order_ids)
                # after the locks: a concurrent twin of this request has committed or not started
                if request_key and (made := repository.application_by_request(
                        session, account_id, request_key)):
                    return application_out(made, profile_of(account), document_lines(orders)).wire()
                profile = profile_of(account)
                refusal = domain.account_refusal(profile, account is not None and account.in_arrears)
                if refusal is None:
                    return self._applied(session, account_id, request, request_key, profile,
                                         orders)
                if asked_billing:
                    raise refusal
            self._ask_billing(account_id)  # nothing was written: ask, then decide again
        raise AssertionError("unreachable: the second pass decides")

    def _applied(self, session: Session, account_id: str, request: ApplyForInvoice,
                 request_key: str | None, profile: ProfileChanged | None,
                 orders: list[InvoiceableOrder]) -> dict[str, Any]:
        for row in orders:
            domain.check_invoiceable(row.order_id, row.status)
        currency = domain.single_currency([row.currency for row in orders])
        lines = document_lines(orders)
        domain.check_scope(lines)
        totals = domain.amounts(lines, currency)
        application = InvoiceApplication(
            id=str(uuid.uuid4()),
            account_id=account_id,
            request_key=request_key,
            status=domain.AWAITING_CONFIRMATION,
            channel=request.channel or (profile.delivery_channel if profile else None),
            currency=currency,
            net_minor=totals.taxable_minor,
            vat_minor=totals.vat_minor,
            total_minor=totals.total_minor,
            created_at=utcnow(),
            orders=[ApplicationOrder(order_id=row.order_id, position=i)
                    for i, row in enumerate(orders)],
        )
        note_status(application, domain.AWAITING_CONFIRMATION)
        session.add(application)
        for row in orders:
            row.status = domain.APPLIED
            row.application_id = application.id
        return application_out(application, profile, lines, totals).wire()

    @rpc
    def list_applications(self, account_id: str, limit: int | None = None,
                          cursor: str | None = None) -> dict[str, Any]:
        size = pages.check_limit(limit)
        rows = repository.applications(self.db.session, account_id, size + 1,
                                       pages.decode_cursor(cursor))
        return pages.page([application_out(row).wire() for row in rows], size, "created_at")

    @rpc
    def list_all_applications(self, status: str | None = None, limit: int | None = None,
                              cursor: str | None = None) -> dict[str, Any]:
        """Operators: every account's applications newest first (``submitted``: to review)."""
        size = pages.check_limit(limit)
        rows = repository.applications(self.db.session, None, size + 1,
                                       pages.decode_cursor(cursor), status)
        return pages.page([application_out(row).wire() for row in rows], size, "created_at")

    @rpc
    def get_application(self, account_id: str, application_id: str) -> dict[str, Any]:
        session = self.db.session
        application = repository.application(session, account_id, application_id)
        return application_out(application, profile_of(session.get(AccountProfile, account_id)),
                               document_lines(repository.orders_of(session, application))).wire()

    @rpc
    def confirm(self, account_id: str, application_id: str) -> dict[str, Any]:
        """The customer confirms the preview: the account's rules are checked again (under its
        profile row's lock), the application is ``submitted`` and its invoice issued at once,
        or left for an operator's review where ``INVOICING_REVIEW`` says so.  Confirming again
        answers the same; exactly one invoice is issued."""
        with self.db.transaction() as session:
            account = session.get(AccountProfile, account_id, with_for_update=True)
            application = repository.application(session, account_id, application_id, lock=True)
            profile = profile_of(account)
            if application.status in (domain.SUBMITTED, domain.ISSUED):
                return application_out(application, profile).wire()
            domain.check_pending(application.status)
            domain.check_account(profile, account is not None and account.in_arrears)
            note_status(application, domain.SUBMITTED)
            total = Money.from_minor(application.total_minor, application.currency)
            if not person_decides(self.settings.invoicing_review, total):
                self._issue(session, application, profile)
            return application_out(application, profile).wire()

    @rpc
    def withdraw(self, account_id: str, application_id: str) -> dict[str, Any]:
        """The customer withdraws an application not yet issued: its orders are free again."""
        with self.db.transaction() as session:
            application = repository.application(session, account_id, application_id, lock=True)
            if application.status != domain.WITHDRAWN:
                domain.check_pending(application.status, *domain.LIVE)
                self._close(session, application, domain.WITHDRAWN)
            return application_out(application).wire()

    @rpc
    def approve(self, application_id: str) -> dict[str, Any]:
        """An operator approves a submitted application: its invoice is issued."""
        with self.db.transaction() as session:
            found = repository.application(session, None, application_id)
            account = session.get(AccountProfile, found.account_id, with_for_update=True)
            profile = profile_of(account)
            application = repository.application(session, None, application_id, lock=True)
            if application.status != domain.ISSUED:
                domain.check_pending(application.status, domain.SUBMITTED)
                self._issue(session, application, profile)
            return application_out(application, profile).wire()

    @rpc
    def reject(self, application_id: str, reason: str) -> dict[str, Any]:
        """An operator rejects a submitted application, saying why: its orders are free again."""
        with self.db.transaction() as session:
            application = repository.application(session, None, application_id, lock=True)
            if application.status != domain.REJECTED:
                domain.check_pending(application.status, domain.SUBMITTED)
                application.reason = reason[:500]
                self._close(session, application, domain.REJECTED)
            return application_out(application).wire()

    @staticmethod
    def _close(session: Session, application: InvoiceApplication, status: str) -> None:
        """End an application without an invoice: each of its orders is as it would be had it
        never been applied for."""
        note_status(application, status)
        for row in repository.orders_of(session, application, lock=True):
            if row.application_id == application.id and row.status == domain.APPLIED:
                row.status = domain.status_of(row.order_status, row.cash_paid_minor,
                                              row.voucher_paid_minor)
                row.application_id = None

    def _issue(self, session: Session, application: InvoiceApplication,
               profile: ProfileChanged | None) -> None:
        """Issue the application's invoice: made out to the billing information as it is now,
        its amounts decided by ``domain.Document``, numbered in its series and year without
        gaps, sealed into the chain, and announced."""
        assert profile is not None and profile.billing_info is not None
        orders = repository.orders_of(session, application, lock=True)
        today = datetime.now(UTC).date()
        invoice = self._issued(session, domain.Document(
            kind=domain.INVOICE, currency=application.currency,
            seller=seller_party(self.settings), buyer=domain.buyer_party(profile),
            lines=document_lines(orders), po_numbers=[row.po_number for row in orders if row.po_number],
            issue_date=today, supply_date=max(row.implemented_at for row in orders).date(),
            payment_reference="", channel=application.channel or profile.delivery_channel,
            mailing=domain.mailing_of(profile), language=profile.language),
            account_id=application.account_id, application_id=application.id)
        note_status(application, domain.ISSUED)
        application.invoice_id = invoice.id
        for row in orders:
            row.status = domain.INVOICED
            row.credit_basis_json = json.dumps(credit_basis(json.loads(row.lines_json)))

    def _issued(self, session: Session, document: domain.Document, account_id: str,
                application_id: str | None = None) -> Invoice:
        """Number, seal, store and announce a document (an invoice or a credit note)."""
        settings = self.settings
        series = settings.invoice_series if document.kind == domain.INVOICE else settings.credit_note_series
        today = document.issue_date
        sequence = repository.next_invoice_sequence(session, series, today.year)
        number = domain.invoice_number(series, today.year, sequence)
        if not document.payment_reference:
            document = replace(document, payment_reference=number)
        totals, snapshot = document.amounts, document.snapshot()
        invoice = Invoice(
            id=str(uuid.uuid4()), number=number, series=series, year=today.year,
            sequence=sequence, kind=document.kind, account_id=account_id,
            application_id=application_id, status="issued", currency=document.currency,
            net_minor=totals.taxable_minor, vat_minor=totals.vat_minor,
            total_minor=totals.total_minor, snapshot_json=json.dumps(snapshot),
            issue_date=today.isoformat(), pdf_status="pending", issued_at=utcnow())
        invoice.credited_invoice_id = document.credited_invoice_id
        invoice.delivery_status = delivery.PENDING
        chain.seal(session, invoice)
        session.add(invoice)
        session.add(new_delivery(invoice, document, snapshot))
        out = invoice_out(invoice)
        self.outbox.add(session, InvoiceIssued(invoice=out) if document.kind == domain.INVOICE
                        else CreditNoteIssued(invoice=out))
        return invoice

    # -- credit notes ----------------------------------------------------------------------

    def _credit_refunds(self, session: Session, row: InvoiceableOrder, order: OrderOut,
                        reason: str | None) -> None:
        """An invoiced order refunded since it was invoiced (or last credited): a credit note
        for exactly the units returned and the money given back since, referencing the
        invoice; the order's basis moves on so nothing is credited twice."""
        basis = json.loads(row.credit_basis_json) if row.credit_basis_json else {}
        wired = [line.wire() for line in order.lines]
        now = credit_basis(wired)
        lines = []
        for line in wired:
            before = basis.get(str(line["line_no"]))
            if before is None:
                continue
            units, cash, voucher = (after - was for after, was in zip(
                now[str(line["line_no"])], before, strict=True))
            if units <= 0 and cash <= 0 and voucher <= 0:
                continue
            lines.append(domain.credited_line(order.id, line, max(units, 0), cash, voucher,
                                              order.total.currency))
        if not lines:
            return
        application = session.get(InvoiceApplication, row.application_id or "")
        invoice = session.get(Invoice, application.invoice_id or "") if application else None
        if invoice is None:
            return
        self._issued(session, credit_note_of(invoice, lines, reason), invoice.account_id)
        row.credit_basis_json = json.dumps(now)

    @rpc
    def credit_invoice(self, invoice_id: str, reason: str) -> dict[str, Any]:
        """An operator credits an invoice in full (a correction: the buyer's details were
        wrong, the sale is undone): a credit note for every line as invoiced, and the orders
        on it can be applied for and invoiced again.  Crediting it again answers the same
        credit note; an invoice already credited in part is refused
        (``invoice_already_credited``)."""
        with self.db.transaction() as session:
            invoice = session.get(Invoice, invoice_id, with_for_update=True)
            if invoice is None or invoice.kind != domain.INVOICE:
                raise NotFound("no such invoice", {"invoice_id": invoice_id})
            made = repository.credit_notes_of(session, invoice.id)
            if invoice.status == domain.CREDITED and made:
                return invoice_out(made[-1]).wire()
            if made:
                raise InvoiceAlreadyCredited(
                    f"invoice {invoice.number} already has credit notes",
                    {"credit_note_ids": [note.id for note in made]})
            credit = self._issued(session, credit_note_of(invoice, invoiced_lines(invoice),
                                                          reason[:500]), invoice.account_id)
            invoice.status = domain.CREDITED
            if invoice.application_id:
                application = session.get(InvoiceApplication, invoice.application_id)
                assert application is not None
                for row in repository.orders_of(session, application, lock=True):
                    if row.status == domain.INVOICED and row.application_id == application.id:
                        row.status = domain.status_of(row.order_status, row.cash_paid_minor,
                                                      row.voucher_paid_minor)
                        row.application_id, row.credit_basis_json = None, None
            return invoice_out(credit).wire()

    # -- delivery --------------------------------------------------------------------------

    def _hand_over(self, session: Session, sending: Delivery, invoice: Invoice) -> None:
        """A produced PDF goes its way: mailed (attached; ``emailed`` once the relay takes it)
        or into the letter queue (``queued_for_print``)."""
        snapshot = json.loads(invoice.snapshot_json)
        sending.attempts += 1
        if sending.channel == "letter":
            self._moved(session, sending, delivery.QUEUED_FOR_PRINT, "queued for print")
            return
        if not sending.recipient or "@" not in sending.recipient:
            self._moved(session, sending, delivery.FAILED, "no e-mail address to send it to",
                        last_error="no e-mail address to send it to")
            return
        # facts only: the template says them in the buyer's language
        self.outbox.add(session, InvoiceMailRequested(
            mail_id=delivery.mail_id(sending), to=sending.recipient or "",
            language=snapshot.get("language") or "en",
            template="invoice_issued", account_id=invoice.account_id, reports=True,
            attachments=[Attachment(kind="invoice", reference=invoice.id)],
            context={"kind": invoice.kind or domain.INVOICE, "number": invoice.number,
                     "issue_date": invoice.issue_date,
                     "total": str(MoneyOut.minor(invoice.total_minor, invoice.currency).amount),
                     "currency": invoice.currency,
                     "po_numbers": ", ".join(snapshot.get("po_numbers") or []),
                     "seller": snapshot["seller"]["name"]}))
        delivery.record(sending, "handed_to_mail", sending.recipient)

    def _moved(self, session: Session, sending: Delivery, status: str, detail: str | None = None,
               **fields: Any) -> None:
        """A delivery's new status, recorded, shown on its document (and, reaching the
        customer, its application becomes ``delivered``)."""
        sending.status = status
        for name, value in fields.items():
            setattr(sending, name, value)
        delivery.record(sending, status, detail)
        invoice = session.get(Invoice, sending.invoice_id)
        if invoice is None:
            return
        invoice.delivery_status = status
        if status in delivery.DELIVERED and invoice.application_id:
            application = session.get(InvoiceApplication, invoice.application_id, with_for_update=True)
            if application is not None and application.status == domain.ISSUED:
                note_status(application, domain.DELIVERED)

    @handles(MailSent)
    def on_mail_sent(self, payload: dict[str, Any]) -> None:
        evt = parse(MailSent, payload)
        self._mail_outcome(evt.mail_id, delivery.EMAILED, evt.message_id, None)

    @handles(MailFailed)
    def on_mail_failed(self, payload: dict[str, Any]) -> None:
        evt = parse(MailFailed, payload)
        self._mail_outcome(evt.mail_id, delivery.FAILED, None, evt.error)

    def _mail_outcome(self, mail_key: str, status: str, message_id: str | None,
                      error: str | None) -> None:
        """What the mail of a delivery's latest attempt became (an older attempt's report,
        or a repeat, changes nothing)."""
        delivery_id = delivery.delivery_of_mail(mail_key)
        if delivery_id is None:
            return
        with self.db.transaction() as session:
            sending = session.get(Delivery, delivery_id, with_for_update=True)
            if sending is None or sending.status != delivery.PENDING \
                    or delivery.mail_id(sending) != mail_key:
                return
            self._moved(session, sending, status, message_id or error, message_id=message_id,
                        last_error=error)

    @every("delivery_interval")
    def transmit_due(self) -> None:
        """E-invoices go out on this sweep (``DELIVERY_INTERVAL``): issuing stays as cheap as
        before, and a retry's pause is honoured in the same place."""
        self._transmit_due()

    def _transmit_due(self, invoice_id: str | None = None) -> int:
        """Send the e-invoices that are due (``invoice_id``: that document's).  Each is claimed
        first — its next attempt moved a lease ahead, committed — so another sweep or replica
        leaves it alone; a process that dies while sending leaves it for after the lease."""
        settings = self.settings
        lease = timedelta(seconds=settings.rpc_timeout * 2 + 5)
        with self.db.transaction() as session:
            now = utcnow()
            claimed = []
            for due in repository.due_einvoices(session, now, 20, invoice_id):
                due.attempts += 1
                due.next_attempt_at = now + lease
                claimed.append(due.id)
        for delivery_id in claimed:
            self._transmit(delivery_id)
        return len(claimed)

    def _transmit(self, delivery_id: str) -> None:
        """Validate an e-invoice and hand it to the access point: ``transmitted``; refused by
        the rules, ``held`` with their ids (not sent); a failed hand-over retried with backoff,
        then ``failed``."""
        settings = self.settings
        with self.db.transaction() as session:
            sending = session.get(Delivery, delivery_id)
            assert sending is not None
            invoice = session.get(Invoice, sending.invoice_id)
            assert invoice is not None
            document = einvoice.ubl(invoice_out(invoice))
        # in a real thread: compiling the rules (once) and running them must not hold the hub
        findings = tpool.execute(einvoice.validator(settings.einvoice_rules_dir).check, document)
        refused = einvoice.rejections(findings)
        with self.db.transaction() as session:
            sending = session.get(Delivery, delivery_id, with_for_update=True)
            assert sending is not None
            if sending.status != delivery.PENDING:
                return
            if refused:
                log.warning("e-invoice %s held: the rules refuse it (%s)", sending.invoice_id,
                            ", ".join(refused))
                self._moved(session, sending, delivery.HELD, ", ".join(refused),
                            rule_ids_json=json.dumps(refused), next_attempt_at=None,
                            last_error="; ".join(f"{f.rule_id}: {f.text}" for f in findings
                                                 if f.rule_id in refused)[:2000])
                return
            try:
                message_id = delivery.SimulatedAccessPoint().transmit(
                    session, sending.id, sending.recipient or "", document)
            except delivery.TransmissionFailed as failure:
                final = failure.permanent or sending.attempts > settings.delivery_retry_limit
                if final:
                    self._moved(session, sending, delivery.FAILED, str(failure),
                                last_error=str(failure), next_attempt_at=None)
                else:
                    pause = retry_delay(sending.attempts - 1, settings.delivery_retry_backoff)
                    sending.next_attempt_at = utcnow() + timedelta(seconds=pause)
                    sending.last_error = str(failure)
                    delivery.record(sending, "retry", str(failure))
                return
            self._moved(session, sending, delivery.TRANSMITTED, message_id, message_id=message_id,
                        rule_ids_json=None, last_error=None, next_attempt_at=None)

    @rpc
    def list_deliveries(self, invoice_id: str | None = None, status: str | None = None,
                        channel: str | None = None, limit: int | None = None,
                        cursor: str | None = None) -> dict[str, Any]:
        """Operators: deliveries newest first (of a document, in a status, by a channel)."""
        size = pages.check_limit(limit)
        rows = repository.deliveries(self.db.session, size + 1, pages.decode_cursor(cursor),
                                     invoice_id, status, channel)
        return pages.page([delivery.delivery_out(row) for row in rows], size, "created_at")

    @rpc
    def get_delivery(self, delivery_id: str, channel: str | None = None) -> dict[str, Any]:
        found = self.db.session.get(Delivery, delivery_id)
        if found is None or (channel is not None and found.channel != channel):
            raise NotFound("no such delivery", {"delivery_id": delivery_id})
        return delivery.delivery_out(found)

    @rpc
    def retry_delivery(self, delivery_id: str) -> dict[str, Any]:
        """Operators: try a failed or held delivery again, now (a held e-invoice is validated
        again: fixed rules or data may let it pass).  Retrying one under way answers it."""
        with self.db.transaction() as session:
            sending = session.get(Delivery, delivery_id, with_for_update=True)
            if sending is None:
                raise NotFound("no such delivery", {"delivery_id": delivery_id})
            if sending.status not in delivery.RETRYABLE:
                return delivery.delivery_out(sending)
            invoice = session.get(Invoice, sending.invoice_id)
            assert invoice is not None
            self._moved(session, sending, delivery.PENDING, "retried by an operator",
                        next_attempt_at=utcnow(), last_error=None)
            if sending.channel != "einvoice" and invoice.pdf_status == "ready":
                self._hand_over(session, sending, invoice)
        if sending.channel == "einvoice":
            self._transmit_due(sending.invoice_id)
        return delivery.delivery_out(self.db.session.get(Delivery, delivery_id))

    @rpc
    def mark_posted(self, letter_id: str) -> dict[str, Any]:
        """Operators: a printed letter was posted.  Again: the same answer."""
        with self.db.transaction() as session:
            letter = session.get(Delivery, letter_id, with_for_update=True)
            if letter is None or letter.channel != "letter":
                raise NotFound("no such letter", {"letter_id": letter_id})
            if letter.status == delivery.QUEUED_FOR_PRINT:
                self._moved(session, letter, delivery.POSTED, "posted by an operator")
                self._letter_notice(session, letter)
            elif letter.status != delivery.POSTED:
                raise LetterNotQueued(f"the letter is {letter.status}", {"status": letter.status})
            return delivery.delivery_out(letter)

    def _letter_notice(self, session: Session, letter: Delivery) -> None:
        """Tell the buyer its document is in the post (to the mailing e-mail, a copy attached),
        so the letter is not the first it hears of it."""
        invoice = session.get(Invoice, letter.invoice_id)
        assert invoice is not None
        snapshot = json.loads(invoice.snapshot_json)
        email = snapshot["buyer"].get("email")
        if not email:
            return
        self.outbox.add(session, InvoiceMailRequested(
            mail_id=f"letter-posted:{letter.id}", to=email, language=snapshot.get("language") or "en",
            template="letter_posted", account_id=invoice.account_id,
            attachments=[Attachment(kind="invoice", reference=invoice.id)],
            context={"kind": invoice.kind or domain.INVOICE, "number": invoice.number,
                     "posted_on": utcnow().date().isoformat(),
                     "address": ", ".join((letter.recipient or "").splitlines()),
                     "seller": snapshot["seller"]["name"]}))

    @rpc
    def set_access_point_simulator(self, outcome: str) -> dict[str, str]:
        """How the simulated access point answers from now on: ``accept``, ``fail`` (an outage:
        retried) or ``reject`` (a permanent refusal)."""
        if outcome not in delivery.SIMULATOR_OUTCOMES:
            raise InvalidRequest("outcome is accept, fail or reject", {"field": "outcome"})
        with self.db.transaction() as session:
            delivery.set_simulator(session, outcome)
        return {"outcome": outcome}

    @rpc
    def transmissions(self, delivery_id: str) -> list[dict[str, str]]:
        """What the simulated access point received for a delivery (tests, demos)."""
        rows = self.db.session.scalars(select(Transmission).where(
            Transmission.delivery_id == delivery_id))
        return [{"message_id": row.message_id, "receiver": row.receiver,
                 "document_xml": row.document_xml} for row in rows]

    @rpc
    def einvoice_xml(self, account_id: str | None, invoice_id: str) -> dict[str, str]:
        """An issued document as a UBL 2.1 Peppol BIS Billing 3.0 invoice or credit note
        (``account_id`` None: operators, any account's)."""
        invoice = self.db.session.get(Invoice, invoice_id)
        if invoice is None or (account_id is not None and invoice.account_id != account_id):
            raise NotFound("no such invoice", {"invoice_id": invoice_id})
        kind = (invoice.kind or domain.INVOICE).replace("_", "-")
        return {"xml": einvoice.ubl(invoice_out(invoice)).decode(),
                "filename": f"{kind}-{invoice.number}.xml"}

    @rpc
    def list_invoices(self, account_id: str, limit: int | None = None,
                      cursor: str | None = None, kind: str | None = None) -> dict[str, Any]:
        """The account's invoices newest first (``kind``: ``invoice``, the default,
        ``credit_note`` or ``payment_invoice``)."""
        size = pages.check_limit(limit)
        after = pages.decode_cursor(cursor)
        if kind == "payment_invoice":
            found = repository.payment_invoices(self.db.session, account_id, size + 1, after)
            url = self.settings.console_url
            return pages.page([payment_invoice_out(row, url).wire() for row in found], size,
                              "created_at")
        rows = repository.invoices(self.db.session, account_id, size + 1, after,
                                   kind or domain.INVOICE)
        return pages.page([invoice_out(row).wire() for row in rows], size, "issued_at")

    @rpc
    def issued_between(self, account_id: str, since: str, until: str) -> dict[str, Any]:
        """The invoices and credit notes issued to the account in a period (issue dates from
        ``since`` to ``until``, both included), oldest first, each with the orders it covers:
        what a settlements report lists beside the movements of money."""
        rows = self.db.session.scalars(
            select(Invoice).where(Invoice.account_id == account_id, Invoice.issue_date >= since,
                                  Invoice.issue_date <= until)
            .order_by(Invoice.issue_date, Invoice.number))
        items = []
        for row in rows:
            out = invoice_out(row)
            items.append({"id": out.id, "number": out.number, "kind": out.kind,
                          "issue_date": out.issue_date, "total": out.total.wire(),
                          "credited_invoice_number": out.credited_invoice_number,
                          "order_ids": sorted({line.order_id for line in out.lines})})
        return {"items": items}

    @rpc
    def payment_page(self, payment_invoice_id: str) -> dict[str, Any]:
        """What the payment page (``/pay/{id}``, the link printed on a payment invoice) shows
        to whoever holds the link: the number, what remains, the due date and the wire
        instructions — and the account, for the card payment it starts."""
        invoice = self.db.session.get(PaymentInvoice, payment_invoice_id)
        if invoice is None:
            raise NotFound("no such payment invoice", {"payment_invoice_id": payment_invoice_id})
        out = payment_invoice_out(invoice)
        settings = self.settings
        return {"id": out.id, "account_id": out.account_id, "number": out.number,
                "status": out.status, "remaining": out.remaining.wire(), "total": out.total.wire(),
                "due_date": out.due_date, "wire_reference": out.wire_reference,
                "paid_minor": invoice.paid_minor, "seller": settings.seller_name,
                "iban": settings.seller_iban, "bic": settings.seller_bic}

    @rpc
    def get_invoice(self, account_id: str, invoice_id: str) -> dict[str, Any]:
        """An invoice of any kind by id (another account's is not found)."""
        payment_invoice = self.db.session.get(PaymentInvoice, invoice_id)
        if payment_invoice is not None and payment_invoice.account_id == account_id:
            return payment_invoice_out(payment_invoice, self.settings.console_url).wire()
        return invoice_out(repository.invoice(self.db.session, account_id, invoice_id)).wire()


def kept_lines(order: OrderOut) -> list[OrderLineOut]:
    """The lines of what the order kept: each line's successful units not refunded since (a
    line with none is gone), priced as the order prices them (net = quantity × unit price rounded
    half-up, VAT on the net)."""
    kept = []
    for line in order.lines:
        units = line.quantity - line.failed_quantity - line.returned_quantity
        if units <= 0:
            continue
        if units != line.quantity:
            net = line.unit_price.money().times(units)
            vat = net.times(Decimal(line.vat_rate) / 100)
            line = line.model_copy(update={"quantity": units, "net": MoneyOut.of(net),
                                           "vat": MoneyOut.of(vat), "gross": MoneyOut.of(net + vat)})
        kept.append(line)
    return kept


def credit_basis(lines: list[dict[str, Any]]) -> dict[str, list[int]]:
    """What each order line had returned and refunded (minor units), by line number."""
    return {str(line["line_no"]): [line.get("returned_quantity", 0),
                                   wire_minor(line.get("refunded_cash")),
                                   wire_minor(line.get("refunded_voucher"))] for line in lines}


def invoiced_lines(invoice: Invoice) -> list[domain.Line]:
    """An issued invoice's lines as they were invoiced, with the money that paid each."""
    snapshot = json.loads(invoice.snapshot_json)
    paid = snapshot.get("paid") or [[wire_minor(line["gross"]), 0] for line in snapshot["lines"]]
    return [domain.Line(
        order_id=line["order_id"], sku=line.get("sku"), description=line["description"],
        quantity=line["quantity"], unit_price_minor=wire_minor(line["unit_price"]),
        category=line.get("vat_category") or "S", rate=Decimal(line["vat_rate"]),
        net_minor=wire_minor(line["net"]), cash_minor=cash, voucher_minor=voucher)
        for line, (cash, voucher) in zip(snapshot["lines"], paid, strict=True)]


def credit_note_of(invoice: Invoice, lines: list[domain.Line], reason: str | None) -> domain.Document:
    """A credit note for these lines of an invoice: to the same buyer, by the same channel."""
    snapshot = json.loads(invoice.snapshot_json)
    return domain.Document(
        kind=domain.CREDIT_NOTE, currency=invoice.currency,
        seller=PartySnapshot(**snapshot["seller"]), buyer=PartySnapshot(**snapshot["buyer"]),
        lines=lines, po_numbers=snapshot["po_numbers"], issue_date=datetime.now(UTC).date(),
        supply_date=date.fromisoformat(snapshot["supply_date"]) if snapshot.get("supply_date") else None,
        payment_reference=invoice.number, channel=snapshot.get("channel"),
        mailing=snapshot.get("mailing"), language=snapshot.get("language") or "en",
        credited_invoice_id=invoice.id, credited_invoice_number=invoice.number,
        credit_reason=reason)


def new_delivery(invoice: Invoice, document: domain.Document, snapshot: dict[str, Any]) -> Delivery:
    """A document's delivery by its channel (default e-mail), to where it goes."""
    channel = document.channel or "email_pdf"
    mailing = document.mailing or {}
    recipient = {"email_pdf": mailing.get("email") or document.buyer.email,
                 "letter": "\n".join(window_lines(snapshot)),
                 "einvoice": document.buyer.endpoint_id}.get(channel)
    now = utcnow()
    return Delivery(id=str(uuid.uuid4()), invoice_id=invoice.id, account_id=invoice.account_id,
                    channel=channel, status=delivery.PENDING, attempts=0,
                    next_attempt_at=now if channel == "einvoice" else None, recipient=recipient,
                    attempts_json="[]", created_at=now, updated_at=now)


def profile_of(account: AccountProfile | None) -> ProfileChanged | None:
    if account is None or account.profile_json is None:
        return None
    return ProfileChanged.model_validate_json(account.profile_json)


def note_status(application: InvoiceApplication, status: str) -> None:
    """Move an application to ``status`` and add it, with when, to its history."""
    history = json.loads(application.status_history) if application.status_history else []
    history.append({"status": status, "at": wire_time(utcnow())})
    application.status, application.status_history = status, json.dumps(history)


def invoiceable_out(row: InvoiceableOrder) -> InvoiceableOrderOut:
    reason = domain.not_invoiceable_reason(row.status)
    return InvoiceableOrderOut(
        order_id=row.order_id,
        invoiceable=reason is None,
        invoiceable_amount=MoneyOut.minor(row.cash_paid_minor, row.currency),
        reason=reason,
        po_number=row.po_number,
        net=MoneyOut.minor(row.net_minor, row.currency),
        vat=MoneyOut.minor(row.vat_minor, row.currency),
        implemented_at=row.implemented_at,
    )


def application_out(application: InvoiceApplication, profile: ProfileChanged | None = None,
                    lines: list[domain.Line] | None = None,
                    totals: domain.Amounts | None = None) -> InvoiceApplicationOut:
    """An application; with the account's profile (``profile``) and its orders' lines
    (``lines``, and their ``totals`` when already known), the confirmation page's parts too."""
    currency = application.currency
    lines = lines or []
    if totals is None and lines:
        totals = domain.amounts(lines, currency)
    return InvoiceApplicationOut(
        id=application.id,
        account_id=application.account_id,
        status=application.status,
        order_ids=[link.order_id for link in application.orders],
        net=MoneyOut.minor(application.net_minor, currency),
        vat=MoneyOut.minor(application.vat_minor, currency),
        total=MoneyOut.minor(application.total_minor, currency),
        invoice_id=application.invoice_id,
        created_at=application.created_at,
        channel=application.channel,  # type: ignore[arg-type]
        reason=application.reason,
        status_history=json.loads(application.status_history) if application.status_history else [],
        billing_info=profile.billing_info if profile else None,
        mailing_info=profile.mailing_info if profile else None,
        lines=[domain.line_out(line, currency) for line in lines],
        vat_breakdown=domain.breakdown(totals) if totals else [],
        allowances=MoneyOut.minor(totals.allowances_minor, currency) if totals else None,
    )


def payment_invoice_out(invoice: PaymentInvoice, console_url: str | None = None) -> PaymentInvoiceOut:
    currency = invoice.currency
    return PaymentInvoiceOut(
        id=invoice.id, number=invoice.number, account_id=invoice.account_id,
        order_id=invoice.order_id, status=invoice.status,  # type: ignore[arg-type]
        total=MoneyOut.minor(invoice.total_minor, currency),
        paid_amount=MoneyOut.minor(invoice.paid_minor, currency),
        remaining=MoneyOut.minor(max(invoice.total_minor - invoice.paid_minor, 0)
                                 if invoice.status in ("open", "overdue") else 0, currency),
        wire_reference=invoice.wire_reference, po_number=invoice.po_number,
        lines=[PaymentInvoiceLineOut.model_validate(
            {field: line[field] for field in PaymentInvoiceLineOut.model_fields})
            for line in json.loads(invoice.lines_json)],
        issue_date=invoice.issue_date, due_date=invoice.due_date, created_at=invoice.created_at,
        shipment_ids=json.loads(invoice.shipment_ids_json) if invoice.shipment_ids_json else [],
        claim=invoice.claim,
        pay_url=f"{console_url.rstrip('/')}/pay/{invoice.id}" if console_url else None)


def invoice_out(invoice: Invoice) -> InvoiceOut:
    """An issued document as its snapshot keeps it (documents issued before the snapshot held
    totals and dates show what they have)."""
    snapshot = json.loads(invoice.snapshot_json)
    currency = invoice.currency
    kept = {field: snapshot.get(field) for field in (
        "lines_net", "allowances", "prepaid", "rounding", "amount_due", "supply_date",
        "due_date", "payment_terms", "payment_reference", "credited_invoice_number",
        "credit_reason")}
    return InvoiceOut(
        id=invoice.id, number=invoice.number, account_id=invoice.account_id,
        kind=invoice.kind or domain.INVOICE,  # type: ignore[arg-type]
        status=invoice.status, currency=currency,
        net=MoneyOut.minor(invoice.net_minor, currency),
        vat=MoneyOut.minor(invoice.vat_minor, currency),
        total=MoneyOut.minor(invoice.total_minor, currency),
        po_numbers=snapshot["po_numbers"],
        seller=PartySnapshot(**snapshot["seller"]),
        buyer=PartySnapshot(**snapshot["buyer"]),
        lines=[InvoiceLineOut(**line) for line in snapshot["lines"]],
        vat_breakdown=[VatBreakdownOut(**group) for group in snapshot.get("vat_breakdown", [])],
        order_ids=snapshot.get("order_ids") or list(dict.fromkeys(
            line["order_id"] for line in snapshot["lines"])),
        credited_invoice_id=invoice.credited_invoice_id,
        delivery_channel=snapshot.get("channel"),
        delivery_status=invoice.delivery_status,  # type: ignore[arg-type]
        mailing_address=window_lines(snapshot),
        language=snapshot.get("language") or "en",
        issue_date=invoice.issue_date, pdf_status=invoice.pdf_status, issued_at=invoice.issued_at,
        **kept)


def window_lines(snapshot: dict[str, Any]) -> list[str]:
    """The envelope window's address: the mailing recipient at the buyer, street, postal code
    and city, country (the buyer's address when no mailing information was kept)."""
    mailing, buyer = snapshot.get("mailing"), snapshot["buyer"]
    if mailing:
        return [part for part in (mailing.get("recipient"), buyer["name"], mailing.get("street"),
                                  mailing.get("city_line"), mailing.get("country")) if part]
    return [part for part in (buyer["name"], buyer.get("address")) if part]


def document_lines(orders: list[InvoiceableOrder]) -> list[domain.Line]:
    """The document lines of these orders' kept lines, in order."""
    return [domain.line_of(row.order_id, line, row.currency)
            for row in orders for line in json.loads(row.lines_json)]


SERVICE = InvoicingService
