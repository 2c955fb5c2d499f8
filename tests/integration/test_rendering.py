"""PDF rendering happens in separate processes: the eventlet hub keeps running meanwhile."""

import subprocess
import time
from datetime import UTC, datetime
from decimal import Decimal

import eventlet
import pytest

from services.common.contracts import InvoiceLineOut, InvoiceOut, MoneyOut, PartySnapshot
from services.documents.contexts import invoice as invoice_context
from services.documents.rendering import RendererPool, RenderFailed


def money(amount: str) -> MoneyOut:
    return MoneyOut(amount=Decimal(amount), currency="EUR")


CONTEXT = invoice_context(InvoiceOut(
    id="i-1", number="INV-2026-000042", account_id="a-1", status="issued", issue_date="2026-11-22",
    po_numbers=["PO-1"], currency="EUR", net=money("100.00"), vat=money("25.00"),
    total=money("125.00"), pdf_status="pending", issued_at=datetime(2026, 11, 22, tzinfo=UTC),
    seller=PartySnapshot(name="Nimbus Cloud AB", address="Storgatan 1", vat_id="SE1"),
    buyer=PartySnapshot(name="Ada <Cloud> AB", address=None),
    lines=[InvoiceLineOut(order_id="o-1", description="VM", quantity=1, unit_price=money("100.00"),
                          vat_rate="25.00", net=money("100.00"), vat=money("25.00"),
                          gross=money("125.00"))]))


@pytest.fixture(scope="module")
def pool():
    renderers = RendererPool(2)
    yield renderers
    renderers.close()


def test_rendering_does_not_block_the_hub(pool):
    ticks = []

    def tick():
        while True:
            ticks.append(time.monotonic())
            eventlet.sleep(0.02)

    ticker = eventlet.spawn(tick)
    pdfs = list(eventlet.GreenPool(4).imap(
        lambda _: pool.render("invoice.html", CONTEXT), range(4)))
    ticker.kill()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert all(pdf.startswith(b"%PDF") for pdf in pdfs)
    assert max(gaps) < 0.5, f"the hub stalled for {max(gaps):.2f} s"


def test_the_invoice_pdf_shows_number_buyer_and_amount_with_markup_escaped(pool):
    pdf = pool.render("invoice.html", CONTEXT)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    assert b"INV-2026-000042" in text and b"Ada <Cloud> AB" in text and b"125.00" in text


def test_a_template_error_is_reported_and_the_renderer_keeps_working(pool):
    with pytest.raises(RenderFailed):
        pool.render("no-such-template.html", {})
    assert pool.render("invoice.html", CONTEXT).startswith(b"%PDF")


def test_fonts_are_subset_by_harfbuzz_not_by_the_four_times_slower_fonttools():
    from weasyprint.text import ffi

    assert ffi.harfbuzz_subset is not None, (
        "libharfbuzz-subset0 is missing: apt-get install libharfbuzz-subset0")
    assert ffi.harfbuzz.hb_version_atleast(4, 1, 0)
