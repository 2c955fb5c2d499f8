"""Reports and lists a customer asks for in the cabinet's Documents section (seed 003): what
each kind takes, what it reads from the other services, and the one table it prints.

Every kind is built as a ``Report``: a title, summary lines and columns, and its rows as an
iterator, so the same report is written as CSV (streamed: a year of a million movements never
sits in memory) or laid out as PDF pages (``layout``).  Rows are typed cells (money as
``{amount, currency}``, dates ISO) that the PDF formats in the reader's language and the CSV
writes as machines read them.

Periods reach back at most a year (settlements) or half a year (sales, realizations) from
today, the same day of the month: further answers ``period_too_long`` with the range allowed.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from services.common.errors import InvalidRequest, PeriodTooLong


def N_(message: str) -> str:
    """Marks a message for the catalogues; the template translates it where it is printed."""
    return message


def msg(message: str) -> dict[str, str]:
    """A cell or label that is one of our messages (translated where it is printed), not the
    customer's or the catalogue's text (printed as it is)."""
    return {"message": message}


RECEIVABLES = "receivables"
SETTLEMENTS = "settlements"
SALES = "sales"
REALIZATIONS = "realizations"
PACKING_LIST = "packing_list"
INVENTORY = "inventory_certificates"
KINDS = (RECEIVABLES, SETTLEMENTS, SALES, REALIZATIONS, PACKING_LIST, INVENTORY)
LAYOUTS = ("by_article", "box_nomenclature", "box_characteristic")
FORMATS = ("pdf", "csv", "xlsx")
# how many months back a period may start, by kind (the seed: a year; half a year)
LOOKBACK_MONTHS = {SETTLEMENTS: 12, SALES: 6, REALIZATIONS: 6}

TITLES = {RECEIVABLES: N_("Receivables"), SETTLEMENTS: N_("Mutual settlements"),
          SALES: N_("Sales"), REALIZATIONS: N_("Realizations"), PACKING_LIST: N_("Packing list"),
          INVENTORY: N_("Inventory and certificates")}
MOVEMENTS = {"top_up": N_("Top-up"), "order_charge": N_("Order charge"), "refund": N_("Refund"),
             "wire_payment": N_("Wire payment"), "card_payment": N_("Card payment"),
             "payment_invoice": N_("Payment invoice"), "payment_invoice_void": N_("Payment invoice void"),
             "voucher_redeemed": N_("Voucher"), "invoice": N_("Invoice"),
             "credit_note": N_("Credit note")}
BUCKETS = {"current": N_("Current"), "1_30": N_("1–30 days"), "31_60": N_("31–60 days"),
           "61_90": N_("61–90 days"), "over_90": N_("Over 90 days")}


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day where it has fewer days)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_request(kind: str, fmt: str, parameters: dict[str, Any], today: date) -> dict[str, Any]:
    """The parameters a report of ``kind`` takes, checked: a clear refusal for anything else."""
    if kind not in KINDS:
        raise InvalidRequest(f"kind is one of {', '.join(KINDS)}", {"field": "kind"})
    if fmt not in FORMATS:
        raise InvalidRequest("format is pdf, csv or xlsx", {"field": "format"})
    checked: dict[str, Any] = {}
    if kind in LOOKBACK_MONTHS:
        earliest = months_before(today, LOOKBACK_MONTHS[kind])
        since, until = (_day(parameters.get(name), name) for name in ("from", "to"))
        if since is None or until is None:
            raise InvalidRequest("this report takes a period: from and to",
                                 {"field": "from" if since is None else "to"})
        if since > until:
            raise InvalidRequest("from is after to", {"field": "from"})
        if since < earliest or until > today:
            raise PeriodTooLong(f"this report covers {earliest.isoformat()} to {today.isoformat()} at most",
                                {"max_from": earliest.isoformat(), "to": today.isoformat()})
        checked = {"from": since.isoformat(), "to": until.isoformat()}
    elif kind == PACKING_LIST:
        ids = parameters.get("shipment_ids")
        if not isinstance(ids, list) or not ids or len(ids) > 100 or not all(
                isinstance(i, str) and 0 < len(i) <= 64 for i in ids):
            raise InvalidRequest("shipment_ids: 1 to 100 shipments", {"field": "shipment_ids"})
        layout = parameters.get("layout") or "by_article"
        if layout not in LAYOUTS:
            raise InvalidRequest(f"layout is one of {', '.join(LAYOUTS)}", {"field": "layout"})
        checked = {"shipment_ids": list(dict.fromkeys(ids)), "layout": layout}
    elif kind == INVENTORY:
        order_id = parameters.get("order_id")
        if not isinstance(order_id, str) or not 0 < len(order_id) <= 64:
            raise InvalidRequest("inventory and certificates are for an order: order_id",
                                 {"field": "order_id"})
        checked = {"order_id": order_id}
    return checked


def _day(value: Any, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest("a date is YYYY-MM-DD", {"field": name}) from None


# -- the shape every report takes -----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: str  # a message id
    kind: str = "text"  # text | money | date | number
    width: int = 1  # its share of the page's width


@dataclass
class Row:
    cells: list[Any] = field(default_factory=list)
    style: str | None = None  # group (a heading row: ``label`` across the columns) | total
    label: Any = None  # a group row's text, or ``msg(...)``


@dataclass
class Report:
    title: str
    columns: list[Column]
    rows: Iterator[Row]
    summary: list[tuple[str, Any, str]] = field(default_factory=list)  # (label, value, kind)
    subtitle: Any = None  # the period or the date (or a ``msg``), as printed under the title
    empty_note: str = N_("Nothing to report for this period.")
    period: tuple[str | None, str | None] = (None, None)
    # the fraction of the rows produced so far, as the report's source can tell (0..1)
    done: Callable[[], float] = lambda: 0.0
    # CSV written by the source itself, in consecutive parts (a settlements report's periods,
    # read at once), each chunk after chunk, and the headings of its columns (billing's own: a
    # movement's posting and time, its kind as billing names it, the amounts in major units)
    csv_parts: list[Iterator[str]] | None = None
    csv_columns: list[str] = field(default_factory=list)


def csv_value(value: Any, kind: str, translate: Callable[[str], str]) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "message" in value:
        return translate(value["message"])
    if kind == "money":
        return str(value["amount"])
    if kind == "date":
        return str(value)[:10]
    return str(value)


def csv_heading(report: Report, translate: Callable[[str], str]) -> bytes:
    """The CSV's first line: a byte-order mark (so spreadsheets read UTF-8 as such) and the
    columns' headings in the reader's language."""
    buffer = io.StringIO()
    if report.csv_parts is not None:
        csv.writer(buffer, lineterminator="\n").writerow([translate(h) for h in report.csv_columns])
    else:
        csv.writer(buffer, lineterminator="\r\n").writerow([translate(c.label) for c in report.columns])
    return ("\ufeff" + buffer.getvalue()).encode()


def write_csv(report: Report, translate: Callable[[str], str], write: Callable[[bytes], None],
              breathe: Callable[[], Any] = lambda: None) -> None:
    """The report as CSV: the heading, then the rows (a heading row writes its label in the
    first column), or the source's own parts one after another."""
    write(csv_heading(report, translate))
    if report.csv_parts is not None:
        for part in report.csv_parts:
            for chunk in part:
                write(chunk.encode())
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for count, row in enumerate(report.rows, 1):
        if row.style == "group":
            writer.writerow([csv_value(row.label, "text", translate)] + [""] * (len(report.columns) - 1))
        else:
            writer.writerow([csv_value(value, column.kind, translate)
                             for value, column in zip(row.cells, report.columns, strict=True)])
        if count % 1000 == 0:
            write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
            breathe()
    write(buffer.getvalue().encode())


XLSX_MAX_ROWS = 1_000_000  # a worksheet holds 1,048,576


def write_xlsx(report: Report, translate: Callable[[str], str], target: str,
               breathe: Callable[[], Any] = lambda: None) -> None:
    """The report as a workbook (openpyxl's write-only mode: rows go to disk as they come):
    money as exact decimal numbers with two decimals, dates as dates, a heading row's label in
    bold.  ``breathe`` is called every 500 rows (the service lets other work run); more rows
    than a worksheet holds is ``TooManyRows``."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(translate(report.title)[:31])
    bold = Font(bold=True)

    def cell(value: Any, kind: str) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, dict) and "message" in value:
            return translate(value["message"])
        if kind == "money":
            made = WriteOnlyCell(sheet, Decimal(value["amount"]))
            made.number_format = "#,##0.00"
            return made
        if kind == "date":
            return date.fromisoformat(str(value)[:10])
        return value

    sheet.append([WriteOnlyCell(sheet, translate(c.label)) for c in report.columns])
    for count, row in enumerate(report.rows, 1):
        if count % 500 == 0:
            breathe()
        if count > XLSX_MAX_ROWS:
            raise TooManyRows(f"the report has more than {XLSX_MAX_ROWS} rows, more than a "
                              "worksheet holds: ask for it as CSV")
        if row.style == "group":
            heading = WriteOnlyCell(sheet, cell(row.label, "text"))
            heading.font = bold
            sheet.append([heading])
        else:
            sheet.append([cell(value, column.kind)
                          for value, column in zip(row.cells, report.columns, strict=True)])
    book.save(target)


class TooManyRows(Exception):
    """A report too large for the format asked for (a CSV has no such limit)."""


def money(amount: Any, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


def _sum(values: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(v["amount"]) for v in values), Decimal(0))


# -- the kinds ----------------------------------------------------------------------------------------


class Sources:
    """The other services a report reads (nameko proxies with a timeout each), and how to ask
    one of them something while the report goes on (``ahead(call) -> wait()``: the service
    gives a green thread; by default the call is made at once)."""

    def __init__(self, billing: Any, orders: Any, invoicing: Any,
                 ahead: Callable[[Callable[[], Any]], Callable[[], Any]] | None = None) -> None:
        self.billing, self.orders, self.invoicing = billing, orders, invoicing
        self.ahead = ahead or _at_once


def _at_once(call: Callable[[], Any]) -> Callable[[], Any]:
    answer = call()
    return lambda: answer


def build(kind: str, sources: Sources, account_id: str, parameters: dict[str, Any],
          today: date) -> Report:
    builders: dict[str, Callable[..., Report]] = {
        RECEIVABLES: receivables, SETTLEMENTS: settlements, SALES: sales,
        REALIZATIONS: realizations, PACKING_LIST: packing_list, INVENTORY: inventory}
    return builders[kind](sources, account_id, parameters, today)


def receivables(sources: Sources, account_id: str, parameters: dict[str, Any], today: date) -> Report:
    """What the customer owes and is owed today, and each open payment invoice by its age."""
    found = sources.billing.receivables(account_id, today.isoformat())["items"][0]
    currency = found["currency"]
    rows = [Row([invoice["number"], invoice["issue_date"], invoice["due_date"],
                 invoice["days_overdue"], msg(BUCKETS[invoice["bucket"]]), invoice["total"],
                 invoice["remaining"]]) for invoice in found["invoices"]]
    if Decimal(found["cash_balance"]["amount"]) < 0:
        negative = money(-Decimal(found["cash_balance"]["amount"]), currency)
        rows.append(Row([msg(N_("Negative cash balance")), None, today.isoformat(), 0,
                         msg(BUCKETS["current"]), negative, negative]))
    summary = [(N_("Cash balance"), found["cash_balance"], "money"),
               (N_("Voucher balance"), found["voucher_balance"], "money"),
               (N_("You owe"), found["owes"], "money"),
               (N_("You are owed"), found["owed"], "money")]
    summary += [(BUCKETS[bucket], amount, "money") for bucket, amount in found["buckets"].items()]
    return Report(
        title=TITLES[RECEIVABLES], subtitle=today.isoformat(), summary=summary,
        columns=[Column(N_("Invoice"), width=2), Column(N_("Issue date"), "date"),
                 Column(N_("Due date"), "date"), Column(N_("Days overdue"), "number"),
                 Column(N_("Age"), width=2), Column(N_("Total"), "money"),
                 Column(N_("Remaining"), "money")],
        rows=iter(rows), empty_note=N_("Nothing is owed."),
        period=(None, today.isoformat()))


STATEMENT_PAGE = 50_000


CSV_SLICES = 2  # a settlements CSV's period is read in this many parts at once (two cores)

SETTLEMENTS_COLUMNS = [Column(N_("Date"), "date"), Column(N_("Movement"), width=2),
                       Column(N_("Reference"), width=3), Column(N_("Document"), width=2),
                       Column(N_("Amount"), "money"), Column(N_("Balance"), "money")]
STATEMENT_HEADINGS = [N_("Posting"), N_("Time"), N_("Movement"), N_("Reference"), N_("Order"),
                      N_("Amount"), N_("Balance")]


def settlements(sources: Sources, account_id: str, parameters: dict[str, Any], today: date) -> Report:
    """The opening balance, every movement of the cash wallet, the closing balance — and the
    invoices and credit notes issued in the period, each movement naming the document that
    covers its order.  As CSV: billing's movements as billing writes them, the period read in
    ``CSV_SLICES`` parts at once."""
    since, until = parameters["from"], parameters["to"]
    if parameters.get("format") == "csv":
        return _settlements_csv(sources, account_id, since, until)
    first = sources.billing.export_statement(account_id, since, until, None, STATEMENT_PAGE)
    currency = first["currency"]
    documents = sources.invoicing.issued_between(account_id, since, until)["items"]
    by_order: dict[str, list[str]] = {}
    for document in documents:
        for order_id in document["order_ids"]:
            by_order.setdefault(order_id, []).append(document["number"])
    state = {"at": since}
    span = max((date.fromisoformat(until) - date.fromisoformat(since)).days + 1, 1)

    def movements() -> Iterator[Row]:
        yield Row([since, msg(N_("Opening balance")), None, None, None, first["opening_balance"]], "total")
        for page in _statement_pages(sources, account_id, since, until, first):
            for _posting, at, kind, reference, order_id, amount, balance in csv.reader(
                    io.StringIO(page["rows"], newline="")):
                state["at"] = at
                yield Row([at, msg(MOVEMENTS[kind]) if kind in MOVEMENTS else kind, reference,
                           ", ".join(by_order.get(order_id, [])), money(amount, currency),
                           money(balance, currency) if balance else None])
        yield Row([until, msg(N_("Closing balance")), None, None, None, first["closing_balance"]], "total")
        if documents:
            yield Row(style="group", label=msg(N_("Invoices and credit notes issued in the period")))
            for document in documents:
                yield Row([document["issue_date"], msg(MOVEMENTS[document["kind"]]), document["number"],
                           document["credited_invoice_number"] or "", document["total"], None])

    def done() -> float:
        return min((date.fromisoformat(state["at"][:10]) - date.fromisoformat(since)).days / span, 1.0)

    summary = [(N_("Opening balance"), first["opening_balance"], "money"),
               (N_("Closing balance"), first["closing_balance"], "money")]
    return Report(title=TITLES[SETTLEMENTS], subtitle=f"{since} – {until}", summary=summary,
                  columns=SETTLEMENTS_COLUMNS, rows=movements(), period=(since, until), done=done,
                  csv_columns=STATEMENT_HEADINGS)


def _statement_pages(sources: Sources, account_id: str, since: str, until: str,
                     first: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Billing's statement pages over [since, until] in order, the next asked for as soon as
    its cursor is known: billing and PostgreSQL make page n + 1 while page n is written."""
    page = first or sources.billing.export_statement(account_id, since, until, None, STATEMENT_PAGE)
    while True:
        cursor = page["next_cursor"]
        following = sources.ahead(partial(sources.billing.export_statement, account_id, since,
                                          until, cursor, STATEMENT_PAGE)) if cursor else None
        yield page
        if following is None:
            return
        page = following()


def _settlements_csv(sources: Sources, account_id: str, since: str, until: str) -> Report:
    start, end = date.fromisoformat(since), date.fromisoformat(until)
    days = (end - start).days + 1
    bounds = sorted({start + timedelta(days=days * k // CSV_SLICES) for k in range(CSV_SLICES)})
    ranges = [(first, (bounds[n + 1] if n + 1 < len(bounds) else end + timedelta(days=1))
               - timedelta(days=1)) for n, first in enumerate(bounds)]
    reached = [first.isoformat() for first, _ in ranges]

    def part(n: int, first: date, last: date) -> Iterator[str]:
        for page in _statement_pages(sources, account_id, first.isoformat(), last.isoformat()):
            reached[n] = page["last_at"] or last.isoformat()
            yield page["rows"]  # as billing wrote it: LF line ends, a line break inside a cell kept
        reached[n] = last.isoformat()

    def done() -> float:
        covered = sum((date.fromisoformat(at[:10]) - first).days for at, (first, _) in zip(reached, ranges,
                                                                                          strict=True))
        return min(covered / days, 1.0)

    return Report(title=TITLES[SETTLEMENTS], subtitle=f"{since} – {until}", columns=SETTLEMENTS_COLUMNS,
                  rows=iter(()), period=(since, until), done=done, csv_columns=STATEMENT_HEADINGS,
                  csv_parts=[part(n, first, last) for n, (first, last) in enumerate(ranges)])


def sales(sources: Sources, account_id: str, parameters: dict[str, Any], today: date) -> Report:
    """What was bought in the period, by month and product, with each month's totals."""
    since, until = parameters["from"], parameters["to"]
    found = sources.orders.sales(account_id, since, until)["rows"]

    def rows() -> Iterator[Row]:
        month: str | None = None
        month_rows: list[dict[str, Any]] = []
        for row in found:
            if row["month"] != month:
                if month is not None:
                    yield from _totals(month_rows, N_("Month total"))
                month, month_rows = row["month"], []
                yield Row(style="group", label=month)
            month_rows.append(row)
            yield Row([row["sku"], row["name"], row["quantity"], row["net"], row["vat"],
                       money(Decimal(row["net"]["amount"]) + Decimal(row["vat"]["amount"]),
                             row["currency"])])
        if month is not None:
            yield from _totals(month_rows, N_("Month total"))
            yield from _totals(found, N_("Total for the period"))

    return Report(
        title=TITLES[SALES], subtitle=f"{since} – {until}", period=(since, until),
        columns=[Column(N_("Article"), width=2), Column(N_("Name"), width=4),
                 Column(N_("Quantity"), "number"), Column(N_("Net"), "money"),
                 Column(N_("VAT"), "money"), Column(N_("Gross"), "money")],
        rows=rows())


def _totals(rows: list[dict[str, Any]], label: str) -> Iterator[Row]:
    """One total row per currency of ``rows``."""
    for currency in sorted({row["currency"] for row in rows}):
        mine = [row for row in rows if row["currency"] == currency]
        net, vat = _sum([r["net"] for r in mine]), _sum([r["vat"] for r in mine])
        yield Row([msg(label), None, sum(r["quantity"] for r in mine), money(net, currency),
                   money(vat, currency), money(net + vat, currency)], "total")


def realizations(sources: Sources, account_id: str, parameters: dict[str, Any], today: date) -> Report:
    """Every shipment shipped in the period with its lines and amounts."""
    since, until = parameters["from"], parameters["to"]

    def shipments() -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            page = sources.orders.realizations(account_id, since, until, 200, cursor)
            yield from page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def rows() -> Iterator[Row]:
        for shipment in shipments():
            label = f"{shipment['number']} · {shipment['shipped_at'][:10]}"
            if shipment["po_number"]:
                label += f" · PO {shipment['po_number']}"
            yield Row(style="group", label=label)
            for line in shipment["lines"]:
                yield Row([line["sku"], line["name"], line["quantity"], line["unit_price"],
                           line["net"], line["vat"], line["gross"]])
            yield Row([shipment["number"], None, sum(line["quantity"] for line in shipment["lines"]),
                       None, shipment["net"], shipment["vat"], shipment["total"]], "total")

    return Report(
        title=TITLES[REALIZATIONS], subtitle=f"{since} – {until}", period=(since, until),
        columns=[Column(N_("Article"), width=2), Column(N_("Name"), width=4),
                 Column(N_("Quantity"), "number"), Column(N_("Unit price"), "money"),
                 Column(N_("Net"), "money"), Column(N_("VAT"), "money"), Column(N_("Gross"), "money")],
        rows=rows())


def packing_list(sources: Sources, account_id: str, parameters: dict[str, Any], today: date) -> Report:
    """Packing lists of chosen shipments in one of three layouts: by article (each article
    with its quantity and the boxes it is in), box–nomenclature (each box with its articles)
    and box–characteristic (each box with its articles' characteristics).  Every layout
    prints the shipment numbers and box numbers as stored."""
    found = sources.orders.packing(account_id, parameters["shipment_ids"])
    layout = parameters["layout"]
    characteristics = found["characteristics"]

    def described(sku: str) -> str:
        return "; ".join(f"{name}: {value}" for name, value in characteristics.get(sku, {}).items())

    def rows() -> Iterator[Row]:
        for shipment in found["shipments"]:
            names = {line["sku"]: line["name"] for line in shipment["lines"]}
            yield Row(style="group", label=shipment["number"])
            if layout == "by_article":
                boxes: dict[str, list[int]] = {}
                quantities: dict[str, int] = {}
                for box in shipment["boxes"]:
                    for line in box["lines"]:
                        boxes.setdefault(line["sku"], []).append(box["number"])
                        quantities[line["sku"]] = quantities.get(line["sku"], 0) + line["quantity"]
                for sku in sorted(quantities):
                    yield Row([sku, names.get(sku, sku), quantities[sku],
                               ", ".join(str(n) for n in sorted(set(boxes[sku])))])
                continue
            for box in shipment["boxes"]:
                for line in box["lines"]:
                    cells = [box["number"], line["sku"], names.get(line["sku"], line["sku"])]
                    if layout == "box_characteristic":
                        cells.append(described(line["sku"]))
                    yield Row(cells + [line["quantity"]])

    if layout == "by_article":
        columns = [Column(N_("Article"), width=2), Column(N_("Name"), width=4),
                   Column(N_("Quantity"), "number"), Column(N_("Boxes"), width=2)]
    else:
        columns = [Column(N_("Box"), "number"), Column(N_("Article"), width=2),
                   Column(N_("Name"), width=3 if layout == "box_characteristic" else 5)]
        if layout == "box_characteristic":
            columns.append(Column(N_("Characteristics"), width=4))
        columns.append(Column(N_("Quantity"), "number"))
    layouts = {"by_article": N_("By article"), "box_nomenclature": N_("Box – nomenclature"),
               "box_characteristic": N_("Box – characteristic")}
    return Report(title=TITLES[PACKING_LIST], subtitle=msg(layouts[layout]), columns=columns,
                  rows=rows(), empty_note=N_("The shipments hold no boxes."))


def inventory(sources: Sources, account_id: str, parameters: dict[str, Any], today: date) -> Report:
    """A shipped order's goods, each with its characteristics and the certificates it carries."""
    found = sources.orders.inventory(account_id, parameters["order_id"])

    def rows() -> Iterator[Row]:
        for good in found["goods"]:
            certificates = good["certificates"] or [{}]
            for n, certificate in enumerate(certificates):
                first = n == 0
                yield Row([good["sku"] if first else "", good["name"] if first else "",
                           good["quantity"] if first else None, certificate.get("name", "—"),
                           certificate.get("number", ""), certificate.get("issued_by") or "",
                           certificate.get("valid_until")])
            if good["characteristics"]:
                yield Row(style="group", label="; ".join(
                    f"{name}: {value}" for name, value in good["characteristics"].items()))

    shipment = found["shipment"]
    subtitle = f"{shipment['number']} · {shipment['shipped_at'][:10]}"
    if found["po_number"]:
        subtitle += f" · PO {found['po_number']}"
    return Report(
        title=TITLES[INVENTORY], subtitle=subtitle,
        columns=[Column(N_("Article"), width=2), Column(N_("Name"), width=3),
                 Column(N_("Quantity"), "number"), Column(N_("Certificate"), width=3),
                 Column(N_("Number"), width=2), Column(N_("Issued by"), width=2),
                 Column(N_("Valid until"), "date")],
        rows=rows(), empty_note=N_("The order holds no goods."))


# -- laid out as PDF pages ------------------------------------------------------------------------

# Rows have one fixed height (cells never wrap: long text is cut with an ellipsis), so a page
# holds a known number of them and the report's pages are decided here, not by the layout
# engine: every page is rendered the same way whatever the report's size (time per page stays
# flat), a large report is rendered in parts that are joined afterwards, and "page 7 / 512" is
# known before the first part is drawn.
FIRST_PAGE_ROWS = 30
PAGE_ROWS = 44
MAX_PDF_ROWS = 25_000  # about 570 pages; more is a CSV
CELL_CHARACTERS = 60


def pages_of(rows: list[Row], summary_lines: int) -> list[list[Row]]:
    """The rows cut into pages: fewer on the first, under the title and the summary."""
    first = max(FIRST_PAGE_ROWS - max(summary_lines - 4, 0) // 2, 10)
    pages = [rows[:first]]
    pages += [rows[start:start + PAGE_ROWS] for start in range(first, len(rows), PAGE_ROWS)]
    return pages


def page_context(report: Report, page_rows: list[list[Row]], first_number: int, total_pages: int,
                 account: dict[str, Any], seller: dict[str, Any]) -> dict[str, Any]:
    """What ``report.html`` draws for pages ``first_number`` … of ``total_pages``."""
    return {
        "report": {"title": report.title, "subtitle": report.subtitle, "empty_note": report.empty_note,
                   "summary": [{"label": label, "value": value, "kind": kind}
                               for label, value, kind in report.summary],
                   "columns": [{"label": c.label, "kind": c.kind, "width": c.width}
                               for c in report.columns]},
        "pages": [{"number": first_number + n, "first": first_number + n == 1,
                   "rows": [{"cells": [_cut(cell) for cell in row.cells], "style": row.style,
                             "label": _cut(row.label)} for row in rows]}
                  for n, rows in enumerate(page_rows)],
        "total_pages": total_pages, "account": account, "seller": seller,
        "recipient_lines": [],
    }


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > CELL_CHARACTERS:
        return value[:CELL_CHARACTERS - 1] + "…"
    return value
