"""The documents service: renders issued invoices to PDF, stores them, and serves them; owns
outbound e-mail (the mail outbox, see ``mail.py``)."""

from __future__ import annotations

import base64
import json
import logging
import os
import smtplib
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import object_session

from services.common import download_links, einvoice, facturx, pages
from services.common.config import load_settings
from services.common.contracts import (
    CreditNoteIssued,
    DocumentOut,
    DocumentReady,
    Event,
    FileOut,
    InvoiceIssued,
    InvoiceMailRequested,
    MailFailed,
    MailRequested,
    MailSent,
    OrderImplemented,
    OrderMailRequested,
    PaymentInvoiceOpened,
    PaymentInvoiceOut,
    ReportOut,
    ReportRequest,
    ShipmentStatusChanged,
    parse,
    utcnow,
)
from services.common.db import Database
from services.common.errors import (
    BusinessError,
    DocumentFailed,
    DocumentNotReady,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
)
from services.common.messaging import (
    Outbox,
    ServiceRpc,
    every,
    first_delivery,
    handles,
    insert_ignore,
    retry_delay,
    rpc,
)
from services.common.pages import newest_first
from services.common.seller import seller_party
from services.common.service import Pingable
from services.documents import contexts, filestore, i18n, mail, reports
from services.documents.filestore import FileStore, StoredFile
from services.documents.models import Document, Mail, OutboxMessage, ProcessedEvent, ReportJob
from services.documents.rendering import Renderer, RendererLost, RenderFailed

log = logging.getLogger(__name__)


class AttachmentNotReady(OSError):
    """A mail's attachment is not produced yet: the mail waits for it (retried)."""

INVOICE = "invoice"  # an issued invoice or credit note (its reference: the invoice's id)
PAYMENT_INVOICE = "payment_invoice"
LICENCE_NOTE = "licence_delivery_note"  # reference: the order
SHIPMENT_NOTE = "shipment_note"  # reference: the shipment
PDF = "application/pdf"
CONTENT_TYPES = {"pdf": PDF, "csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
QUEUED, RUNNING, READY, FAILED = "queued", "running", "ready", "failed"  # a report job's
PART_PAGES = 20  # a large report's PDF is rendered this many pages at a time, then joined


class Files(DependencyProvider):
    """Gives workers the file store."""

    def setup(self) -> None:
        self.store = FileStore(load_settings().files_dir)

    def get_dependency(self, worker_ctx: Any) -> FileStore:
        return self.store


class DocumentsService(Pingable):
    name = "documents"

    db = Database("documents")
    outbox = Outbox("documents", OutboxMessage)
    renderer = Renderer()
    files = Files()
    mail_templates = mail.MailTemplates()
    billing = ServiceRpc("billing")
    orders = ServiceRpc("orders")
    invoicing = ServiceRpc("invoicing")

    @handles(InvoiceIssued)
    def on_invoice_issued(self, payload: dict[str, Any]) -> None:
        self._produce(parse(InvoiceIssued, payload))

    @handles(CreditNoteIssued)
    def on_credit_note_issued(self, payload: dict[str, Any]) -> None:
        self._produce(parse(CreditNoteIssued, payload))

    def _produce(self, evt: InvoiceIssued | CreditNoteIssued) -> None:
        """Render an issued invoice or credit note once as Factur-X — a PDF/A-3b with its EN
        16931 CII XML inside — store it and announce it."""
        invoice = evt.invoice
        xml = facturx.cii(invoice)
        findings = einvoice.rejections(facturx.cii_validator(None).check(xml))
        if findings:  # the PDF still goes out; the XML is not embedded unchecked
            log.error("invoice %s: its CII XML fails %s; the PDF carries none", invoice.number, findings)
        self._document(evt, Paper(INVOICE, invoice.id, invoice.account_id,
                                  f"{invoice.kind.replace('_', '-')}-{invoice.number}.pdf",
                                  "invoice.html", contexts.invoice(invoice), invoice.language,
                                  variant="pdf/a-3b", facturx=None if findings else xml.decode()))

    @handles(PaymentInvoiceOpened)
    def on_payment_invoice_opened(self, payload: dict[str, Any]) -> None:
        """A payment invoice as PDF: wire details, an EPC QR code, the card-payment link."""
        evt = parse(PaymentInvoiceOpened, payload)
        if self._find(PAYMENT_INVOICE, evt.payment_invoice_id) is not None:
            return
        invoice = PaymentInvoiceOut.model_validate(
            self.invoicing.get_invoice(evt.account_id, evt.payment_invoice_id))
        customer, language = self._customer(evt.account_id)
        self._document(evt, Paper(PAYMENT_INVOICE, invoice.id, invoice.account_id,
                                  f"payment-invoice-{invoice.number}.pdf", "payment_invoice.html",
                                  contexts.payment_invoice(invoice, seller_party(self.settings), customer),
                                  language))

    @handles(OrderImplemented)
    def on_order_implemented(self, payload: dict[str, Any]) -> None:
        """An order that delivered licences gets a licence delivery note with their keys."""
        evt = parse(OrderImplemented, payload)
        order = evt.order
        if not any(line.kind == "licence" and line.licence_key for line in order.lines):
            return
        if self._find(LICENCE_NOTE, order.id) is not None:
            return
        customer, language = self._customer(order.account_id)
        self._document(evt, Paper(LICENCE_NOTE, order.id, order.account_id,
                                  f"licence-delivery-note-{order.id[:8]}.pdf", "licence_note.html",
                                  contexts.licence_note(order.wire(), seller_party(self.settings), customer),
                                  language))

    @handles(ShipmentStatusChanged)
    def on_shipment_status_changed(self, payload: dict[str, Any]) -> None:
        """A shipped shipment (a realization) gets its shipment note."""
        evt = parse(ShipmentStatusChanged, payload)
        shipment = evt.shipment
        if shipment.status != "shipped" or self._find(SHIPMENT_NOTE, shipment.id) is not None:
            return
        customer, language = self._customer(shipment.account_id)
        self._document(evt, Paper(SHIPMENT_NOTE, shipment.id, shipment.account_id,
                                  f"shipment-note-{shipment.number}.pdf", "shipment_note.html",
                                  contexts.shipment_note(shipment.wire(), seller_party(self.settings),
                                                         customer), language))

    def _customer(self, account_id: str) -> tuple[dict[str, Any], str]:
        """The customer as its documents name it, and their language (billing's, now)."""
        account = self.billing.get_account(account_id)
        return (contexts.buyer(account, self.billing.get_profile(account_id)),
                i18n.language_of(account.get("language")))

    def _document(self, evt: Event, paper: Paper) -> None:
        """Render a customer document once, store it, list it, and announce it (``ready``;
        one its template cannot render is recorded ``failed``).  A renderer that died leaves
        the event to be delivered again."""
        if self._find(paper.kind, paper.reference) is not None:
            return  # already produced (a redelivery)
        try:
            pdf = self.renderer.render(paper.template, paper.context, language=paper.language,
                                       variant=paper.variant, facturx=paper.facturx)
        except RendererLost as exc:
            raise ServiceUnavailable(str(exc)) from exc  # requeued: try again later
        except RenderFailed as exc:
            log.error("%s %s could not be rendered: %s", paper.kind, paper.reference, exc)
            self._record(evt, paper, status="failed", error=str(exc)[-2000:])
            return
        stored = self.files.put(pdf)
        self._record(evt, paper, status="ready", path=stored.path, size=stored.size,
                     sha256=stored.sha256)

    # -- the mail outbox ----------------------------------------------------------------------

    @handles(MailRequested)
    def on_mail_requested(self, payload: dict[str, Any]) -> None:
        """Render the mail and queue it once per ``mail_id``; then try to send it at once."""
        evt = parse(MailRequested, payload)
        rendered = self.mail_templates.render(evt.template, evt.language, evt.context)
        attachments = [attachment.wire() for attachment in evt.attachments]
        with self.db.transaction() as session:
            queued = insert_ignore(
                session, Mail, id=evt.mail_id, recipient=evt.to, language=evt.language,
                template=evt.template, account_id=evt.account_id, subject=rendered.subject,
                text_body=rendered.text, html_body=rendered.html, sensitive=evt.sensitive,
                status=mail.QUEUED, attempts=0, reports=evt.reports,
                attachments_json=json.dumps(attachments) if attachments else None,
                next_attempt_at=utcnow(), created_at=utcnow(),
            )
        if queued:
            self._send_due(only=evt.mail_id)

    @handles(OrderMailRequested)
    def on_order_mail_requested(self, payload: dict[str, Any]) -> None:
        """The orders service's mails go out the same way."""
        self.on_mail_requested(payload)

    @handles(InvoiceMailRequested)
    def on_invoice_mail_requested(self, payload: dict[str, Any]) -> None:
        """The invoicing service's mails (issued documents, attached) go out the same way."""
        self.on_mail_requested(payload)

    @every("mail_interval")
    def send_due_mails(self) -> None:
        """Retry the mails whose earlier attempt failed, once their pause is over."""
        self._send_due()

    def _send_due(self, only: str | None = None) -> None:
        """Send the queued mails that are due (``only``: that one).  Each is claimed first, in
        a transaction of its own that moves its next attempt a lease ahead, so a concurrent
        sweep — this one's timer, another replica, on PostgreSQL or the embedded SQLite —
        finds it taken and sends it not again; a process that dies while sending leaves it to
        be tried again after the lease (at least once, never twice at once)."""
        settings = self.settings
        query = select(Mail.id).where(Mail.status == mail.QUEUED, Mail.next_attempt_at <= utcnow())
        if only is not None:
            query = query.where(Mail.id == only)
        due_ids = list(self.db.session.scalars(query.order_by(Mail.next_attempt_at).limit(20)))
        self.db.session.rollback()
        lease = timedelta(seconds=2 * settings.smtp_timeout + 5)
        for mail_id in due_ids:
            with self.db.transaction() as session:
                now = utcnow()
                claimed = session.execute(
                    update(Mail).where(Mail.id == mail_id, Mail.status == mail.QUEUED,
                                       Mail.next_attempt_at <= now)
                    .values(attempts=Mail.attempts + 1, next_attempt_at=now + lease)
                    .execution_options(synchronize_session=False)).rowcount
            if not claimed:
                continue  # another sweep took it
            with self.db.transaction() as session:
                due = session.get(Mail, mail_id)
                assert due is not None
                content = mail.RenderedMail(due.subject, due.text_body, due.html_body)
                try:
                    attached = self._attachments(due)
                    due.message_id = mail.send(settings, due.recipient, due.language, content,
                                               attached)
                except mail.MailRefused as refused:
                    self._mail_failed(due, str(refused), final=True)
                except (OSError, smtplib.SMTPException) as error:
                    self._mail_failed(due, f"{type(error).__name__}: {error}",
                                      final=due.attempts > settings.mail_retry_limit)
                else:
                    due.status, due.sent_at, due.last_error = mail.SENT, utcnow(), None
                    if due.reports:
                        self.outbox.add(session, MailSent(mail_id=due.id,
                                                          message_id=due.message_id))
                    if due.sensitive:  # a one-time link: no copy stays behind
                        due.text_body = due.html_body = ""
                    log.info("mail %s (%s) sent to the relay as %s", due.id, due.template,
                             due.message_id)

    def _attachments(self, due: Mail) -> tuple[mail.File, ...]:
        """The stored documents a mail carries; one not produced yet is worth waiting for
        (``AttachmentNotReady``, an ``OSError``: the mail is retried)."""
        files = []
        for wanted in json.loads(due.attachments_json) if due.attachments_json else []:
            document = self._find(wanted["kind"], wanted["reference"])
            if document is None or document.status != "ready" or document.path is None:
                raise AttachmentNotReady(f"{wanted['kind']} {wanted['reference']} is not ready")
            files.append(mail.File(document.filename, document.content_type,
                                   self.files.get(document.path, document.sha256)))
        return tuple(files)

    def _mail_failed(self, due: Mail, error: str, final: bool) -> None:
        due.last_error = error[-2000:]
        if final:
            due.status = mail.FAILED
            if due.reports:
                self.outbox.add(object_session(due), MailFailed(mail_id=due.id, error=due.last_error))
            log.error("mail %s to %s failed after %d attempts: %s", due.id, due.recipient,
                      due.attempts, error)
        else:
            pause = retry_delay(due.attempts - 1, self.settings.mail_retry_backoff)
            due.next_attempt_at = utcnow() + timedelta(seconds=pause)
            log.warning("mail %s not sent (attempt %d), retrying in %.0f s: %s", due.id,
                        due.attempts, pause, error)

    @rpc
    def get_mail(self, mail_id: str) -> dict[str, Any]:
        """What became of one mail (for operators and tests): status, attempts, error."""
        found = self.db.session.get(Mail, mail_id)
        if found is None:
            raise NotFound("no such mail", {"mail_id": mail_id})
        return {"id": found.id, "to": found.recipient, "template": found.template,
                "language": found.language, "subject": found.subject, "status": found.status,
                "attempts": found.attempts, "last_error": found.last_error,
                "message_id": found.message_id}

    @rpc
    def get_document(self, account_id: str, kind: str, reference: str) -> dict[str, Any]:
        """A ready document of this account with its content (base64)."""
        document = self._find(kind, reference)
        if document is None:
            raise DocumentNotReady(details={"kind": kind, "reference": reference})
        if document.account_id != account_id:
            raise NotFound("no such document")
        if document.status != "ready" or document.path is None:
            raise DocumentFailed(details={"error": document.error})
        content = self.files.get(document.path, document.sha256)
        out = document_out(document).model_copy(
            update={"content_b64": base64.b64encode(content).decode()}
        )
        return out.wire()

    # -- reports (seed 003's Documents section) ---------------------------------------------------

    @rpc
    def request_report(self, data: dict[str, Any]) -> dict[str, Any]:
        """Queue a report: checked at once (a period too long, a missing parameter, another
        account's shipment or an order not shipped: a refusal, nothing queued), produced in
        the background by ``run_reports``.  The same request key
        answers the job it made first."""
        request = parse(ReportRequest, data)
        parameters = reports.check_request(request.kind, request.format, {
            "from": request.period_from, "to": request.period_to,
            "shipment_ids": request.shipment_ids, "order_id": request.order_id,
            "layout": request.layout}, utcnow().date())
        if request.kind == reports.PACKING_LIST:  # another account's or unpacked: refused now
            self.orders.packing(request.account_id, parameters["shipment_ids"])
        elif request.kind == reports.INVENTORY:
            self.orders.inventory(request.account_id, parameters["order_id"])
        with self.db.transaction() as session:
            insert_ignore(session, ReportJob, id=str(uuid.uuid4()), account_id=request.account_id,
                          request_key=request.request_key, kind=request.kind, format=request.format,
                          parameters_json=json.dumps(parameters), language="en", email=request.email,
                          status=QUEUED, progress=0, attempts=0, created_at=utcnow())
        return report_out(self._job_by_key(request.account_id, request.request_key)).wire()

    @rpc
    def list_reports(self, account_id: str, limit: int | None = None,
                     cursor: str | None = None) -> dict[str, Any]:
        size = pages.check_limit(limit)
        query = select(ReportJob).where(ReportJob.account_id == account_id)
        rows = self.db.session.scalars(newest_first(query, ReportJob.created_at, ReportJob.id,
                                                    size + 1, pages.decode_cursor(cursor)))
        return pages.page([report_out(row).wire() for row in rows], size, "created_at")

    @rpc
    def get_report(self, account_id: str, report_id: str) -> dict[str, Any]:
        job = self.db.session.get(ReportJob, report_id)
        if job is None or job.account_id != account_id:
            raise NotFound("no such report", {"report_id": report_id})
        return report_out(job).wire()

    @every("report_interval")
    def run_reports(self) -> None:
        """Produce the queued reports one after another (and take up one whose process died)."""
        while (job_id := self._claim_report()) is not None:
            self._run_report(job_id)

    def _claim_report(self) -> str | None:
        """Take the oldest job that is queued (and not waiting to retry) or whose lease ran
        out, in a transaction of its own: another sweep, replica or process then finds it
        taken.  One taken up too often fails, saying why."""
        settings = self.settings
        while True:
            now = utcnow()
            due = or_(and_(ReportJob.status == QUEUED,
                           or_(ReportJob.lease_until.is_(None), ReportJob.lease_until <= now)),
                      and_(ReportJob.status == RUNNING, ReportJob.lease_until <= now))
            with self.db.transaction() as session:
                job = session.scalars(select(ReportJob).where(due).order_by(ReportJob.created_at)
                                      .limit(1).with_for_update(skip_locked=True)).first()
                if job is None:
                    return None
                if job.attempts < settings.report_attempts:
                    job.status, job.attempts, job.progress = RUNNING, job.attempts + 1, 0
                    job.lease_until = now + timedelta(seconds=settings.report_lease_seconds)
                    return job.id
                self._fail_report(job, f"the report could not be produced in {job.attempts} tries"
                                  + (f"; the last: {job.error}" if job.error else
                                     " (each was interrupted)"))

    def _run_report(self, job_id: str) -> None:
        job = self.db.session.get(ReportJob, job_id)
        assert job is not None
        self.db.session.rollback()
        sources = reports.Sources(self.billing, self.orders, self.invoicing,
                                  ahead=lambda call: eventlet.spawn(call).wait)
        try:
            account = self.billing.get_account(job.account_id)
            language = i18n.language_of(account.get("language"))
            parameters = {**json.loads(job.parameters_json), "format": job.format}
            report = reports.build(job.kind, sources, job.account_id, parameters, utcnow().date())
            stored = self._report_file(job, report, language, account,
                                       Progress(self, job.id, job.attempts))
        except (ServiceUnavailable, ServiceTimeout, RendererLost, eventlet.Timeout) as exc:
            log.warning("report %s: %s", job.id, exc)
            self._retry_report(job, f"{type(exc).__name__}: {exc}")
            return
        except BusinessError as refused:
            with self.db.transaction() as session:
                if (mine := self._still_mine(session, job)) is not None:
                    self._fail_report(mine, f"{refused.code}: {refused.message}")
            return
        except (RenderFailed, reports.TooManyRows) as exc:
            log.error("report %s could not be produced: %s", job.id, exc)
            with self.db.transaction() as session:
                if (mine := self._still_mine(session, job)) is not None:
                    self._fail_report(mine, str(exc)[-2000:])
            return
        except Exception as exc:  # unforeseen: tried again after a pause, as often as allowed
            log.exception("report %s failed unexpectedly (attempt %d)", job.id, job.attempts)
            self._retry_report(job, f"{type(exc).__name__}: {exc}")
            return
        self._report_ready(job, report, stored, language, account)

    @staticmethod
    def _still_mine(session: Any, job: ReportJob) -> ReportJob | None:
        """The job, locked, if this try still holds it: running, and not taken up since by
        another process after this one's lease ran out (that one's try is a later attempt)."""
        return session.scalars(select(ReportJob).where(
            ReportJob.id == job.id, ReportJob.status == RUNNING, ReportJob.attempts == job.attempts)
            .with_for_update()).first()

    def _retry_report(self, job: ReportJob, error: str) -> None:
        """Back to the queue after a pause (``_claim_report`` fails it after the last try)."""
        pause = retry_delay(job.attempts - 1, self.settings.mail_retry_backoff)
        with self.db.transaction() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job.id, ReportJob.status == RUNNING,
                                                    ReportJob.attempts == job.attempts)
                            .values(status=QUEUED, lease_until=utcnow() + timedelta(seconds=pause),
                                    error=error[-2000:])
                            .execution_options(synchronize_session=False))

    def _report_file(self, job: ReportJob, report: reports.Report, language: str,
                     account: dict[str, Any], progress: Progress) -> StoredFile:
        """Write the report to the file store as CSV (streamed), XLSX, or PDF (in parts)."""
        if job.format == "xlsx":
            with tempfile.TemporaryDirectory() as scratch:
                target = os.path.join(scratch, "report.xlsx")
                reports.write_xlsx(report, partial(i18n.gettext, language), target,
                                   breathe=lambda: progress.say(report.done(), breathe=True))
                return self._store_file(target)
        if job.format == "csv" and report.csv_parts is not None and len(report.csv_parts) > 1:
            return self._parts_at_once(report, language, progress)
        if job.format == "csv":
            with self.files.writer() as writer:
                def write(part: bytes) -> None:
                    writer.write(part)
                    progress.say(report.done())
                reports.write_csv(report, partial(i18n.gettext, language), write,
                                  breathe=lambda: eventlet.sleep(0))
            assert writer.stored is not None
            return writer.stored
        rows = []
        for row in report.rows:
            rows.append(row)
            if len(rows) % 1000 == 0:
                eventlet.sleep(0)  # let other green threads run between the pages of rows
            if len(rows) > reports.MAX_PDF_ROWS:
                raise reports.TooManyRows(f"the report has more than {reports.MAX_PDF_ROWS} rows, more "
                                  "than a PDF holds well: ask for it as CSV")
        progress.say(0.1)
        page_rows = reports.pages_of(rows, len(report.summary))
        parts = [page_rows[start:start + PART_PAGES] for start in range(0, len(page_rows), PART_PAGES)]
        seller = {"name": self.settings.seller_name}
        about = {"name": account["company_name"]}
        with tempfile.TemporaryDirectory(dir=self.files.root.parent if self.files.root.parent.exists()
                                         else None) as scratch:
            paths = []
            for number, part in enumerate(parts):
                context = reports.page_context(report, part, number * PART_PAGES + 1, len(page_rows),
                                               about, seller)
                pdf = self.renderer.render("report.html", context, language=language)
                if len(parts) == 1:
                    return self.files.put(pdf)
                path = os.path.join(scratch, f"part-{number:05d}.pdf")
                with open(path, "wb") as out:
                    out.write(pdf)
                paths.append(path)
                progress.say(0.1 + 0.85 * (number + 1) / len(parts))
            joined = os.path.join(scratch, "report.pdf")
            self.renderer.merge(paths, joined)
            return self._store_file(joined)

    def _parts_at_once(self, report: reports.Report, language: str, progress: Progress) -> StoredFile:
        """A CSV whose source comes in consecutive parts: each read by a green thread of its own
        into a scratch file at the same time (billing and PostgreSQL work on them on both
        cores), then joined in order behind the heading."""
        assert report.csv_parts is not None
        with tempfile.TemporaryDirectory() as scratch:
            paths = [os.path.join(scratch, f"part-{n}.csv") for n in range(len(report.csv_parts))]

            def read(part: Any, path: str) -> None:
                with open(path, "w", encoding="utf-8", newline="") as out:
                    for chunk in part:
                        out.write(chunk)
                        progress.say(report.done())

            readers = [eventlet.spawn(read, part, path) for part, path in zip(report.csv_parts, paths,
                                                                             strict=True)]
            try:
                for reader in readers:
                    reader.wait()
            finally:
                for reader in readers:
                    reader.kill()
            return self._store_file(*paths, heading=reports.csv_heading(report, partial(i18n.gettext,
                                                                                        language)))

    def _store_file(self, *paths: str, heading: bytes = b"") -> StoredFile:
        """Files made on disk, one after another behind ``heading``, copied into the store in
        chunks."""
        with self.files.writer() as writer:
            writer.write(heading)
            for path in paths:
                with open(path, "rb") as source:
                    while chunk := source.read(filestore.CHUNK):
                        writer.write(chunk)
        assert writer.stored is not None
        return writer.stored

    def _note_progress(self, job_id: str, attempt: int, fraction: float) -> None:
        """Say how far the report is (0–99 until it is ready) and renew its lease (while this
        try still holds it)."""
        with self.db.transaction() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job_id, ReportJob.status == RUNNING,
                                                    ReportJob.attempts == attempt)
                            .values(progress=max(0, min(int(fraction * 100), 99)),
                                    lease_until=utcnow() + timedelta(
                                        seconds=self.settings.report_lease_seconds))
                            .execution_options(synchronize_session=False))

    def _report_ready(self, claimed: ReportJob, report: reports.Report, stored: StoredFile,
                      language: str, account: dict[str, Any]) -> None:
        """The file is listed in Files, the job is ready, and the requester's mail is queued —
        in one transaction, so none of the three happens without the others."""
        settings = self.settings
        try:
            mailing = (self.billing.get_profile(account["id"]).get("mailing_info") or {}).get("email")
        except (ServiceUnavailable, ServiceTimeout):
            mailing = None
        with self.db.transaction() as session:
            job = self._still_mine(session, claimed)
            if job is None:
                return  # another process took it up meanwhile: its try is the one that counts
            extension = job.format
            since, until = report.period
            name = "-".join(filter(None, [job.kind.replace("_", "-"), since, until])) + f".{extension}"
            document = Document(
                id=str(uuid.uuid4()), kind=job.kind, reference=job.id, account_id=job.account_id,
                status="ready", content_type=CONTENT_TYPES[job.format], filename=name,
                path=stored.path, size=stored.size, sha256=stored.sha256, period_from=since,
                period_to=until, created_at=utcnow(),
                expires_at=utcnow() + timedelta(days=settings.files_retention_days))
            session.add(document)
            job.status, job.progress, job.document_id = READY, 100, document.id
            job.finished_at, job.lease_until, job.error, job.language = utcnow(), None, None, language
            recipient = mailing or job.email
            if recipient:
                attach = stored.size <= settings.report_attach_max_bytes
                context = {"title": reports.TITLES[job.kind], "filename": name, "period_from": since,
                           "period_to": until, "size": stored.size, "attached": attach,
                           "link": f"{settings.console_url.rstrip('/')}/download/" + download_links.sign(
                               settings.secret_key or "", document.id,
                               settings.download_link_days * 86400)}
                rendered = self.mail_templates.render("report_ready", language, context)
                session.add(Mail(
                    id=f"report:{job.id}", recipient=recipient, language=language,
                    template="report_ready", account_id=job.account_id, subject=rendered.subject,
                    text_body=rendered.text, html_body=rendered.html, sensitive=False,
                    status=mail.QUEUED, attempts=0, reports=False,
                    attachments_json=json.dumps([{"kind": job.kind, "reference": job.id}])
                    if attach else None, next_attempt_at=utcnow(), created_at=utcnow()))
        self._send_due(only=f"report:{claimed.id}")

    def _fail_report(self, job: ReportJob, reason: str) -> None:
        job.status, job.error, job.finished_at, job.lease_until = FAILED, reason[-2000:], utcnow(), None
        log.warning("report %s (%s) failed: %s", job.id, job.kind, reason)

    def _job_by_key(self, account_id: str, request_key: str) -> ReportJob:
        job = self.db.session.scalars(select(ReportJob).where(
            ReportJob.account_id == account_id, ReportJob.request_key == request_key)).one()
        return job

    # -- the Files centre --------------------------------------------------------------------------

    @rpc
    def list_files(self, account_id: str, limit: int | None = None,
                   cursor: str | None = None) -> dict[str, Any]:
        """The account's files, newest first: issued documents and reports' files."""
        size = pages.check_limit(limit)
        query = select(Document).where(Document.account_id == account_id, Document.status == "ready")
        rows = self.db.session.scalars(newest_first(query, Document.created_at, Document.id,
                                                    size + 1, pages.decode_cursor(cursor)))
        return pages.page([file_out(row).wire() for row in rows], size, "created_at")

    @rpc
    def get_file(self, account_id: str | None, file_id: str) -> dict[str, Any]:
        """One file of the account (``None``: of any, for operators); another account's is as
        missing as a missing one."""
        return file_out(self._file(account_id, file_id)).wire()

    @rpc
    def locate_file(self, account_id: str | None, file_id: str) -> dict[str, Any]:
        """Where a file of the account lies in the store and what it must hash to — for the
        gateway, which streams it from there (bytes never cross RPC)."""
        document = self._file(account_id, file_id)
        return {**file_out(document).wire(), "path": document.path, "sha256": document.sha256}

    def _file(self, account_id: str | None, file_id: str) -> Document:
        document = self.db.session.get(Document, file_id)
        if (document is None or document.status != "ready" or document.path is None
                or (account_id is not None and document.account_id != account_id)):
            raise NotFound("no such file", {"file_id": file_id})
        return document

    @every("files_sweep_interval")
    def remove_expired_files(self) -> int:
        """Remove the files kept their time (reports'; issued documents are kept for good):
        the row first, then the bytes unless another file holds the same or they were written
        lately (a report with the same bytes may be about to list them); then bytes no file
        holds any more (a report that died between storing and listing its file)."""
        removed = 0
        grace = self._blob_grace()
        while True:
            with self.db.transaction() as session:
                expired = list(session.scalars(select(Document).where(Document.expires_at <= utcnow())
                                               .limit(100).with_for_update(skip_locked=True)))
                paths = set()
                for document in expired:
                    session.delete(document)
                    if document.path:
                        paths.add(document.path)
                session.flush()
                kept = set(session.scalars(select(Document.path).where(Document.path.in_(paths))))
            for path in paths - kept:
                self.files.remove(path, unless_newer_than=grace)
            removed += len(expired)
            if len(expired) < 100:
                break
        self._remove_unheld_blobs(grace)
        return removed

    def _blob_grace(self) -> float:
        """Seconds within which stored bytes may still be waiting for their row: a report's
        lease, plus its calls after storing."""
        settings = self.settings
        return settings.report_lease_seconds + 2 * settings.service_rpc_timeout + 60

    def _remove_unheld_blobs(self, grace: float) -> None:
        for batch in self.files.blobs_older_than(grace, batch=500):
            held = set(self.db.session.scalars(select(Document.path).where(Document.path.in_(batch))))
            self.db.session.rollback()
            for path in set(batch) - held:
                self.files.remove(path, unless_newer_than=grace)

    def _find(self, kind: str, reference: str) -> Document | None:
        return self.db.session.scalars(
            select(Document).where(Document.kind == kind, Document.reference == reference)
        ).first()

    def _record(self, evt: Event, paper: Paper, **outcome: Any) -> None:
        """Record the document once per event; announce it when it is ready."""
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, evt.type, evt.event_id):
                return
            document = Document(id=str(uuid.uuid4()), kind=paper.kind, reference=paper.reference,
                                account_id=paper.account_id, content_type=PDF,
                                filename=paper.filename, created_at=utcnow(), **outcome)
            session.add(document)
            if document.status == "ready":
                self.outbox.add(session, DocumentReady(document=document_out(document),
                                                       account_id=paper.account_id))


@dataclass(frozen=True)
class Paper:
    """A customer document to produce: what it is, whose, and how it is drawn."""

    kind: str
    reference: str
    account_id: str
    filename: str
    template: str
    context: dict[str, Any]
    language: str
    variant: str | None = None
    facturx: str | None = None


class Progress:
    """A running report's progress, written at most once a second (each write renews the
    job's lease: a report that stops being heard of is taken up again)."""

    def __init__(self, service: DocumentsService, job_id: str, attempt: int) -> None:
        self.service, self.job_id, self.attempt = service, job_id, attempt
        self.said_at = 0.0

    def say(self, fraction: float, breathe: bool = False) -> None:
        """Note how far the report is; ``breathe``: first let other green threads run (a long
        loop of Python work must not hold the hub)."""
        if breathe:
            eventlet.sleep(0)
        now = time.monotonic()
        if now - self.said_at >= 1.0:
            self.said_at = now
            self.service._note_progress(self.job_id, self.attempt, fraction)


def report_out(job: ReportJob) -> ReportOut:
    return ReportOut(id=job.id, kind=job.kind, format=job.format,
                     status=job.status,  # type: ignore[arg-type]
                     progress=job.progress, parameters=json.loads(job.parameters_json),
                     file_id=job.document_id, error=job.error, created_at=job.created_at,
                     finished_at=job.finished_at)


def file_out(document: Document) -> FileOut:
    period = ({"from": document.period_from, "to": document.period_to}
              if document.period_from or document.period_to else None)
    kind = document.kind
    if kind == INVOICE and document.filename.startswith("credit-note-"):
        kind = "credit_note"
    return FileOut(id=document.id, kind=kind,
                   filename=document.filename, content_type=document.content_type,
                   size=document.size or 0, period=period, created_at=document.created_at,
                   expires_at=document.expires_at)


def document_out(document: Document) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        kind=document.kind,
        reference=document.reference,
        status=document.status,
        content_type=document.content_type,
        filename=document.filename,
        size=document.size,
        sha256=document.sha256,
    )


SERVICE = DocumentsService
