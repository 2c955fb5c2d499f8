"""Peppol BIS Billing 3.0 e-invoices: what writing and checking one document costs.

    python -m bench.einvoice [--documents 200] [--rules DIR] [--seed N]

Builds ``--documents`` invoices the way the invoicing service issues them (``domain.Document``
with the configured seller, 1–60 lines of categories S, Z, E, AE or O, some paid in part by
voucher, an ``Invoice`` row read back by ``invoice_out``), then measures (2–4 per document,
after a warm-up pass over the same documents):

1. **one-off** — loading the two UBL 2.1 schemas; starting SaxonC and compiling the EN 16931
   and Peppol stylesheets (once per process); and the first full check after that;
2. **generation** — ``einvoice.ubl`` of each document;
3. **XSD only** — ``Validator(None).check``: the floor, what every check costs at least;
4. **XSD + EN 16931 + Peppol** — ``Validator(rules).check``, the check before sending.

The rules folder is ``--rules``, else ``EINVOICE_RULES_DIR``, else ``<repo>/../shared/einvoice``.
Times are wall clock in one process on an otherwise idle box.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from services.common import einvoice
from services.common.config import Settings
from services.common.contracts import InvoiceOut, PartySnapshot, utcnow
from services.common.countries import participant_id
from services.common.seller import seller_party
from services.invoicing import domain
from services.invoicing.models import Invoice
from services.invoicing.service import invoice_out
from services.orders.domain import split_lines

REPO = Path(__file__).resolve().parents[1]
PRICES = (1, 5, 10, 25, 199, 450, 1249, 9995, 99999)  # minor units
BUYER = PartySnapshot(
    name="Kund AB", address="Kungsgatan 12, 411 19 Göteborg, SE", vat_id="SE556016059901",
    email="ap@kund.example", street="Kungsgatan 12", postal_code="411 19", city="Göteborg",
    country="SE", organisation_number="5560160599",
    endpoint_id=participant_id("SE", "5560160599"))
REVERSE_CHARGED = BUYER.model_copy(update={
    "name": "Kunde GmbH", "vat_id": "DE123456789", "country": "DE", "city": "Berlin",
    "postal_code": "10117", "street": "Friedrichstraße 100", "organisation_number": "4012345000009",
    "endpoint_id": participant_id("DE", "4012345000009")})


def document(rng: random.Random, sequence: int, settings: Settings) -> InvoiceOut:
    """One invoice, issued as ``InvoicingService._issued`` issues it (no database)."""
    outside_scope = rng.random() < 0.1
    buyer = BUYER if outside_scope or rng.random() < 0.7 else REVERSE_CHARGED
    choices = ([("O", "0.00")] if outside_scope else
               [("AE", "0.00"), ("Z", "0.00"), ("E", "0.00")] if buyer is REVERSE_CHARGED else
               [("S", "25.00"), ("S", "12.00"), ("S", "6.00"), ("Z", "0.00"), ("E", "0.00")])
    lines = []
    for order in range(rng.randint(1, 3)):
        order_lines = []
        for number in range(rng.randint(1, 20)):
            category, rate = rng.choice(choices)
            quantity, price = rng.randint(1, 1000), rng.choice(PRICES)
            net = domain.line_net(quantity, price, "EUR")
            order_lines.append(domain.Line(
                order_id=f"order-{sequence}-{order}", sku=f"SKU-{number}", description="Cloud service",
                quantity=quantity, unit_price_minor=price, category=category, rate=Decimal(rate),
                net_minor=net, cash_minor=net + domain.vat_on(net, Decimal(rate), "EUR")))
        voucher = int(sum(line.cash_minor for line in order_lines) * rng.choice([0, 0, 0.3]))
        for line, (cash, paid) in zip(order_lines, split_lines(
                [line.cash_minor for line in order_lines], voucher), strict=True):
            lines.append(replace(line, cash_minor=cash, voucher_minor=paid))
    today = date(2026, 11, 20)
    doc = domain.Document(
        kind=domain.INVOICE, currency="EUR", seller=seller_party(settings), buyer=buyer,
        lines=lines, po_numbers=[f"PO-{sequence}"] if rng.random() < 0.5 else [], issue_date=today,
        supply_date=today, payment_reference=domain.invoice_number("INV", today.year, sequence))
    totals = doc.amounts
    row = Invoice(
        id=str(uuid.uuid4()), number=doc.payment_reference, series="INV", year=today.year,
        sequence=sequence, kind=doc.kind, account_id="bench", application_id=None, status="issued",
        currency="EUR", net_minor=totals.taxable_minor, vat_minor=totals.vat_minor,
        total_minor=totals.total_minor, snapshot_json=json.dumps(doc.snapshot()),
        issue_date=today.isoformat(), pdf_status="pending", issued_at=utcnow())
    row.credited_invoice_id, row.delivery_status = None, None
    return invoice_out(row)


def timed(label: str, items: list[bytes] | list[InvoiceOut], call: Callable[..., object]) -> None:
    """Run ``call`` over ``items`` once to warm up, then again timing each call."""
    for item in items:
        call(item)
    times = []
    for item in items:
        start = time.perf_counter()
        call(item)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"{label}: mean {statistics.fmean(times):.2f} ms, p50 {times[len(times) // 2]:.2f} ms, "
          f"p95 {times[int(len(times) * 0.95)]:.2f} ms, max {times[-1]:.2f} ms per document")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rules", type=Path, default=Path(
        os.environ.get("EINVOICE_RULES_DIR") or REPO.parent / "shared" / "einvoice"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng, settings = random.Random(args.seed), Settings()
    invoices = [document(rng, sequence, settings) for sequence in range(1, args.documents + 1)]
    lines = [len(invoice.lines) for invoice in invoices]
    print(f"{len(invoices)} invoices, {min(lines)}-{max(lines)} lines "
          f"(mean {statistics.fmean(lines):.1f})")

    timed("generation", invoices, einvoice.ubl)
    documents = [einvoice.ubl(invoice) for invoice in invoices]
    size = statistics.fmean(len(xml) for xml in documents) / 1024
    print(f"documents: mean {size:.0f} KiB")

    start = time.perf_counter()
    floor = einvoice.Validator(None)
    floor.prepare()
    schemas = time.perf_counter() - start
    start = time.perf_counter()
    rules = einvoice.Validator(args.rules)
    rules.prepare()
    compiled = time.perf_counter() - start
    start = time.perf_counter()
    rules.check(documents[0])
    first = time.perf_counter() - start
    print(f"one-off: UBL schemas {schemas:.2f} s; schemas + SaxonC start + EN 16931 and Peppol "
          f"compile {compiled:.2f} s; the first full check after it {first * 1000:.0f} ms")

    timed("XSD only (floor)", documents, floor.check)
    timed("XSD + EN 16931 + Peppol", documents, rules.check)
    refused = [xml for xml in documents if einvoice.rejections(rules.check(xml))]
    print(f"refused by the rules: {len(refused)} of {len(documents)}")


if __name__ == "__main__":
    main()
