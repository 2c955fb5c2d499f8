"""What a customer's text can make the renderer do: nothing.  Product names, references and
company names that look like markup print as the characters they are, and the renderer
fetches nothing for them — not from the network (a loopback HTTP server in this process
counts every connection) and not from the machine's files.  The renderer's URL fetcher reads
only the packaged templates and assets; a document that needs more memory or time than a
renderer may use costs that renderer, not the pool; and Swedish and Russian print in the
embedded DejaVu font.  Real ``RendererPool`` processes render the real ``report.html`` and
``invoice.html``; the PDFs are read back with poppler (``pdftotext``, ``pdffonts``)."""

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import eventlet
import pytest

from services.common import testing
from services.common.contracts import InvoiceLineOut, InvoiceOut, MoneyOut, PartySnapshot
from services.documents import contexts, reports
from services.documents.renderer_worker import TEMPLATES
from services.documents.rendering import RendererLost, RendererPool, RenderFailed

# -- a loopback server that would see any fetch ---------------------------------------------------


class Listener:
    """An HTTP server on loopback that records every connection made to it."""

    def __init__(self) -> None:
        self.connections: list[str] = []
        self.requests: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                listener.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.end_headers()
                self.wfile.write(b"body { background: red; }")

            do_HEAD = do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def verify_request(self, request: object, client_address: object) -> bool:
                listener.connections.append(str(client_address))
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def heard_nothing(self) -> bool:
        eventlet.sleep(0.3)  # a connection in flight is accepted by now
        return not self.connections and not self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    with urllib.request.urlopen(server.url("/probe"), timeout=5) as answer:  # it does listen
        assert answer.status == 200
    assert server.requests == ["/probe"]
    server.connections.clear()
    server.requests.clear()
    yield server
    server.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[RendererPool]:
    renderers = RendererPool(2)
    yield renderers
    renderers.close()


def pdf_text(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return " ".join(text.decode().split())


def pdf_fonts(pdf: bytes) -> str:
    return subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def pdf_is_whole(pdf: bytes) -> bool:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True)
    return info.returncode == 0 and not info.stderr


# -- customer text that looks like markup -----------------------------------------------------------


def hostile(listener: Listener) -> list[str]:
    """What a customer may type as a product name, reference or company name (each short
    enough to print whole in a report's cell)."""
    return [
        '<img src="file:///etc/passwd">',
        f'<link rel=stylesheet href="{listener.url("/x.css")}">',
        f'<iframe src="{listener.url("/frame")}"></iframe>',
        f'<p style="background:url({listener.url("/bg")})">',
        "<style>@import url(file:///etc/passwd);</style>",
        f'<object data="{listener.url("/o")}">',
    ]


def report_context(report: reports.Report) -> dict:
    """What the documents service hands ``report.html`` for a report of one part."""
    pages = reports.pages_of(list(report.rows), len(report.summary))
    return reports.page_context(report, pages, 1, len(pages), {"name": "Ada Cloud AB"},
                                {"name": "Nimbus Cloud AB"})


def test_markup_in_a_reports_names_and_references_prints_as_text_and_fetches_nothing(pool, listener):
    texts = hostile(listener)
    report = reports.Report(
        title=reports.TITLES[reports.SALES], subtitle=texts[0],
        columns=[reports.Column("Article", width=1), reports.Column("Name", width=6)],
        rows=iter([reports.Row(style="group", label=text) for text in texts]
                  + [reports.Row(["SKU-1", text]) for text in texts]))

    pdf = pool.render("report.html", report_context(report))

    assert listener.heard_nothing(), (listener.connections, listener.requests)
    text = pdf_text(pdf)
    for written in texts:
        assert text.count(written) >= 2, (written, text)  # its group row and its cell
    assert "root:x:0:0" not in text


def test_markup_in_an_invoices_buyer_and_lines_prints_as_text_and_fetches_nothing(pool, listener):
    texts = hostile(listener)

    def eur(amount: str) -> MoneyOut:
        return MoneyOut(amount=Decimal(amount), currency="EUR")

    invoice = InvoiceOut(
        id="i-1", number="INV-2026-000077", account_id="a-1", status="issued",
        issue_date="2026-11-22", po_numbers=[texts[3]], currency="EUR", net=eur("10.00"),
        vat=eur("2.50"), total=eur("12.50"), pdf_status="pending",
        issued_at=datetime(2026, 11, 22, tzinfo=UTC),
        seller=PartySnapshot(name="Nimbus Cloud AB", address="Storgatan 1", vat_id="SE1"),
        buyer=PartySnapshot(name=texts[0], address=texts[4]),
        lines=[InvoiceLineOut(order_id=f"o-{n}", description=text, quantity=1,
                              unit_price=eur("10.00"), vat_rate="25.00", net=eur("10.00"),
                              vat=eur("2.50"), gross=eur("12.50"))
               for n, text in enumerate(texts)])

    pdf = pool.render("invoice.html", contexts.invoice(invoice))

    assert listener.heard_nothing(), (listener.connections, listener.requests)
    text = pdf_text(pdf)
    for written in texts:
        assert written in text, (written, text)
    assert "root:x:0:0" not in text


# -- the renderer's own reach -------------------------------------------------------------------------

# The renderer process as it runs (no eventlet), with WeasyPrint's HTML replaced by a recorder
# so that the URL fetcher the renderer hands WeasyPrint can be asked for URLs directly — what
# a template (ours: customer text never becomes markup, above) would make it fetch.
FETCH_PROBE = """
import json, sys
import weasyprint
from services.documents import renderer_worker

handed = {}

class Recorder:
    def __init__(self, *args, url_fetcher=None, **kwargs):
        handed["fetcher"] = url_fetcher
    def write_pdf(self, **kwargs):
        return b"%PDF-recorded"

weasyprint.HTML = Recorder
request = json.loads(sys.stdin.read())
render = renderer_worker.make_renderer()
render({"template": "report.html", "language": "en", "context": request["context"]})
answers = {}
for url in request["urls"]:
    try:
        answers[url] = "read: " + handed["fetcher"].fetch(url).read(80).decode(errors="replace")
    except ValueError as refused:
        answers[url] = "refused: " + str(refused)
print(json.dumps(answers))
"""


def fetched(urls: list[str]) -> dict[str, str]:
    report = reports.Report(title=reports.TITLES[reports.SALES], columns=[reports.Column("Article")],
                            rows=iter([]))
    probe = subprocess.run([sys.executable, "-c", FETCH_PROBE], cwd=testing.ROOT, capture_output=True,
                           input=json.dumps({"context": report_context(report), "urls": urls}).encode(),
                           timeout=120, check=True)
    return json.loads(probe.stdout.decode().strip().splitlines()[-1])


def test_the_renderer_reads_its_packaged_stylesheet():
    stylesheet = (TEMPLATES / "report.css").as_uri()
    assert fetched([stylesheet])[stylesheet].startswith("read: /* Reports")


def test_the_renderer_refuses_the_network_and_the_machines_files(listener):
    urls = [listener.url("/x.css"), f"https://127.0.0.1:{listener.port}/x.css",
            f"ftp://127.0.0.1:{listener.port}/x", "file:///etc/passwd", "file://localhost/etc/passwd",
            TEMPLATES.as_uri() + "/../../../../../../../etc/passwd",
            "data:text/css,body{background:red}"]
    answers = fetched(urls)
    assert {url: answer.split(":")[0] for url, answer in answers.items()} == dict.fromkeys(urls, "refused")
    assert listener.heard_nothing(), (listener.connections, listener.requests)


def test_the_renderer_refuses_a_percent_encoded_way_out_of_its_templates():
    depth = len(TEMPLATES.parts) - 1
    url = TEMPLATES.as_uri() + "/%2e%2e" * depth + "/etc/passwd"
    answer = fetched([url])[url]
    assert answer.startswith("refused"), f"{url} was {answer!r}"


@pytest.mark.parametrize("template", ["../renderer_worker.py", "/etc/passwd", "../../common/config.py",
                                      "mail/../../service.py"])
def test_only_a_packaged_template_is_ever_rendered(pool, template):
    with pytest.raises(RenderFailed) as failed:
        pool.render(template, {})
    assert "TemplateNotFound" in str(failed.value)
    assert pool.render("report.html", report_context(reports.Report(
        title=reports.TITLES[reports.SALES], columns=[reports.Column("Article")],
        rows=iter([])))).startswith(b"%PDF")


# -- limits: memory, time, size -------------------------------------------------------------------------


def long_report(rows: int) -> dict:
    """One page of ``rows`` rows: far more than a page holds, to make the renderer work."""
    report = reports.Report(title=reports.TITLES[reports.SALES],
                            columns=[reports.Column("Article"), reports.Column("Name", width=4)],
                            rows=iter([]))
    return reports.page_context(report, [[reports.Row([f"SKU-{n}", "Rack rail kit, black, 4 m " * 2])
                                          for n in range(rows)]], 1, 1, {"name": "A"}, {"name": "S"})


SMALL = long_report(3)


def renderer_pids() -> set[int]:
    """This process's rendering processes, as the operating system lists them."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if parent == os.getpid() and b"services.documents.renderer_worker" in command and state != "Z":
            found.add(int(entry.name))
    return found


def test_a_document_needing_more_memory_than_a_renderer_may_use_costs_only_that_renderer():
    others = renderer_pids()
    pool = RendererPool(1, timeout=120, memory_mb=450)
    try:
        assert pool.render("report.html", SMALL).startswith(b"%PDF")  # the limit lets documents by
        (first,) = renderer_pids() - others
        with pytest.raises(RendererLost):
            pool.render("report.html", long_report(20_000))
        (replacement,) = renderer_pids() - others
        assert replacement != first
        assert pool.render("report.html", SMALL).startswith(b"%PDF")
    finally:
        pool.close()


def test_a_render_overrunning_its_time_is_killed_and_its_renderer_replaced():
    others = renderer_pids()
    pool = RendererPool(1, timeout=3)
    try:
        assert pool.render("report.html", SMALL).startswith(b"%PDF")
        (first,) = renderer_pids() - others
        started = time.monotonic()
        with pytest.raises(RendererLost, match="timed out"):
            pool.render("report.html", long_report(5_000))
        assert time.monotonic() - started < 10
        assert not Path(f"/proc/{first}").exists(), "the overrunning renderer still runs"
        (replacement,) = renderer_pids() - others
        assert replacement != first
        assert pool.render("report.html", SMALL).startswith(b"%PDF")
    finally:
        pool.close()


def test_a_pdf_larger_than_a_pipes_buffer_arrives_whole_and_the_next_one_too():
    pool = RendererPool(1)  # its own: a renderer out of step would garble others' tests
    try:
        large = pool.render("report.html", long_report(500))
        assert pdf_is_whole(large), f"the PDF came back cut, {len(large)} bytes"
        assert len(large) > 64 * 1024
        try:
            after = pool.render("report.html", SMALL)
        except RenderFailed as garbled:
            pytest.fail(f"the next render read the rest of the last one: {str(garbled)[:40]!r}…")
        assert after.startswith(b"%PDF") and pdf_is_whole(after)
    finally:
        pool.close()


# -- languages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "title", "customer_text"), [
    ("ru", "Взаиморасчёты", "Пополнение счёта ООО «Ромашка», договор № 7"),
    ("sv", "Avstämning", "Återbetalning för kö – Göteborg, Malmö"),
])
def test_swedish_and_russian_print_in_the_embedded_dejavu_font(pool, language, title, customer_text):
    report = reports.Report(
        title=reports.TITLES[reports.SETTLEMENTS], subtitle="2026-08-01 – 2026-08-31",
        summary=[("Opening balance", {"amount": "1234.50", "currency": "EUR"}, "money")],
        columns=[reports.Column("Date", "date"), reports.Column("Movement", width=2),
                 reports.Column("Reference", width=5), reports.Column("Amount", "money")],
        rows=iter([reports.Row(["2026-08-02", reports.msg("Top-up"), customer_text,
                                {"amount": "40.00", "currency": "EUR"}])]))

    pdf = pool.render("report.html", report_context(report), language=language)

    text = pdf_text(pdf)
    assert title in text and customer_text in text, text
    fonts = [line.split() for line in pdf_fonts(pdf).splitlines()[2:]]
    assert fonts and all(font[0].split("+")[-1].replace("-", "").startswith("DejaVuSans")
                         for font in fonts), fonts
    assert all(font[-5] == "yes" for font in fonts), fonts  # emb: embedded, not the reader's
