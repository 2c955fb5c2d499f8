"""A large report's PDF is rendered in parts and joined: its pages are numbered over the whole
report, every row is printed once, in order, and the joined file is one valid PDF."""

import io
import subprocess

import pytest
from pypdf import PdfReader

from services.documents import reports
from services.documents.rendering import RendererPool

PART_PAGES = 5


@pytest.fixture(scope="module")
def pool():
    renderers = RendererPool(2)
    yield renderers
    renderers.close()


def report_of(rows: int) -> reports.Report:
    return reports.Report(
        title=reports.TITLES[reports.SETTLEMENTS], subtitle="2026-01-01 – 2026-06-30",
        columns=[reports.Column("Date", "date"), reports.Column("Reference", width=3),
                 reports.Column("Amount", "money")],
        rows=iter([reports.Row(["2026-03-01", f"row {n:05d}", reports.money(f"{n}.00", "EUR")])
                   for n in range(rows)]))


def test_a_report_rendered_in_parts_numbers_its_pages_over_the_whole_and_keeps_every_row(pool, tmp_path):
    report = report_of(600)
    page_rows = reports.pages_of(list(report.rows), len(report.summary))
    total = len(page_rows)
    parts = []
    for number, start in enumerate(range(0, total, PART_PAGES)):
        context = reports.page_context(report, page_rows[start:start + PART_PAGES], start + 1, total,
                                       {"name": "Ada AB"}, {"name": "Nimbus Cloud AB"})
        path = tmp_path / f"part-{number}.pdf"
        path.write_bytes(pool.render("report.html", context, language="en"))
        parts.append(str(path))
    joined = tmp_path / "report.pdf"
    pool.merge(parts, str(joined))

    assert len(parts) > 2
    reader = PdfReader(io.BytesIO(joined.read_bytes()))
    assert len(reader.pages) == total  # one page per laid-out page: nothing overflowed
    text = subprocess.run(["pdftotext", "-layout", str(joined), "-"], capture_output=True, check=True,
                          text=True).stdout
    pages = text.split("\f")[:total]
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {total}" in page
    printed = [line.split("row ")[1][:5] for line in text.splitlines() if "row " in line]
    assert printed == [f"{n:05d}" for n in range(600)]


def test_an_empty_report_is_one_page_that_says_so(pool):
    report = report_of(0)
    context = reports.page_context(report, reports.pages_of([], 0), 1, 1, {"name": "Ada AB"},
                                   {"name": "Nimbus Cloud AB"})
    pdf = pool.render("report.html", context, language="sv")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Inget att redovisa för perioden." in text and "Sida 1 av 1" in text
