"""The rules of reports as pure functions: how far back a period may reach (to the day, at
month ends and leap days), the refusals of a request that lacks or garbles a parameter (each
with its code and the field it names), the CSV a spreadsheet reads, how rows are cut into
pages, the three packing-list layouts and the settlements rows read from billing's CSV.

The builders only call their data sources (``sources.orders.packing(...)`` and the like), so
these tests hand them a stand-in with the same methods answering the shapes the services
answer; the services' own tests cover what the real sources return."""

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import InvalidRequest, PeriodTooLong
from services.documents import i18n, reports
from services.documents.reports import (
    FIRST_PAGE_ROWS,
    PAGE_ROWS,
    Column,
    Report,
    Row,
    check_request,
    months_before,
    msg,
    pages_of,
    write_csv,
)

# -- how far back a period reaches ----------------------------------------------------------------


@pytest.mark.parametrize(("day", "months", "earlier"), [
    (date(2026, 8, 31), 6, date(2026, 2, 28)),  # February has no 31st: its last day
    (date(2028, 8, 31), 6, date(2028, 2, 29)),  # … which in a leap year is the 29th
    (date(2026, 8, 29), 6, date(2026, 2, 28)),
    (date(2026, 5, 31), 6, date(2025, 11, 30)),  # back over the new year
    (date(2026, 1, 15), 12, date(2025, 1, 15)),
    (date(2024, 2, 29), 12, date(2023, 2, 28)),  # a leap day a year back
    (date(2025, 2, 28), 12, date(2024, 2, 28)),  # the same day, not the leap year's last
    (date(2026, 3, 31), 1, date(2026, 2, 28)),
    (date(2026, 12, 31), 12, date(2025, 12, 31)),
])
def test_a_period_reaches_back_to_the_same_day_or_the_shorter_months_last(day, months, earlier):
    assert months_before(day, months) == earlier


def period(kind: str, since: date, until: date, today: date) -> dict[str, Any]:
    return check_request(kind, "pdf", {"from": since.isoformat(), "to": until.isoformat()}, today)


@pytest.mark.parametrize(("kind", "today", "earliest"), [
    ("settlements", date(2026, 8, 31), date(2025, 8, 31)),
    ("settlements", date(2024, 2, 29), date(2023, 2, 28)),
    ("settlements", date(2026, 3, 1), date(2025, 3, 1)),
    ("sales", date(2026, 8, 31), date(2026, 2, 28)),
    ("sales", date(2028, 8, 31), date(2028, 2, 29)),
    ("realizations", date(2026, 8, 31), date(2026, 2, 28)),
    ("realizations", date(2026, 1, 31), date(2025, 7, 31)),
])
def test_a_period_may_start_on_its_earliest_day_and_not_one_day_before(kind, today, earliest):
    assert period(kind, earliest, today, today) == {"from": earliest.isoformat(),
                                                    "to": today.isoformat()}
    with pytest.raises(PeriodTooLong) as refused:
        period(kind, earliest - timedelta(days=1), today, today)
    assert refused.value.code == "period_too_long"
    assert refused.value.details == {"max_from": earliest.isoformat(), "to": today.isoformat()}


def test_settlements_reach_back_a_year_and_sales_half_a_year_from_the_same_today():
    today = date(2026, 8, 31)
    assert period("settlements", date(2026, 1, 1), today, today)["from"] == "2026-01-01"
    with pytest.raises(PeriodTooLong):
        period("sales", date(2026, 1, 1), today, today)


@pytest.mark.parametrize("kind", ["settlements", "sales", "realizations"])
def test_a_period_ends_today_at_the_latest(kind):
    today = date(2026, 8, 31)
    assert period(kind, today, today, today) == {"from": "2026-08-31", "to": "2026-08-31"}
    with pytest.raises(PeriodTooLong) as refused:
        period(kind, today, today + timedelta(days=1), today)
    assert refused.value.details["to"] == "2026-08-31"


# -- refusals, each naming its field --------------------------------------------------------------

TODAY = date(2026, 8, 31)


@pytest.mark.parametrize(("kind", "fmt", "parameters", "field"), [
    ("balance_sheet", "pdf", {}, "kind"),
    ("receivables", "docx", {}, "format"),
    ("receivables", "PDF", {}, "format"),
    ("settlements", "pdf", {"to": "2026-08-31"}, "from"),
    ("settlements", "pdf", {"from": "2026-08-01"}, "to"),
    ("sales", "pdf", {}, "from"),
    ("settlements", "pdf", {"from": "2026-02-30", "to": "2026-08-31"}, "from"),
    ("settlements", "pdf", {"from": "2026-08-01", "to": "31.08.2026"}, "to"),
    ("realizations", "csv", {"from": "yesterday", "to": "2026-08-31"}, "from"),
    ("sales", "pdf", {"from": "2026-08-31", "to": "2026-08-01"}, "from"),  # from after to
    ("packing_list", "pdf", {}, "shipment_ids"),
    ("packing_list", "pdf", {"shipment_ids": []}, "shipment_ids"),
    ("packing_list", "pdf", {"shipment_ids": "SH-1"}, "shipment_ids"),
    ("packing_list", "pdf", {"shipment_ids": [f"s-{n}" for n in range(101)]}, "shipment_ids"),
    ("packing_list", "pdf", {"shipment_ids": ["s-1", 2]}, "shipment_ids"),
    ("packing_list", "pdf", {"shipment_ids": [""]}, "shipment_ids"),
    ("packing_list", "pdf", {"shipment_ids": ["x" * 65]}, "shipment_ids"),
    ("packing_list", "pdf", {"shipment_ids": ["s-1"], "layout": "by_colour"}, "layout"),
    ("inventory_certificates", "pdf", {}, "order_id"),
    ("inventory_certificates", "pdf", {"order_id": ""}, "order_id"),
    ("inventory_certificates", "pdf", {"order_id": "o" * 65}, "order_id"),
    ("inventory_certificates", "pdf", {"order_id": 42}, "order_id"),
])
def test_a_request_missing_or_garbling_a_parameter_is_refused_naming_it(kind, fmt, parameters, field):
    with pytest.raises(InvalidRequest) as refused:
        check_request(kind, fmt, parameters, TODAY)
    assert refused.value.code == "invalid_request"
    assert refused.value.details == {"field": field}
    assert refused.value.message  # a sentence a person can act on


def test_an_invalid_date_is_refused_saying_how_a_date_is_written():
    with pytest.raises(InvalidRequest) as refused:
        check_request("settlements", "pdf", {"from": "2026-13-01", "to": "2026-08-31"}, TODAY)
    assert refused.value.message == "a date is YYYY-MM-DD"


def test_the_largest_packing_list_request_is_taken_once_per_shipment_in_the_order_asked():
    ids = [f"s-{n}" for n in range(100)]
    assert check_request("packing_list", "pdf", {"shipment_ids": ids, "layout": None}, TODAY) == {
        "shipment_ids": ids, "layout": "by_article"}
    again = check_request("packing_list", "csv", {"shipment_ids": ["b", "a", "b", "x" * 64],
                                                  "layout": "box_characteristic"}, TODAY)
    assert again == {"shipment_ids": ["b", "a", "x" * 64], "layout": "box_characteristic"}


def test_receivables_take_no_parameters_and_ignore_a_period():
    assert check_request("receivables", "csv", {"from": "1999-01-01", "to": None}, TODAY) == {}


@pytest.mark.parametrize("fmt", ["pdf", "csv", "xlsx"])
def test_every_report_comes_as_pdf_csv_or_xlsx(fmt):
    checked = check_request("sales", fmt, {"from": "2026-08-01", "to": "2026-08-31"}, TODAY)
    assert checked == {"from": "2026-08-01", "to": "2026-08-31"}


# -- CSV ------------------------------------------------------------------------------------------


def swedish(message: str) -> str:
    return i18n.gettext("sv", message)


class Stub:
    """A data source answering the method calls it is given, and recording them."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._answers = answers

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_") or method not in self._answers:
            raise AttributeError(method)

        def call(*args: Any) -> Any:
            self.calls.append((method, args))
            answer = self._answers[method]
            return answer(*args) if callable(answer) else answer

        return call


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def sales_report(rows: list[dict[str, Any]]) -> Report:
    orders = Stub(sales={"from": "2026-07-01", "to": "2026-08-31", "rows": rows})
    return reports.sales(reports.Sources(None, orders, None), "acc-1",
                         {"from": "2026-07-01", "to": "2026-08-31"}, TODAY)


SOLD = [
    {"month": "2026-07", "sku": "VM-S-1M", "name": "Virtual machine, small", "currency": "EUR",
     "quantity": 3, "net": eur("1234.50"), "vat": eur("308.63"), "orders": 2},
    {"month": "2026-08", "sku": "LIC-1Y", "name": 'Licence "Scheduler"', "currency": "EUR",
     "quantity": 1, "net": eur("0.10"), "vat": eur("0.03"), "orders": 1},
]


def csv_of(report: Report, translate=swedish) -> bytes:
    parts: list[bytes] = []
    write_csv(report, translate, parts.append)
    return b"".join(parts)


def test_a_csv_starts_with_one_byte_order_mark_and_a_header_in_the_readers_language():
    content = csv_of(sales_report(SOLD))
    assert content.startswith("\ufeff".encode())
    assert content.count("\ufeff".encode()) == 1
    text = content.decode("utf-8-sig")
    assert text.split("\r\n")[0] == "Artikel,Benämning,Antal,Netto,Moms,Brutto"
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")


def test_a_csv_writes_money_as_plain_decimals_and_a_group_heading_in_the_first_column():
    rows = list(csv.reader(io.StringIO(csv_of(sales_report(SOLD)).decode("utf-8-sig"))))
    assert rows[1:] == [
        ["2026-07", "", "", "", "", ""],
        ["VM-S-1M", "Virtual machine, small", "3", "1234.50", "308.63", "1543.13"],
        ["Summa för månaden", "", "3", "1234.50", "308.63", "1543.13"],
        ["2026-08", "", "", "", "", ""],
        ["LIC-1Y", 'Licence "Scheduler"', "1", "0.10", "0.03", "0.13"],
        ["Summa för månaden", "", "1", "0.10", "0.03", "0.13"],
        ["Summa för perioden", "", "4", "1234.60", "308.66", "1543.26"],
    ]


def test_a_csv_writes_dates_as_iso_days_our_messages_translated_and_nothing_for_no_value():
    report = Report(title="Receivables", rows=iter([
        Row([msg("Negative cash balance"), "2026-08-31T23:59:59.123456Z", None, eur("-5.00")])]),
        columns=[Column("Invoice"), Column("Due date", "date"), Column("Days overdue", "number"),
                 Column("Total", "money")])
    rows = list(csv.reader(io.StringIO(csv_of(report).decode("utf-8-sig"))))
    assert rows[1] == [swedish("Negative cash balance"), "2026-08-31", "", "-5.00"]
    assert rows[1][0] != "Negative cash balance"


def test_a_large_csv_is_written_in_parts_and_loses_no_row():
    many = [Row([f"SKU-{n}", n]) for n in range(2500)]
    report = Report(title="Sales", columns=[Column("Article"), Column("Quantity", "number")],
                    rows=iter(many))
    parts: list[bytes] = []
    write_csv(report, lambda message: message, parts.append)
    assert len(parts) >= 3  # the header, then at most a thousand rows at a time
    rows = list(csv.reader(io.StringIO(b"".join(parts).decode("utf-8-sig"))))
    assert len(rows) == 2501 and rows[-1] == ["SKU-2499", "2499"]


# -- pages ----------------------------------------------------------------------------------------


def numbered(count: int) -> list[Row]:
    return [Row([n]) for n in range(count)]


def test_the_first_page_holds_fewer_rows_and_every_later_page_holds_page_rows():
    pages = pages_of(numbered(FIRST_PAGE_ROWS + 2 * PAGE_ROWS + 5), summary_lines=4)
    assert [len(page) for page in pages] == [FIRST_PAGE_ROWS, PAGE_ROWS, PAGE_ROWS, 5]
    assert FIRST_PAGE_ROWS < PAGE_ROWS


def test_a_longer_summary_leaves_fewer_rows_on_the_first_page_but_never_fewer_than_ten():
    assert len(pages_of(numbered(500), summary_lines=9)[0]) == FIRST_PAGE_ROWS - 2
    assert len(pages_of(numbered(500), summary_lines=200)[0]) == 10
    assert [len(page) for page in pages_of(numbered(500), summary_lines=200)[1:-1]] == [PAGE_ROWS] * 11


def test_an_empty_report_is_one_empty_page():
    assert pages_of([], summary_lines=0) == [[]]


@given(st.integers(0, 5000), st.integers(0, 40))
def test_the_number_of_pages_is_known_from_the_row_count_alone(count, summary_lines):
    rows = numbered(count)
    pages = pages_of(rows, summary_lines)
    first = max(FIRST_PAGE_ROWS - max(summary_lines - 4, 0) // 2, 10)
    assert len(pages) == 1 + -(-max(count - first, 0) // PAGE_ROWS)
    assert [row for page in pages for row in page] == rows
    assert all(len(page) == PAGE_ROWS for page in pages[1:-1])
    assert 0 < len(pages[-1]) <= PAGE_ROWS or count <= first


def test_pages_rendered_in_parts_count_on_from_the_parts_first_page_over_the_whole_report():
    report = Report(title="Sales", columns=[Column("Article")], rows=iter([]))
    pages = pages_of(numbered(FIRST_PAGE_ROWS + 3 * PAGE_ROWS), summary_lines=0)
    context = reports.page_context(report, pages[2:], 3, len(pages), {"name": "Ada AB"},
                                   {"name": "Nimbus"})
    assert [(page["number"], page["first"]) for page in context["pages"]] == [(3, False), (4, False)]
    assert context["total_pages"] == 4
    first = reports.page_context(report, pages[:1], 1, len(pages), {}, {})
    assert first["pages"][0]["first"] is True


def test_a_cell_or_heading_longer_than_a_row_holds_is_cut_with_an_ellipsis():
    report = Report(title="Sales", columns=[Column("Article"), Column("Name")], rows=iter([]))
    long = "x" * 200
    context = reports.page_context(report, [[Row([long, "short"]), Row(style="group", label=long)]],
                                   1, 1, {}, {})
    cells, group = context["pages"][0]["rows"]
    assert cells["cells"] == ["x" * 59 + "…", "short"]
    assert group["label"] == "x" * 59 + "…" and len(group["label"]) == reports.CELL_CHARACTERS


# -- packing lists ----------------------------------------------------------------------------------


def line(sku: str, name: str, quantity: int) -> dict[str, Any]:
    return {"sku": sku, "name": name, "quantity": quantity, "unit_price": eur("10.00"),
            "vat_rate": "25", "net": eur("10.00"), "vat": eur("2.50"), "gross": eur("12.50")}


PACKED = {
    "shipments": [
        {"id": "s-1", "number": "SH-2026-000017", "order_id": "o-1", "account_id": "acc-1",
         "status": "shipped", "po_number": None, "net": eur("160.00"), "vat": eur("40.00"),
         "total": eur("200.00"),
         "lines": [line("RAIL-4", "Rack rail kit", 6), line("CAB-10", "Patch cable", 10)],
         "boxes": [{"number": 12, "lines": [{"sku": "RAIL-4", "quantity": 4}]},
                   {"number": 7, "lines": [{"sku": "RAIL-4", "quantity": 2},
                                           {"sku": "CAB-10", "quantity": 5}]},
                   {"number": 30, "lines": [{"sku": "CAB-10", "quantity": 5}]}]},
        {"id": "s-2", "number": "SH-2026-000018", "order_id": "o-2", "account_id": "acc-1",
         "status": "assembled", "po_number": "PO-9", "net": eur("10.00"), "vat": eur("2.50"),
         "total": eur("12.50"), "lines": [line("RAIL-4", "Rack rail kit", 1)],
         "boxes": [{"number": 1, "lines": [{"sku": "RAIL-4", "quantity": 1},
                                           {"sku": "GONE-1", "quantity": 1}]}]},
    ],
    "characteristics": {"RAIL-4": {"colour": "black", "length": "4 m"}, "CAB-10": {}},
}


def packing_list(layout: str) -> tuple[Report, list[Row], Stub]:
    orders = Stub(packing=PACKED)
    report = reports.packing_list(reports.Sources(None, orders, None), "acc-1",
                                  {"shipment_ids": ["s-1", "s-2"], "layout": layout}, TODAY)
    return report, list(report.rows), orders


def table(rows: list[Row]) -> list[Any]:
    return [("group", row.label) if row.style == "group" else row.cells for row in rows]


def test_a_packing_list_asks_orders_for_the_chosen_shipments_of_the_account():
    _, _, orders = packing_list("by_article")
    assert orders.calls == [("packing", ("acc-1", ["s-1", "s-2"]))]


def test_a_packing_list_by_article_sums_each_article_over_its_boxes_and_names_the_boxes():
    report, rows, _ = packing_list("by_article")
    assert [column.label for column in report.columns] == ["Article", "Name", "Quantity", "Boxes"]
    assert report.subtitle == msg("By article")
    assert table(rows) == [
        ("group", "SH-2026-000017"),
        ["CAB-10", "Patch cable", 10, "7, 30"],
        ["RAIL-4", "Rack rail kit", 6, "7, 12"],  # box numbers in numeric order, as stored
        ("group", "SH-2026-000018"),
        ["GONE-1", "GONE-1", 1, "1"],  # an article no longer on the shipment: its code
        ["RAIL-4", "Rack rail kit", 1, "1"],
    ]


def test_a_packing_list_box_by_nomenclature_lists_each_box_with_its_articles_in_packing_order():
    report, rows, _ = packing_list("box_nomenclature")
    assert [column.label for column in report.columns] == ["Box", "Article", "Name", "Quantity"]
    assert report.subtitle == msg("Box – nomenclature")
    assert table(rows) == [
        ("group", "SH-2026-000017"),
        [12, "RAIL-4", "Rack rail kit", 4],
        [7, "RAIL-4", "Rack rail kit", 2],
        [7, "CAB-10", "Patch cable", 5],
        [30, "CAB-10", "Patch cable", 5],
        ("group", "SH-2026-000018"),
        [1, "RAIL-4", "Rack rail kit", 1],
        [1, "GONE-1", "GONE-1", 1],
    ]


def test_a_packing_list_box_by_characteristic_adds_each_articles_characteristics():
    report, rows, _ = packing_list("box_characteristic")
    assert [column.label for column in report.columns] == [
        "Box", "Article", "Name", "Characteristics", "Quantity"]
    assert report.subtitle == msg("Box – characteristic")
    assert table(rows)[:3] == [
        ("group", "SH-2026-000017"),
        [12, "RAIL-4", "Rack rail kit", "colour: black; length: 4 m", 4],
        [7, "RAIL-4", "Rack rail kit", "colour: black; length: 4 m", 2],
    ]
    assert table(rows)[3] == [7, "CAB-10", "Patch cable", "", 5]
    assert table(rows)[-1] == [1, "GONE-1", "GONE-1", "", 1]


def test_every_packing_list_layout_has_a_cell_under_each_column():
    for layout in reports.LAYOUTS:
        report, rows, _ = packing_list(layout)
        assert all(len(row.cells) == len(report.columns) for row in rows if row.style != "group")


def test_a_packing_list_of_shipments_without_boxes_prints_only_their_numbers():
    orders = Stub(packing={"shipments": [{**PACKED["shipments"][0], "boxes": []}],
                           "characteristics": {}})
    report = reports.packing_list(reports.Sources(None, orders, None), "acc-1",
                                  {"shipment_ids": ["s-1"], "layout": "box_nomenclature"}, TODAY)
    assert table(list(report.rows)) == [("group", "SH-2026-000017")]
    assert report.empty_note == "The shipments hold no boxes."


# -- settlements, read from billing's CSV -------------------------------------------------------------

# billing writes its statement as PostgreSQL formats it: text quoted, quotes doubled
QUOTED_REFERENCE = 'Wire from "Ada, Cloud AB", invoice 7'
PAGE_ONE = ('101,2026-08-01T09:00:00.000000Z,"top_up","' + QUOTED_REFERENCE.replace('"', '""')
            + '","",40.00,40.00\n'
            '102,2026-08-02T10:30:00.000000Z,"order_charge","order o-1","o-1",-25.00,15.00\n')
PAGE_TWO = '103,2026-08-20T12:00:00.000000Z,"refund","refund, order o-1","o-1",5.00,20.00\n'


def statement(rows: str, cursor: str | None) -> dict[str, Any]:
    return {"currency": "EUR", "columns": ["posting", "at", "kind", "reference", "order_id",
                                           "amount", "balance_after"],
            "opening_balance": eur("0.00"), "closing_balance": eur("20.00"), "rows": rows,
            "count": rows.count("\n"), "next_cursor": cursor,
            "last_at": rows.rstrip("\n").rsplit("\n", 1)[-1].split(",", 2)[1] if rows else None}


def settlements(pages: dict[str | None, dict[str, Any]], fmt: str = "pdf",
                documents: list[dict[str, Any]] | None = None) -> tuple[Report, Stub]:
    def export_statement(account: str, since: str, until: str, cursor: str | None, limit: int) -> dict:
        """Billing's page, holding only the movements of the period asked for (a CSV asks for
        its period in parts)."""
        page = pages[cursor]
        rows = "".join(line + "\n" for line in page["rows"].splitlines()
                       if since <= line.split(",", 2)[1][:10] <= until)
        return {**statement(rows, page["next_cursor"]), "opening_balance": page["opening_balance"],
                "closing_balance": page["closing_balance"]}

    billing = Stub(export_statement=export_statement)
    invoicing = Stub(issued_between={"items": documents or []})
    report = reports.settlements(reports.Sources(billing, None, invoicing), "acc-1",
                                 {"from": "2026-08-01", "to": "2026-08-31", "format": fmt}, TODAY)
    return report, billing


INVOICE = {"kind": "invoice", "number": "INV-2026-000042", "issue_date": "2026-08-03",
           "order_ids": ["o-1"], "credited_invoice_number": None, "total": eur("25.00")}


def test_settlements_read_references_with_quotes_and_commas_as_one_cell_each():
    report, billing = settlements({None: statement(PAGE_ONE, "c-2"), "c-2": statement(PAGE_TWO, None)},
                                  documents=[INVOICE])
    rows = list(report.rows)
    assert [row.cells for row in rows[:5]] == [
        ["2026-08-01", msg("Opening balance"), None, None, None, eur("0.00")],
        ["2026-08-01T09:00:00.000000Z", msg("Top-up"), QUOTED_REFERENCE, "", eur("40.00"), eur("40.00")],
        ["2026-08-02T10:30:00.000000Z", msg("Order charge"), "order o-1", "INV-2026-000042",
         eur("-25.00"), eur("15.00")],
        ["2026-08-20T12:00:00.000000Z", msg("Refund"), "refund, order o-1", "INV-2026-000042",
         eur("5.00"), eur("20.00")],
        ["2026-08-31", msg("Closing balance"), None, None, None, eur("20.00")],
    ]
    assert (rows[0].style, rows[4].style) == ("total", "total")
    assert (rows[5].style, rows[5].label) == ("group", msg("Invoices and credit notes issued in the period"))
    assert rows[6].cells == ["2026-08-03", msg("Invoice"), "INV-2026-000042", "", eur("25.00"), None]
    assert [call[1][3] for call in billing.calls] == [None, "c-2"]  # page after page
    assert report.done() == pytest.approx(19 / 31)


def test_a_settlements_csv_keeps_billings_quoting_so_a_reference_stays_one_cell():
    report, _ = settlements({None: statement(PAGE_ONE, "c-2"), "c-2": statement(PAGE_TWO, None)}, "csv")
    content = csv_of(report, lambda message: message).decode("utf-8-sig")
    assert "\r" not in content  # billing's rows as written: LF line ends, the heading's too
    rows = list(csv.reader(io.StringIO(content, newline="")))
    assert [row[3] for row in rows[1:]] == [QUOTED_REFERENCE, "order o-1", "refund, order o-1"]


def test_a_settlements_csv_row_has_one_cell_under_each_heading():
    report, _ = settlements({None: statement(PAGE_ONE, None)}, "csv")
    header, *rows = csv.reader(io.StringIO(csv_of(report, lambda m: m).decode("utf-8-sig")))
    assert all(len(row) == len(header) for row in rows), (header, rows)
    by_heading = dict(zip(header, rows[0], strict=True))
    assert by_heading["Reference"] == QUOTED_REFERENCE
    assert by_heading["Amount"] == "40.00" and by_heading["Balance"] == "40.00"


def test_a_settlements_csv_tells_its_progress_whatever_the_length_of_the_last_reference():
    # an operator's top-up reference may be 200 characters long
    long_reference = "Top-up for the Q3 framework agreement " + "x" * 162
    rows = (PAGE_ONE + '104,2026-08-16T08:00:00.000000Z,"top_up","' + long_reference
            + '","",1.00,16.00\n')
    report, _ = settlements({None: statement(rows, None)}, "csv")
    progress: list[float] = []

    def write(part: bytes) -> None:  # as the documents service writes a report: saying how far
        progress.append(report.done())

    write_csv(report, lambda message: message, write)
    # the CSV reads 1–15 and 16–31 August: all of the first, the second up to its first day
    assert progress[-1] == pytest.approx(14 / 31)
    assert all(0 <= fraction <= 1 for fraction in progress)
