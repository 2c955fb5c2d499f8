"""Order forms customers upload to fill their cart: a CSV (comma or semicolon separated, UTF-8)
or an XLSX workbook (its first sheet, read with openpyxl), with a header row naming the columns
``sku`` and ``quantity``; other columns are ignored.  A file that is neither, or has no such
header, is unreadable as a whole; each data row is judged on its own by the caller."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from dataclasses import dataclass
from typing import Any

MAX_ROWS = 1000
SKU_HEADERS = {"sku", "article", "artikel", "артикул"}
QUANTITY_HEADERS = {"quantity", "qty", "antal", "количество"}


class Unreadable(ValueError):
    """Not an order form: the reason says why."""


@dataclass(frozen=True)
class Row:
    number: int  # as the customer's spreadsheet numbers it (the header is row 1)
    sku: str
    quantity: Any  # as the cell held it: text, a number, or nothing


def rows(content: bytes) -> list[Row]:
    if content.startswith(b"PK\x03\x04"):
        table = _xlsx(content)
    else:
        table = _csv(content)
    return _judged(table)


def _csv(content: bytes) -> list[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("a CSV order form is UTF-8 text") from None
    if "\x00" in text:
        raise Unreadable("this is not a CSV or XLSX file")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return list(itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), MAX_ROWS + 2))


def _xlsx(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise Unreadable(f"the workbook cannot be read ({type(error).__name__})") from None
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in itertools.islice(sheet.iter_rows(values_only=True, max_col=50),
                                                      MAX_ROWS + 2)]
    finally:
        book.close()


def _judged(table: list[list[Any]]) -> list[Row]:
    if not table:
        raise Unreadable("the order form is empty")
    header = [str(cell or "").strip().lower() for cell in table[0]]
    sku_at = next((i for i, name in enumerate(header) if name in SKU_HEADERS), None)
    quantity_at = next((i for i, name in enumerate(header) if name in QUANTITY_HEADERS), None)
    if sku_at is None or quantity_at is None:
        raise Unreadable("the first row must name the columns sku and quantity")
    if len(table) > MAX_ROWS + 1:
        raise Unreadable(f"an order form has at most {MAX_ROWS} rows")
    found = []
    for number, cells in enumerate(table[1:], start=2):
        sku = str(cells[sku_at]).strip() if sku_at < len(cells) and cells[sku_at] is not None else ""
        quantity = cells[quantity_at] if quantity_at < len(cells) else None
        if not sku and quantity in (None, ""):
            continue  # an empty row
        found.append(Row(number=number, sku=sku, quantity=quantity))
    return found


def quantity_of(cell: Any) -> int | None:
    """A positive whole quantity from a cell (``"3"``, ``3``, ``3.0``), else None."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return cell if cell > 0 else None
    if isinstance(cell, float):
        return int(cell) if cell.is_integer() and cell > 0 else None
    text = str(cell or "").strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None
