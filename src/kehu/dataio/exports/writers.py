"""File formats of an export: CSV (UTF-8 with a BOM, so that Excel opens Chinese correctly) and
XLSX (openpyxl in write-only mode: constant memory whatever the number of rows).

Formula injection (OWASP "CSV injection"): a spreadsheet runs a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return as a formula.

- CSV has no cell types, so every *text* cell that starts so is prefixed with an apostrophe
  (``platform.exports.csv_safe``): ``=1+1`` is written ``'=1+1`` and ``-5`` typed into a text
  field ``'-5``; spreadsheets show such a cell as text. Values of numeric fields (amounts,
  quantities) are numbers, not text, and cannot be formulas: ``-5`` stays ``-5`` so that sums
  still work.
- XLSX cells have a type: text is always written as a string cell (openpyxl would otherwise
  store a value starting with ``=`` as a formula), which no spreadsheet evaluates, so the text is
  kept as it is, without an apostrophe; such cells also get Excel's "quote prefix" style, so
  that editing the cell and pressing Enter does not turn it into a formula either. Dates are
  dates and numbers are numbers.
"""

from __future__ import annotations

import csv
import datetime
import decimal
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.utils import dateformat, formats
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from kehu.platform.exports import FORMULA_PREFIXES, csv_safe

from .selectors import Cell

BOM = "\ufeff"
SHEET_TITLE_MAX = 31  # Excel's limit


class _Echo:
    """A file-like object whose ``write`` returns the line: csv.writer formats, we stream."""

    def write(self, value: str) -> str:
        return value


def csv_text(value: Cell, formats_: tuple[str, str] | None = None) -> str:
    """A CSV cell: numbers as they are, dates in the local short format, text escaped.
    ``formats_`` is (date format, date-time format), looked up once per file by the caller."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | decimal.Decimal | float):
        return str(value)
    if isinstance(value, datetime.date):
        date_format, datetime_format = formats_ or _date_formats()
        if isinstance(value, datetime.datetime):
            return dateformat.format(value, datetime_format)
        return dateformat.format(value, date_format)
    return csv_safe(str(value))


def _date_formats() -> tuple[str, str]:
    return formats.get_format("SHORT_DATE_FORMAT"), formats.get_format("SHORT_DATETIME_FORMAT")


def csv_chunks(header: list[str], rows: Iterable[list[Cell]], lines_per_chunk: int = 200) -> Iterator[str]:
    """The CSV as text chunks (the first starts with the BOM), for a streaming response or a file."""
    writer = csv.writer(_Echo())
    date_formats = _date_formats()
    yield BOM + writer.writerow([csv_safe(label) for label in header])
    lines: list[str] = []
    for row in rows:
        lines.append(writer.writerow([csv_text(value, date_formats) for value in row]))
        if len(lines) >= lines_per_chunk:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def write_csv(header: list[str], rows: Iterable[list[Cell]], target: IO[str]) -> int:
    """Write the CSV to a text file opened with ``newline=""``; returns the number of rows."""
    count = 0

    def counted() -> Iterator[list[Cell]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for chunk in csv_chunks(header, counted()):
        target.write(chunk)
    return count


def _xlsx_cell(sheet: Any, value: Cell) -> WriteOnlyCell:
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XLSX cannot hold
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # never a formula, whatever the text starts with
        if text.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True  # stays text when edited in Excel
        return cell
    return WriteOnlyCell(sheet, value=value)  # numbers; dates get a date format from openpyxl


def write_xlsx(header: list[str], rows: Iterable[list[Cell]], target: str | IO[bytes], title: str = "") -> int:
    """Write the XLSX (one sheet, a bold header row frozen) to a path or a binary file; returns
    the number of rows."""
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(ILLEGAL_CHARACTERS_RE.sub("", title) or "Export")[:SHEET_TITLE_MAX])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for label in header:
        cell = _xlsx_cell(sheet, label)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
    workbook.save(target)
    return count
