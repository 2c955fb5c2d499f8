"""The hash chain over issued documents: each stores the SHA-256 of its canonical content
together with the hash of the document before it in its series and year (the first of a year
links to nothing), so changing any stored document — or removing one — breaks the chain from
there on, and ``verify`` names the first broken link.

The canonical content is the document's own fields and its snapshot as JSON with sorted keys,
no insignificant whitespace and UTF-8 text; amounts are integer minor units, times ISO 8601 in
UTC.  The chain runs in numbering order, and numbers are taken under the series counter's row
lock, so the previous document is committed (or is being issued by the same transaction) when
the next one links to it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.contracts import wire_time
from services.invoicing.models import Invoice


class Issued(Protocol):
    """What the chain reads of a document (an ``Invoice``, or a migration's table row)."""

    number: str
    series: str
    year: int
    sequence: int
    account_id: str
    application_id: str | None
    currency: str
    net_minor: int
    vat_minor: int
    total_minor: int
    issue_date: str
    issued_at: datetime
    snapshot_json: str


def canonical(invoice: Issued, previous_hash: str | None) -> bytes:
    content: dict[str, Any] = {
        "number": invoice.number, "series": invoice.series, "year": invoice.year,
        "sequence": invoice.sequence, "account_id": invoice.account_id,
        "application_id": invoice.application_id, "currency": invoice.currency,
        "net_minor": invoice.net_minor, "vat_minor": invoice.vat_minor,
        "total_minor": invoice.total_minor, "issue_date": invoice.issue_date,
        "issued_at": wire_time(invoice.issued_at), "snapshot": json.loads(invoice.snapshot_json),
        "previous_hash": previous_hash,
    }
    kind = getattr(invoice, "kind", None)
    if kind not in (None, "invoice"):  # invoices hash as they did before credit notes existed
        content["kind"] = kind
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(invoice: Issued, previous_hash: str | None) -> str:
    return hashlib.sha256(canonical(invoice, previous_hash)).hexdigest()


def seal(session: Session, invoice: Invoice) -> None:
    """Link a document being issued to the one before it in its series and year."""
    previous = session.scalar(select(Invoice.content_hash).where(
        Invoice.series == invoice.series, Invoice.year == invoice.year,
        Invoice.sequence == invoice.sequence - 1)) if invoice.sequence > 1 else None
    invoice.previous_hash = previous
    invoice.content_hash = digest(invoice, previous)


@dataclass(frozen=True)
class BrokenLink:
    number: str
    problem: str

    def __str__(self) -> str:
        return f"{self.number}: {self.problem}"


def verify(session: Session) -> Iterator[BrokenLink]:
    """Recompute every chain; yield the first broken link of each series and year."""
    expected: dict[tuple[str, int], tuple[int, str | None]] = {}
    broken: set[tuple[str, int]] = set()
    rows = session.scalars(select(Invoice).order_by(Invoice.series, Invoice.year, Invoice.sequence))
    for invoice in rows:
        chain = (invoice.series, invoice.year)
        if chain in broken:
            continue
        sequence, previous = expected.get(chain, (1, None))
        problem = None
        if invoice.sequence != sequence:
            problem = f"number {sequence} of the series is missing"
        elif invoice.previous_hash != previous:
            problem = "it does not link to the document before it"
        elif invoice.content_hash != digest(invoice, previous):
            problem = "its content is not what was issued (the hash differs)"
        if problem is not None:
            broken.add(chain)
            yield BrokenLink(invoice.number, problem)
            continue
        expected[chain] = (sequence + 1, invoice.content_hash)
