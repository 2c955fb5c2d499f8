"""The documents service: renders issued invoices to PDF, stores them, and serves them."""

from __future__ import annotations

import base64
import logging
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.common.contracts import DocumentOut, DocumentReady, InvoiceIssued, InvoiceOut, parse
from services.common.db import Database
from services.common.errors import DocumentFailed, DocumentNotReady, NotFound, ServiceUnavailable
from services.common.messaging import Outbox, first_delivery, handles, rpc
from services.common.service import Pingable
from services.documents.filestore import Files
from services.documents.models import Document, OutboxMessage, ProcessedEvent
from services.documents.rendering import Renderer, RendererLost, RenderFailed

log = logging.getLogger(__name__)

INVOICE = "invoice"
PDF = "application/pdf"


class DocumentsService(Pingable):
    name = "documents"

    db = Database("documents")
    outbox = Outbox("documents", OutboxMessage)
    render = Renderer()
    files = Files()

    @handles(InvoiceIssued)
    def on_invoice_issued(self, payload: dict[str, Any]) -> None:
        evt = parse(InvoiceIssued, payload)
        invoice = evt.invoice
        if self._find(INVOICE, invoice.id) is not None:
            return  # already produced (a redelivery)
        try:
            pdf = self.render("invoice.html", {"invoice": invoice_context(invoice)})
        except RendererLost as exc:
            raise ServiceUnavailable(str(exc)) from exc  # requeued: try again later
        except RenderFailed as exc:
            log.error("invoice %s could not be rendered: %s", invoice.number, exc)
            self._record(evt, invoice, status="failed", error=str(exc)[-2000:])
            return
        path, size, sha256 = self.files.put(f"invoices/{invoice.issue_date[:4]}/{invoice.id}.pdf", pdf)
        self._record(evt, invoice, status="ready", path=path, size=size, sha256=sha256)

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

    def _record(self, evt: InvoiceIssued, invoice: InvoiceOut, **outcome: Any) -> None:
        """Record the invoice's document once per event; announce it when it is ready."""
        with self.db.transaction() as session:
            if not first_delivery(session, ProcessedEvent, "invoice_issued", evt.event_id):
                return
            document = Document(
                id=str(uuid.uuid4()),
                kind=INVOICE,
                reference=invoice.id,
                account_id=invoice.account_id,
                content_type=PDF,
                filename=f"invoice-{invoice.number}.pdf",
                **outcome,
            )
            session.add(document)
            if document.status == "ready":
                self.outbox.add(
                    session,
                    DocumentReady(document=document_out(document), account_id=invoice.account_id),
                )


def invoice_context(invoice: InvoiceOut) -> dict[str, Any]:
    """The template's view: amounts as plain strings, one currency for the document."""
    context = invoice.wire()
    context["currency"] = invoice.total.currency
    for field in ("net", "vat", "total"):
        context[field] = context[field]["amount"]
    for line in context["lines"]:
        for field in ("unit_price", "net", "vat", "gross"):
            line[field] = line[field]["amount"]
        line["vat_percent"] = format(Decimal(line["vat_rate"]).normalize(), "f")
    return context


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
