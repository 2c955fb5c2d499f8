"""The documents service: renders issued invoices to PDF, stores them, and serves them; owns
outbound e-mail (the mail outbox, see ``mail.py``)."""

from __future__ import annotations

import base64
import json
import logging
import smtplib
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import object_session

from services.common.contracts import (
    CreditNoteIssued,
    DocumentOut,
    DocumentReady,
    InvoiceIssued,
    InvoiceMailRequested,
    InvoiceOut,
    MailFailed,
    MailRequested,
    MailSent,
    OrderMailRequested,
    parse,
    utcnow,
)
from services.common.db import Database
from services.common.errors import DocumentFailed, DocumentNotReady, NotFound, ServiceUnavailable
from services.common.messaging import (
    Outbox,
    every,
    first_delivery,
    handles,
    insert_ignore,
    retry_delay,
    rpc,
)
from services.common.service import Pingable
from services.documents import mail
from services.documents.filestore import Files
from services.documents.models import Document, Mail, OutboxMessage, ProcessedEvent
from services.documents.rendering import Renderer, RendererLost, RenderFailed

log = logging.getLogger(__name__)


class AttachmentNotReady(OSError):
    """A mail's attachment is not produced yet: the mail waits for it (retried)."""

INVOICE = "invoice"
PDF = "application/pdf"


class DocumentsService(Pingable):
    name = "documents"

    db = Database("documents")
    outbox = Outbox("documents", OutboxMessage)
    render = Renderer()
    files = Files()
    mail_templates = mail.MailTemplates()

    @handles(InvoiceIssued)
    def on_invoice_issued(self, payload: dict[str, Any]) -> None:
        self._produce(parse(InvoiceIssued, payload))

    @handles(CreditNoteIssued)
    def on_credit_note_issued(self, payload: dict[str, Any]) -> None:
        self._produce(parse(CreditNoteIssued, payload))

    def _produce(self, evt: InvoiceIssued | CreditNoteIssued) -> None:
        """Render an issued invoice or credit note to PDF once, store it and announce it."""
        invoice = evt.invoice
        if self._find(INVOICE, invoice.id) is not None:
            return  # already produced (a redelivery)
        try:
            pdf = self.render("invoice.html", invoice_context(invoice), language=invoice.language)
        except RendererLost as exc:
            raise ServiceUnavailable(str(exc)) from exc  # requeued: try again later
        except RenderFailed as exc:
            log.error("invoice %s could not be rendered: %s", invoice.number, exc)
            self._record(evt, invoice, status="failed", error=str(exc)[-2000:])
            return
        path, size, sha256 = self.files.put(f"invoices/{invoice.issue_date[:4]}/{invoice.id}.pdf", pdf)
        self._record(evt, invoice, status="ready", path=path, size=size, sha256=sha256)

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
                                   self.files.get(document.path)))
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
        content = self.files.get(document.path)
        out = document_out(document).model_copy(
            update={"content_b64": base64.b64encode(content).decode()}
        )
        return out.wire()

    def _find(self, kind: str, reference: str) -> Document | None:
        return self.db.session.scalars(
            select(Document).where(Document.kind == kind, Document.reference == reference)
        ).first()

    def _record(self, evt: InvoiceIssued | CreditNoteIssued, invoice: InvoiceOut,
                **outcome: Any) -> None:
        """Record the document once per event; announce it when it is ready."""
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, evt.type, evt.event_id):
                return
            document = Document(
                id=str(uuid.uuid4()),
                kind=INVOICE,
                reference=invoice.id,
                account_id=invoice.account_id,
                content_type=PDF,
                filename=f"{invoice.kind.replace('_', '-')}-{invoice.number}.pdf",
                **outcome,
            )
            session.add(document)
            if document.status == "ready":
                self.outbox.add(
                    session,
                    DocumentReady(document=document_out(document), account_id=invoice.account_id),
                )


def invoice_context(invoice: InvoiceOut) -> dict[str, Any]:
    """The template's view: amounts as plain decimal strings in the document's one currency
    (the template formats them in the buyer's language)."""
    context = invoice.wire()
    context["currency"] = invoice.total.currency
    for field in ("net", "vat", "total", "lines_net", "allowances", "prepaid", "rounding",
                  "amount_due"):
        context[field] = context[field]["amount"] if context.get(field) else None
    context["lines_net"] = context["lines_net"] or context["net"]
    context["prepaid"] = context["prepaid"] or context["total"]
    context["amount_due"] = context["amount_due"] or "0.00"
    context["has_allowances"] = bool(invoice.allowances and invoice.allowances.amount)
    context["has_rounding"] = bool(invoice.rounding and invoice.rounding.amount)
    for line in context["lines"]:
        for field in ("unit_price", "net", "vat", "gross"):
            line[field] = line[field]["amount"]
    for group in context["vat_breakdown"]:
        for field in ("lines_net", "allowance", "taxable", "vat"):
            group[field] = group[field]["amount"]
    return {"invoice": context, "seller": context["seller"],
            "recipient_lines": invoice.mailing_address or address_lines(invoice.buyer)}


def address_lines(party: Any) -> list[str]:
    """A party's postal address as the envelope window prints it."""
    lines = [party.name, party.street, " ".join(filter(None, [party.postal_code, party.city])),
             party.country]
    return [line for line in lines if line] if party.street else [party.name, party.address or ""]


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
