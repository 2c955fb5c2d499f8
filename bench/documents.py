"""Documents: an invoice against bare WeasyPrint, settlements reports of 50 and 500 pages, a
year of a million movements as CSV through the product against plain PostgreSQL ``COPY``, and
the gateway's reads while a 500-page report renders against bare nameko RPC — in one run.

    python -m bench.documents [--invoices 20] [--pages 50,500] [--entries 1000000]
                              [--report-pages 500] [--calls 2000] [--only 1,2,3,4]   (or: make bench)

1. **invoice** — one issued invoice of a few lines (``bench.einvoice.document``, one page), in
   rounds that interleave every variant (so drift on the shared box hits all alike), after two
   warm-up rounds: the **floors**, in this process, on the exact HTML the worker renders
   (``invoice.html`` through ``i18n.environment`` as ``renderer_worker.make_renderer`` does):
   ``weasyprint.HTML(...).write_pdf()``, and the same as PDF/A-3b with the CII embedded by
   ``facturx.embed`` (the same work as the service's); the **service**: ``RendererPool.render``
   plain, as PDF/A-3b + Factur-X, and the whole of ``_produce`` but its database (CII, the XSD
   check, the render, ``FileStore.put`` — replicated: ``_produce`` reads and writes the
   documents database).  Ratios are floor / service on medians (target ≥ 0.9).
2. **settlements PDF** — ``DocumentsService._report_file`` itself (a nameko ``worker_factory``
   instance with this run's pool, a file store in a temporary folder and the default settings;
   its database a stand-in, so progress is said but written nowhere) on a settlements
   ``Report`` built by ``reports.settlements`` from a synthetic ledger standing in for billing
   and invoicing (``export_statement`` pages of CSV text as ``repository.statement_csv`` writes
   them, a top-up and two order charges in every three movements, an invoice per 20 orders):
   exactly 50, 500 and again 50 pages (checked in the PDF; renderers slow down as they age, so the small
   size is taken on fresh and on aged renderers).  Time and CPU-ms per page; the ratio of ms per page
   at 500 to the mean at 50 (target ≈ 1.0: linear); the renderers' address space at its peak;
   each renderer's peak RSS (``VmHWM``, reset before each report through ``clear_refs``).  The
   floor: bare WeasyPrint on the HTML of the first 50-page part.
3. **settlements CSV** — the product (``testing.running_product``, hub-blocking detection off);
   an account signed up through the gateway is given ``--entries`` movements over the past 365
   days, written into the billing database with ``COPY`` (``bench.statement.load_entries``);
   then ``POST /reports`` (settlements, CSV, from the same day a year back to today), polled
   until ready, and the file downloaded (streamed to disk).  Floors: ``COPY (the same rows, in
   the same order, from the postings alone as the report reads them) TO '<file>'`` written by
   the server, and ``TO STDOUT`` written to a file here (the faster of two runs each).  Ratio
   product / server COPY (target ≤ 3); CPU-ms of every process; peak RSS of billing,
   documents, gateway and the renderers (reset before).
4. **reads while rendering** — 10 customers each with an order; the bare RPC echo floor (10
   callers) and ``GET /api/v1/orders/{id}`` (10 connections), as ``bench.gateway_vs_rpc``
   measures them (its functions), undisturbed; then a ``--report-pages`` settlements PDF is
   asked for (an account given exactly enough movements over the past week) and, once its
   rendering has begun, the reads again.  Ratio reads while rendering / floor (target ≥ 0.6).
   While the report still renders, the reads are measured twice more with its renderers made to
   yield from here — at nice 19, then held to half a core (stopped and continued every 50 ms,
   as a cgroup's ``cpu.max`` would) — the changes this bench weighs.
   Then the report is waited for and downloaded, and its pages counted.

CPU is utime + stime from ``/proc/<pid>/stat`` (10 ms ticks); this process's from
``getrusage``.  Each scenario also prints the whole box's busy CPU (``/proc/stat``) beside what
the processes listed used: the box is shared, and a gap means something else ran meanwhile.

Known blind spots: RabbitMQ's and PostgreSQL's CPU is the whole broker's and cluster's; a
renderer replaced during a window loses its CPU (parts 1–2 watch the pool's live processes);
``VmHWM`` after ``clear_refs`` is the peak since the reset, not over the process's life.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import random
import resource
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import worker_factory
from pypdf import PdfReader
from weasyprint import HTML

from bench import gateway_vs_rpc as gw
from bench import statement
from bench.einvoice import document as issued_invoice
from services.common import einvoice, facturx, testing
from services.common.config import Settings
from services.common.contracts import InvoiceOut
from services.common.db import make_engine
from services.documents import contexts, i18n, reports
from services.documents.filestore import FileStore
from services.documents.models import ReportJob
from services.documents.renderer_worker import TEMPLATES
from services.documents.rendering import RendererPool
from services.documents.service import PART_PAGES, DocumentsService, Progress

TICK_MS = gw.TICK_MS
CONCURRENCY = gw.CONCURRENCY
BASE_URL = TEMPLATES.as_uri() + "/"
ACCOUNT = {"id": "bench-account", "company_name": "Bench Settlements AB", "language": "en"}
ORDERS_PER_INVOICE = 20
RSS_TARGET_MB = 300


# -- processes: CPU and memory from /proc ------------------------------------------------------


def renderers(parent: int) -> list[int]:
    """The live renderer processes whose parent is ``parent`` (this process, or documents)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        stat = gw.read_stat(entry.name)
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if stat is not None and stat.ppid == parent and b"renderer_worker" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def cpu_ms(pids: Iterable[int]) -> float:
    return sum(stat.ticks for pid in pids if (stat := gw.read_stat(pid)) is not None) * TICK_MS


def self_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def status_mb(pid: int, key: str) -> float:
    """``VmHWM`` (peak resident) or ``VmRSS`` of a process, in MB; NaN once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def reset_peak(pids: Iterable[int]) -> None:
    """Start each process's ``VmHWM`` again from its resident size now (Linux ≥ 4.0)."""
    for pid in pids:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")


def peaks(named: dict[str, int]) -> str:
    """Each process's peak RSS, and (in brackets) what it still holds now."""
    return ", ".join(f"{name} {status_mb(pid, 'VmHWM'):.0f} MB ({status_mb(pid, 'VmRSS'):.0f})"
                     for name, pid in named.items())


class BoxWatch:
    """The whole box's busy CPU over a window, to set beside what the listed processes used."""

    def __init__(self) -> None:
        self.busy = gw.snapshot().box_busy

    def note(self, ours_ms: float) -> str:
        box = (gw.snapshot().box_busy - self.busy) * TICK_MS
        return f"box busy {box / 1000:.1f} CPU-s, of which the processes above {ours_ms / 1000:.1f}"


def box_idle_check() -> str:
    """How busy the box is before anything starts (other people's work shares the 2 cores)."""
    before = gw.snapshot()
    time.sleep(1.0)
    after = gw.snapshot()
    busy = (after.box_busy - before.box_busy) * TICK_MS / (after.at - before.at) / 10
    return f"box busy before the run: {busy:.0f}% of one core (load average {os.getloadavg()[0]:.2f})"


# -- the renderer pool ---------------------------------------------------------------------------


def service_pool(size: int | None = None) -> RendererPool:
    """A pool as the documents service's ``Renderer`` makes it: processes, time and memory limit
    from the settings."""
    settings = Settings()
    return RendererPool(size or settings.renderer_processes, settings.render_timeout,
                        settings.render_memory_mb)


# -- 1. an invoice ---------------------------------------------------------------------------------


def one_page_invoice(seed: int) -> InvoiceOut:
    """An invoice as the invoicing service issues it, of few enough lines to fill one page."""
    rng, settings = random.Random(seed), Settings()
    for sequence in range(1, 1000):
        invoice = issued_invoice(rng, sequence, settings)
        if len(invoice.lines) <= 6:
            return invoice
    raise AssertionError("no invoice of six lines or fewer")


@dataclass
class Timings:
    label: str
    wall: list[float] = field(default_factory=list)  # ms per call
    here: float = 0.0  # CPU-ms in this process, summed
    rendering: float = 0.0  # CPU-ms in the renderer processes, summed

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


def invoice_bench(count: int, pool: RendererPool, store: FileStore) -> None:
    invoice = one_page_invoice(1)
    context = contexts.invoice(invoice)
    language = i18n.language_of(invoice.language)
    xml = facturx.cii(invoice)
    assert not einvoice.rejections(facturx.cii_validator(None).check(xml)), "the CII fails its schema"
    environment = i18n.environment(FileSystemLoader(TEMPLATES), language, autoescape=True)
    environment.get_template("invoice.html").render(**context)  # compiled once, as in the worker
    began = time.perf_counter()
    html = environment.get_template("invoice.html").render(**context)
    jinja_ms = (time.perf_counter() - began) * 1000
    first = HTML(string=html, base_url=BASE_URL).write_pdf()
    pages = len(PdfReader(io.BytesIO(first)).pages)

    def floor() -> None:
        HTML(string=html, base_url=BASE_URL).write_pdf()

    def floor_facturx() -> None:
        facturx.embed(HTML(string=html, base_url=BASE_URL).write_pdf(pdf_variant="pdf/a-3b"), xml)

    def plain() -> None:
        pool.render("invoice.html", contexts.invoice(invoice), language=invoice.language)

    def as_facturx() -> None:
        pool.render("invoice.html", contexts.invoice(invoice), language=invoice.language,
                    variant="pdf/a-3b", facturx=xml.decode())

    def produce() -> None:  # DocumentsService._produce without its database
        cii = facturx.cii(invoice)
        findings = einvoice.rejections(facturx.cii_validator(None).check(cii))
        pdf = pool.render("invoice.html", contexts.invoice(invoice), language=invoice.language,
                          variant="pdf/a-3b", facturx=None if findings else cii.decode())
        store.put(pdf)

    variants: list[tuple[Timings, Callable[[], None]]] = [
        (Timings("floor: bare WeasyPrint write_pdf(), this process"), floor),
        (Timings("floor: the same as PDF/A-3b + facturx.embed"), floor_facturx),
        (Timings("service: RendererPool.render, plain"), plain),
        (Timings("service: RendererPool.render, PDF/A-3b + Factur-X"), as_facturx),
        (Timings("service: _produce (CII, XSD check, render, store)"), produce),
    ]
    workers = renderers(os.getpid())
    print(f"\n1. one invoice, {len(invoice.lines)} lines, {pages} page(s), {len(first) / 1024:.0f} KiB "
          f"plain; {count} rounds of every variant, interleaved, after 2 warm-up rounds; the template's "
          f"jinja render {jinja_ms:.1f} ms (in the worker: part of the service's time)", flush=True)
    box = BoxWatch()
    for round_number in range(count + 2):
        for timings, call in variants:
            began, here, rendering_cpu = time.perf_counter(), self_cpu_ms(), cpu_ms(workers)
            call()
            if round_number >= 2:
                timings.wall.append((time.perf_counter() - began) * 1000)
                timings.here += self_cpu_ms() - here
                timings.rendering += cpu_ms(workers) - rendering_cpu
    floor_plain, floor_fx = variants[0][0], variants[1][0]
    for timings, _ in variants:
        line = (f"  {timings.label:<52} p50 {timings.median:6.1f} ms  "
                f"mean {statistics.fmean(timings.wall):6.1f} ms   CPU-ms/invoice: this process "
                f"{timings.here / count:5.1f}, renderers {timings.rendering / count:5.1f}")
        if timings.label.startswith("service"):
            line += f"   floor/service {floor_plain.median / timings.median:.2f}"
            if "PDF/A" in timings.label or "_produce" in timings.label:
                line += f" (same-work floor {floor_fx.median / timings.median:.2f})"
        print(line, flush=True)
    ours = sum(t.here + t.rendering for t, _ in variants)
    print(f"  {box.note(ours)}")
    produced = variants[4][0]
    print(f">>> invoice: bare WeasyPrint / service as _produce renders it (PDF/A-3b + Factur-X): "
          f"{floor_plain.median / produced.median:.2f}  (target >= 0.9); plain render "
          f"{floor_plain.median / variants[2][0].median:.2f}; PDF/A-3b + Factur-X against the same work "
          f"in process {floor_fx.median / variants[3][0].median:.2f}", flush=True)


# -- 2. settlements as PDF -------------------------------------------------------------------------


def rows_for(pages: int) -> int:
    """How many rows fill exactly ``pages`` pages of a settlements report (two summary lines)."""
    first = len(reports.pages_of([reports.Row()] * (reports.FIRST_PAGE_ROWS + 1), 2)[0])
    return first + (pages - 1) * reports.PAGE_ROWS


def movements_for(rows: int) -> int:
    """The movements whose settlements report has ``rows`` rows: opening and closing, each
    movement, and a heading with a row per invoice (20 orders each)."""
    for movements in range(rows - 2, 0, -1):
        invoices = math.ceil(SyntheticLedger.orders_in(movements) / ORDERS_PER_INVOICE)
        if 2 + movements + (1 + invoices if invoices else 0) == rows:
            return movements
    raise AssertionError(f"no ledger has a report of {rows} rows")


class SyntheticLedger:
    """Billing's ``export_statement`` and invoicing's ``issued_between`` for one account: a
    top-up and two order charges in every three movements, spread over the period, as CSV text
    in ``repository.statement_csv``'s format on PostgreSQL; an invoice per 20 orders."""

    def __init__(self, movements: int, since: date) -> None:
        self.movements = movements
        self.start = datetime(since.year, since.month, since.day, 8, tzinfo=UTC)
        self.step = timedelta(days=7) / max(movements, 1)

    @staticmethod
    def orders_in(movements: int) -> int:
        return movements - math.ceil(movements / 3)

    def _order_id(self, index: int) -> str:
        return str(uuid.UUID(int=index + 1))

    def _balance(self, movement: int) -> int:
        """The cash balance after ``movement`` (minor units): +100.00, -30.00, -30.00, …"""
        top_ups = movement // 3 + 1
        return top_ups * 10_000 - (movement + 1 - top_ups) * 3_000

    def export_statement(self, account_id: str, since: str, until: str, cursor: str | None,
                         limit: int) -> dict[str, Any]:
        first = int(cursor or 0)
        last = min(first + limit, self.movements)
        lines = []
        for movement in range(first, last):
            at = (self.start + self.step * movement).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if movement % 3 == 0:
                kind, reference, order_id, amount = "top_up", f"wire RF18539007547{movement:06d}", "", 10_000
            else:
                order_id = self._order_id(movement - movement // 3 - 1)
                kind, reference, amount = "order_charge", f"order {order_id}", -3_000
            lines.append(f'{movement + 1},{at},"{kind}","{reference}","{order_id}",'
                         f"{Decimal(amount).scaleb(-2)},{Decimal(self._balance(movement)).scaleb(-2)}")
        closing = Decimal(self._balance(self.movements - 1)).scaleb(-2) if self.movements else Decimal("0.00")
        return {"currency": "EUR", "columns": [], "opening_balance": {"amount": "0.00", "currency": "EUR"},
                "closing_balance": {"amount": str(closing), "currency": "EUR"},
                "rows": "".join(line + "\n" for line in lines), "count": last - first,
                "last_at": lines[-1].split(",", 2)[1] if lines else None,
                "next_cursor": str(last) if last == first + limit and last < self.movements else None}

    def issued_between(self, account_id: str, since: str, until: str) -> dict[str, Any]:
        orders = self.orders_in(self.movements)
        items = []
        for number, start in enumerate(range(0, orders, ORDERS_PER_INVOICE), 1):
            covered = [self._order_id(i) for i in range(start, min(start + ORDERS_PER_INVOICE, orders))]
            items.append({"id": f"invoice-{number}", "number": f"INV-2026-{number:06d}", "kind": "invoice",
                          "issue_date": until, "credited_invoice_number": None,
                          "total": {"amount": f"{len(covered) * 30}.00", "currency": "EUR"},
                          "order_ids": covered})
        return {"items": items}

    def report(self, since: date, until: date) -> reports.Report:
        return reports.settlements(reports.Sources(self, None, self), ACCOUNT["id"],
                                   {"from": since.isoformat(), "to": until.isoformat(), "format": "pdf"},
                                   until)


class TimedRenderer:
    """The pool as ``_report_file`` uses it, with each call's wall time kept."""

    def __init__(self, pool: RendererPool) -> None:
        self.pool = pool
        self.renders: list[float] = []
        self.merges: list[float] = []

    def render(self, template: str, context: dict[str, Any], language: str = "en",
               variant: str | None = None, facturx: str | None = None) -> bytes:
        began = time.perf_counter()
        pdf = self.pool.render(template, context, language=language, variant=variant, facturx=facturx)
        self.renders.append(time.perf_counter() - began)
        return pdf

    def merge(self, parts: list[str], target: str) -> None:
        began = time.perf_counter()
        self.pool.merge(parts, target)
        self.merges.append(time.perf_counter() - began)


@dataclass
class ReportRun:
    pages: int
    seconds: float
    here_ms: float
    rendering_ms: float
    renders: list[float]
    merge: float
    size: int
    peaks: str
    address: str  # the renderers' VmPeak, MB


def settlements_pdf(pages: int, pool: RendererPool, root: Path) -> ReportRun:
    since = date(2026, 3, 1)
    ledger = SyntheticLedger(movements_for(rows_for(pages)), since)
    timed = TimedRenderer(pool)
    store = FileStore(root / f"files-{pages}")
    service: DocumentsService = worker_factory(DocumentsService, renderer=timed, files=store,
                                               settings=Settings())
    job = ReportJob(id=str(uuid.uuid4()), kind=reports.SETTLEMENTS, format="pdf")
    workers = renderers(os.getpid())
    reset_peak([*workers, os.getpid()])
    began, here, rendering_cpu = time.perf_counter(), self_cpu_ms(), cpu_ms(workers)
    report = ledger.report(since, since + timedelta(days=7))  # what _run_report builds first
    # the real Progress: its writes of the job's row go to worker_factory's stand-in database
    stored = service._report_file(job, report, "en", ACCOUNT, Progress(service, job.id, 1))
    seconds = time.perf_counter() - began
    here_ms, rendering_ms = self_cpu_ms() - here, cpu_ms(workers) - rendering_cpu
    named = {f"renderer {n}": pid for n, pid in enumerate(workers, 1)} | {"this process": os.getpid()}
    peak = peaks(named)
    counted = len(PdfReader(store.resolve(stored.path)).pages)
    if counted != pages:
        raise AssertionError(f"the report has {counted} pages, not {pages}")
    address = ", ".join(f"{status_mb(pid, 'VmPeak'):.0f}" for pid in workers)
    return ReportRun(pages, seconds, here_ms, rendering_ms, timed.renders, sum(timed.merges), stored.size,
                     peak, address)


def report_floor() -> float:
    """Bare WeasyPrint, in this process, on the HTML of the first part of a 50-page report."""
    since = date(2026, 3, 1)
    ledger = SyntheticLedger(movements_for(rows_for(PART_PAGES)), since)
    report = ledger.report(since, since + timedelta(days=7))
    page_rows = reports.pages_of(list(report.rows), len(report.summary))
    context = reports.page_context(report, page_rows[:PART_PAGES], 1, len(page_rows),
                                   {"name": ACCOUNT["company_name"]}, {"name": Settings().seller_name})
    environment = i18n.environment(FileSystemLoader(TEMPLATES), "en", autoescape=True)
    html = environment.get_template("report.html").render(**context)
    began = time.perf_counter()
    HTML(string=html, base_url=BASE_URL).write_pdf()
    return time.perf_counter() - began


def reports_bench(sizes: list[int], pool: RendererPool) -> None:
    """Each size in turn, then the first again: renderers slow down as they age (after ten
    50-page parts the same part takes 15–25 % longer), so the first size is measured on fresh
    and on aged renderers and the linearity ratio takes their mean."""
    order = [*sizes, sizes[0]] if len(sizes) > 1 else sizes
    print(f"\n2. settlements reports as PDF through DocumentsService._report_file ({PART_PAGES} pages a "
          f"part, parts joined by the renderer's merge), synthetic ledger; sizes "
          f"{', '.join(map(str, order))}", flush=True)
    since = date(2026, 3, 1)
    warm = SyntheticLedger(movements_for(rows_for(2)), since).report(since, since + timedelta(days=7))
    warm_rows = reports.pages_of(list(warm.rows), len(warm.summary))
    warm_context = reports.page_context(warm, warm_rows, 1, len(warm_rows), {"name": "Warm AB"},
                                        {"name": Settings().seller_name})
    for _ in range(2):  # each renderer once (they take turns), as part 1 would have done
        pool.render("report.html", warm_context)
    runs = []
    box = BoxWatch()
    ours = 0.0
    memory_limit = Settings().render_memory_mb
    with tempfile.TemporaryDirectory() as tmp:
        for pages in order:
            run = settlements_pdf(pages, pool, Path(tmp))
            runs.append(run)
            ours += run.here_ms + run.rendering_ms
            parts = len(run.renders)
            part_sizes = [min(PART_PAGES, run.pages - n * PART_PAGES) for n in range(parts)]
            per_page = [seconds / size * 1000 for seconds, size in zip(run.renders, part_sizes, strict=True)]
            print(f"  {run.pages:5d} pages: {run.seconds:7.1f} s, {run.seconds / run.pages * 1000:6.1f} "
                  f"ms/page ({parts} part(s): render {sum(run.renders):.1f} s; merge {run.merge:.2f} s); "
                  f"CPU-ms/page: renderers {run.rendering_ms / run.pages:.0f}, this process "
                  f"{run.here_ms / run.pages:.1f}; {run.size / 1e6:.1f} MB", flush=True)
            if parts > 1:
                print(f"         parts' ms/page: first {per_page[0]:.0f}, min {min(per_page):.0f}, median "
                      f"{statistics.median(per_page):.0f}, max {max(per_page):.0f}, last {per_page[-1]:.0f}",
                      flush=True)
            print(f"         peak RSS (now): {run.peaks}; renderers' address space at its peak (VmPeak, "
                  f"what the limit counts): {run.address} MB of {memory_limit}", flush=True)
        floor = 0.0
        firsts = [run.renders[0] for run in runs if run.pages == PART_PAGES]
        if firsts:
            floor = report_floor()
            ours += floor * 1000
            print(f"  floor: bare WeasyPrint on the HTML of the same {PART_PAGES}-page part: {floor:.1f} s, "
                  f"{floor / PART_PAGES * 1000:.0f} ms/page; floor/service "
                  f"{floor / statistics.fmean(firsts):.2f}", flush=True)
    print(f"  {box.note(ours)}")
    if len(sizes) >= 2:
        small = statistics.fmean(run.seconds / run.pages for run in runs if run.pages == sizes[0])
        large = next(run for run in runs if run.pages == max(sizes))
        print(f">>> report PDF: ms/page at {large.pages} pages / at {sizes[0]} pages (mean of its two runs) "
              f"= {(large.seconds / large.pages) / small:.2f}  (target ~1.0: linear)", flush=True)


# -- 3. settlements as CSV through the product -----------------------------------------------------


def statement_query(account_id: str, since: date, until: date) -> str:
    """The rows ``repository.statement_csv`` pages, in its order, as one plain query."""
    return ("SELECT p.id, p.at, p.kind, p.reference, p.order_id, p.amount_minor, p.balance_after_minor "
            "FROM postings p "
            f"WHERE p.account_id = '{account_id}' AND p.book = 'customer_cash' AND p.currency = 'EUR' "
            f"AND p.at >= '{since.isoformat()}T00:00:00+00:00' "
            f"AND p.at < '{(until + timedelta(days=1)).isoformat()}T00:00:00+00:00' ORDER BY p.at, p.id")


def copy_floors(url: str, query: str, here: Path) -> tuple[float, float, int]:
    """(server COPY TO a file, COPY TO STDOUT into a file here) in seconds, the faster of two
    runs each; and the bytes written."""
    engine = make_engine(url)
    server_file = Path(f"/tmp/bc_bench_copy_{os.getpid()}.csv")  # written by the server's user
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        server, client = math.inf, math.inf
        for _ in range(2):
            began = time.perf_counter()
            cursor.execute(f"COPY ({query}) TO '{server_file}' (FORMAT csv)")
            server = min(server, time.perf_counter() - began)
            began = time.perf_counter()
            with open(here, "w") as out:
                cursor.copy_expert(f"COPY ({query}) TO STDOUT (FORMAT csv)", out)
            client = min(client, time.perf_counter() - began)
        raw.rollback()
        size = here.stat().st_size
    finally:
        raw.close()
        engine.dispose()
        server_file.unlink(missing_ok=True)
    return server, client, size


def wait_report(customer: gw.Customer, report_id: str, timeout: float,
                until: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Poll ``GET /reports/{id}`` until the job is ready or failed (or ``until`` says so)."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = gw.expect(customer.http.get(f"/reports/{report_id}"), 200)
        if job["status"] in ("ready", "failed") or (until is not None and until(job)):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"report {report_id} still {job['status']} ({job['progress']} %) "
                                 f"after {timeout:.0f} s")
        time.sleep(0.2)


def download(customer: gw.Customer, file_id: str, target: Path) -> int:
    size = 0
    with customer.http.stream("GET", f"/files/{file_id}/content") as answer, open(target, "wb") as out:
        if answer.status_code != 200:
            raise gw.ApiError(f"GET /files/{file_id}/content answered {answer.status_code}")
        for chunk in answer.iter_bytes(256 * 1024):
            out.write(chunk)
            size += len(chunk)
    return size


def export_alone(product: testing.Product, account_id: str, since: date, until: date) -> tuple[float, int]:
    """The statement's pages from billing as the documents service asks for them, one after
    another, but by this process (which only decodes them): the billing side of the report."""
    with ClusterRpcProxy({"AMQP_URI": product.env["AMQP_URI"]}, timeout=60) as cluster:
        began, cursor, pages = time.perf_counter(), None, 0
        while True:
            page = cluster.billing.export_statement(account_id, since.isoformat(), until.isoformat(), cursor,
                                                    reports.STATEMENT_PAGE)
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                return time.perf_counter() - began, pages


def involved(product: testing.Product) -> dict[str, int]:
    documents = product.processes["documents"].pid
    named = {name: product.processes[name].pid for name in ("billing", "documents", "gateway")}
    named |= {f"renderer {n}": pid for n, pid in enumerate(renderers(documents), 1)}
    return named


def cpu_line(cpu: dict[str, float], rows: Iterable[str]) -> str:
    return ", ".join(f"{row} {cpu.get(row, 0.0):.0f}" for row in rows)


def settlements_csv(product: testing.Product, watched: gw.Watched, entries: int, here: Path) -> None:
    customer = gw.register(product, 1000)
    url = product.env["BILLING_DATABASE_URL"]
    now = datetime.now(UTC).replace(microsecond=0)
    began = time.perf_counter()
    statement.load_entries(url, customer.account_id, entries, now)
    print(f"\n3. settlements as CSV through the product: {entries:,} movements over 365 days of one account "
          f"(signed up through the gateway), written with COPY in {time.perf_counter() - began:.0f} s",
          flush=True)
    today = now.date()
    since = reports.months_before(today, 12)
    server, client, floor_size = copy_floors(url, statement_query(customer.account_id, since, today),
                                             here / "floor.csv")
    (here / "floor.csv").unlink()
    print(f"  floor: COPY (the report's rows, from the postings, in its order) TO '<file>' by the "
          f"server: {server:.2f} s; TO STDOUT into a file here: {client:.2f} s ({floor_size / 1e6:.0f} MB)",
          flush=True)

    named = involved(product)
    reset_peak(named.values())
    box = BoxWatch()
    before = gw.snapshot()
    began = time.perf_counter()
    asked = gw.expect(customer.http.post("/reports", headers=gw.once(), json={
        "kind": "settlements", "format": "csv", "from": since.isoformat(), "to": today.isoformat()}), 202)
    job = wait_report(customer, asked["id"], 600)
    ready = time.perf_counter()
    if job["status"] != "ready":
        raise AssertionError(f"the CSV report failed: {job['error']}")
    target = here / "settlements.csv"
    size = download(customer, job["file_id"], target)
    done = time.perf_counter()
    after = gw.snapshot()
    cpu = watched.cpu_ms(before, after)
    peak = peaks(named | {name: pid for name, pid in involved(product).items() if name not in named})
    produced = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])
    with open(target, "rb") as file:
        header = file.readline().decode("utf-8-sig").rstrip("\r\n").split(",")
        first = file.readline().decode().rstrip("\r\n")
        lines = 2 + sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    target.unlink()
    total = done - began
    print(f"  product: POST /reports -> ready {ready - began:.2f} s (the job's created -> finished "
          f"{produced.total_seconds():.2f} s, up to 1 s of it waiting for the report sweep); download "
          f"{done - ready:.2f} s, {size / 1e6:.0f} MB, {lines - 1:,} rows", flush=True)
    listed = (*gw.SERVICES, "renderers", "rabbitmq", "postgres", "load generator")
    print(f"  CPU-ms: {cpu_line(cpu, listed)} (of it our backends {cpu['postgres, our backends']:.0f}); "
          f"{box.note(sum(cpu.get(row, 0.0) for row in listed))}", flush=True)
    print(f"  peak RSS since the report was asked for (now): {peak}  (target <= {RSS_TARGET_MB} MB each)",
          flush=True)
    if lines - 1 != entries:
        print(f"  !!! the CSV has {lines - 1:,} rows, the ledger {entries:,} movements")
    columns = next(csv.reader([first]))
    if len(header) != len(columns):
        print(f"  !!! service bug: the CSV's header has {len(header)} columns ({', '.join(header)}) but its "
              f"rows {len(columns)} (the first: {first[:110]})")
    alone, pages = export_alone(product, customer.account_id, since, today)
    print(f"  of which billing's share: export_statement alone, its {pages} pages asked for one after "
          f"another over RPC from here (PostgreSQL, billing, the broker): {alone:.2f} s", flush=True)
    print(f">>> CSV of {entries:,} movements: product {total:.2f} s / server COPY to a file {server:.2f} s = "
          f"{total / server:.1f}x  (target <= 3); / COPY TO STDOUT into a file {total / client:.1f}x",
          flush=True)


# -- 4. reads while a report renders ---------------------------------------------------------------


class Yielding:
    """Renderers made to yield the CPU to requests, from outside, for the length of a block."""

    def __init__(self, pids: list[int], start: Callable[[], None], end: Callable[[], None]) -> None:
        self.pids, self._start, self._end = pids, start, end

    def __enter__(self) -> Yielding:
        self._start()
        return self

    def __exit__(self, *_: object) -> None:
        self._end()

    @classmethod
    def nice(cls, pids: list[int]) -> Yielding:
        def set_to(value: int) -> None:
            for pid in pids:
                os.setpriority(os.PRIO_PROCESS, pid, value)
        return cls(pids, lambda: set_to(19), lambda: set_to(0))

    @classmethod
    def half(cls, pids: list[int], period: float = 0.1) -> Yielding:
        """Stopped for half of every ``period`` and continued for the other half."""
        stop = threading.Event()

        def signal_all(signum: int) -> None:
            for pid in pids:
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass

        def duty() -> None:
            while not stop.wait(period / 2):
                signal_all(signal.SIGSTOP)
                stop.wait(period / 2)
                signal_all(signal.SIGCONT)
            signal_all(signal.SIGCONT)

        thread = threading.Thread(target=duty, daemon=True)

        def end() -> None:
            stop.set()
            thread.join()

        return cls(pids, thread.start, end)


def reads_while_rendering(product: testing.Product, watched: gw.Watched, calls: int, pages: int,
                          here: Path) -> None:
    print(f"\n4. reads while a {pages}-page report renders: preparing {CONCURRENCY} customers with an order "
          f"and an account with a week of movements …", flush=True)
    operator = gw.operator_client(product.url)
    customers = [gw.register(product, i) for i in range(CONCURRENCY)]
    for customer in customers:
        gw.top_up(operator, customer.account_id, "50.00")
    orders = [gw.place_order(customer) for customer in customers]
    reporter = gw.register(product, 2000)
    now = datetime.now(UTC).replace(microsecond=0)
    statement.load_entries(product.env["BILLING_DATABASE_URL"], reporter.account_id, rows_for(pages) - 2,
                           now, days=7)
    echo, config = gw.start_echo(product)
    watched.pids["echo"] = echo.pid
    documents = product.processes["documents"].pid
    try:
        floor = gw.floor(config, calls, CONCURRENCY, watched)
        read = gw.reads(f"GET /orders/{{id}} via gateway, {CONCURRENCY} conns", customers, orders, calls,
                        watched)
        began = time.perf_counter()
        asked = gw.expect(reporter.http.post("/reports", headers=gw.once(), json={
            "kind": "settlements", "format": "pdf", "from": (now.date() - timedelta(days=7)).isoformat(),
            "to": now.date().isoformat()}), 202)
        job = wait_report(reporter, asked["id"], 120, lambda job: job["progress"] >= 10)
        rendering_from = time.perf_counter()
        with gw.RenderWatch(documents) as watch:
            busy = gw.reads(f"the same while the {pages}-page report renders", customers, orders, calls,
                            watched)
            reads_done = time.perf_counter()
            during = gw.expect(reporter.http.get(f"/reports/{asked['id']}"), 200)
        print(f"    rendering began {rendering_from - began:.1f} s after the request; the reads took "
              f"{reads_done - rendering_from:.1f} s; after them the report was {during['status']} at "
              f"{during['progress']} % (renderers last busy {watch.last_change - rendering_from:.1f} s in)",
              flush=True)
        # What the renderers yielding would give (the service cannot be changed from here, so
        # the processes are: niced, then held to half a core as a cgroup's cpu.max would).
        variants: list[tuple[str, gw.Result]] = []
        for label, change in (("nice 19", Yielding.nice), ("half a core", Yielding.half)):
            if gw.expect(reporter.http.get(f"/reports/{asked['id']}"), 200)["status"] != "running":
                print(f"    the report is no longer rendering: '{label}' not measured", flush=True)
                break
            with change(renderers(documents)):
                variants.append((label, gw.reads(f"the same, the renderers at {label}", customers, orders,
                                                 calls, watched)))
    finally:
        echo.send_signal(signal.SIGTERM)
        echo.wait(timeout=20)
        del watched.pids["echo"]
    rows = (*gw.SERVICES, "renderers", "rabbitmq", "postgres", "echo", "load generator")
    for name, result in [("floor", floor), ("read", read), ("read+render", busy), *variants]:
        cells = ", ".join(f"{row} {result.cpu.get(row, 0.0):.2f}" for row in rows)
        print(f"  CPU-ms/call, {name:<11} {cells}; box {result.cpu['box total']:.2f}", flush=True)
    print(f">>> gateway read while a {pages}-page report renders / bare RPC floor (10 concurrent): "
          f"{busy.rate / floor.rate:.2f}  (target >= 0.6); undisturbed {read.rate / floor.rate:.2f}; "
          f"p99 {busy.p99:.1f} ms vs {read.p99:.1f} ms undisturbed", flush=True)
    for name, result in variants:
        print(f">>> the same with the renderers at {name} (a proposed change): "
              f"{result.rate / floor.rate:.2f}; p99 {result.p99:.1f} ms; renderers "
              f"{result.cpu['renderers']:.2f} CPU-ms/call", flush=True)

    job = wait_report(reporter, asked["id"], 900)
    finished = time.perf_counter()
    if job["status"] != "ready":
        raise AssertionError(f"the {pages}-page report failed: {job['error']}")
    target = here / "report.pdf"
    size = download(reporter, job["file_id"], target)
    counted = len(PdfReader(target).pages)
    target.unlink()
    took = finished - began
    print(f"  the report: ready {took:.1f} s after it was asked for ({took / counted * 1000:.0f} ms/page, "
          f"the reads above included), {counted} pages, {size / 1e6:.1f} MB", flush=True)


# -- main --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20, help="rounds of every invoice variant")
    parser.add_argument("--pages", default="50,500", help="settlements PDF sizes of part 2, in pages")
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger movements of part 3")
    parser.add_argument("--report-pages", type=int, default=500, help="the report rendering in part 4")
    parser.add_argument("--calls", type=int, default=2000, help="calls per read/floor scenario of part 4")
    parser.add_argument("--only", default="1,2,3,4", help="which parts to run")
    args = parser.parse_args()
    parts = {int(part) for part in args.only.split(",")}
    sizes = [int(size) for size in args.pages.split(",")]
    calls = max(args.calls // CONCURRENCY, 1) * CONCURRENCY

    print(box_idle_check(), flush=True)

    if parts & {1, 2}:
        pool = service_pool()
        try:
            if 1 in parts:
                with tempfile.TemporaryDirectory() as tmp:
                    invoice_bench(args.invoices, pool, FileStore(Path(tmp)))
            if 2 in parts:
                reports_bench(sizes, pool)
        finally:
            pool.close()

    if parts & {3, 4}:
        with tempfile.TemporaryDirectory() as tmp, \
                testing.running_product(Path(tmp), HUB_BLOCKING_DETECTION="0") as product:
            pids = {name: product.processes[name].pid for name in gw.SERVICES}
            pids["load generator"] = os.getpid()
            watched = gw.Watched(pids, f"bc_e2e_{os.getpid()}_")
            print(f"\nproduct up at {product.url}", flush=True)
            if 3 in parts:
                settlements_csv(product, watched, args.entries, Path(tmp))
            if 4 in parts:
                reads_while_rendering(product, watched, calls, args.report_pages, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
