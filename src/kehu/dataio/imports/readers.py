"""Reading uploaded files row by row in constant memory: CSV/TSV/TXT in any encoding (UTF-8,
UTF-8 or UTF-16 with a byte-order mark, GB18030 as Excel writes it in China, else
charset-normalizer's guess) with the delimiter sniffed, and XLSX (openpyxl in read-only mode:
python-calamine loads a whole sheet into memory before it yields the first row).

Rows come with their line number as a spreadsheet shows it: the header is line 1, a quoted
cell spanning several lines is still one row. Blank rows are skipped (their number is not
reused)."""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SAMPLE_SIZE = 256 * 1024
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ""}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
DELIMITERS = (",", ";", "\t", "|")
csv.field_size_limit(10 * 1024 * 1024)


@dataclass(frozen=True)
class FileInfo:
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ","


def _decodes(sample: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=False)  # a character cut at the sample's end is fine
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text file from its first bytes."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(sample, "utf-8"):
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    guess = (best.encoding if best is not None else "").lower().replace("_", "").replace("-", "")
    if guess in {"gb2312", "gbk", "gb18030", "hz", "cp936"} or not guess:
        if _decodes(sample, "gb18030"):
            return "gb18030"  # a superset of GBK and GB2312, as Excel in China writes
        return "latin-1" if not guess else (best.encoding if best is not None else "latin-1")
    return best.encoding if best is not None else "gb18030"


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line (the one of , ; tab | it holds most outside quotes)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in ("\n", "\r"):
            break
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def inspect_file(path: Path, file_name: str = "") -> FileInfo:
    """What kind of file this is and how to read it; raises ValidationError for an empty file,
    a spreadsheet in the old .xls format, or any other binary."""
    size = path.stat().st_size
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_SIZE)
    if sample.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                if "xl/workbook.xml" in archive.namelist():
                    return FileInfo(kind="xlsx")
        except zipfile.BadZipFile:
            pass
        raise ValidationError(_("This file is a ZIP archive, not an Excel workbook (.xlsx)."), code="binary")
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            _("Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV and upload that."), code="xls"
        )
    encoding = detect_encoding(sample)
    if encoding != "utf-16" and b"\x00" in sample:
        raise ValidationError(_("This is not a CSV or Excel file (it holds binary data)."), code="binary")
    text = sample.decode(encoding, errors="ignore")
    delimiter = "\t" if file_name.lower().endswith(".tsv") else sniff_delimiter(text.lstrip("\ufeff"))
    return FileInfo(kind="csv", encoding=encoding, delimiter=delimiter)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return value  # dates, numbers and booleans of a spreadsheet keep their type


def _csv_rows(path: Path, info: FileInfo) -> Iterator[tuple[int, list[Any]]]:
    with path.open(encoding=info.encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=info.delimiter)
        for line, row in enumerate(reader, start=1):
            cells = [cell.strip() for cell in row]
            if line == 1 and cells:
                cells[0] = cells[0].lstrip("\ufeff")
            yield line, cells


def sheet_names(source: Any) -> list[str]:
    """The sheets of an XLSX workbook (a path or a binary file), in order; [] for any other
    file (a CSV has no sheets) or a workbook that does not open."""
    from openpyxl import load_workbook

    head = b""
    if isinstance(source, str | Path):
        with Path(source).open("rb") as handle:
            head = handle.read(4)
    elif hasattr(source, "read"):
        position = source.tell()
        head = source.read(4)
        source.seek(position)
    if head != b"PK\x03\x04":
        return []
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return []
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()
        if hasattr(source, "seek"):
            source.seek(0)


def _xlsx_rows(path: Path, sheet: str) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ValidationError(_("The Excel file cannot be read: %(error)s") % {"error": error}) from None
    try:
        if sheet:
            if sheet not in workbook.sheetnames:
                raise ValidationError(
                    _("The workbook has no sheet “%(sheet)s” (it has: %(names)s).")
                    % {"sheet": sheet, "names": ", ".join(workbook.sheetnames)}
                )
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
        for line, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield line, [_cell(value) for value in row]
    finally:
        workbook.close()


def iter_rows(path: Path, info: FileInfo, sheet: str = "") -> Iterator[tuple[int, list[Any]]]:
    """Every non-blank row with its line number, the header first."""
    rows = _xlsx_rows(path, sheet) if info.kind == "xlsx" else _csv_rows(path, info)
    for line, cells in rows:
        while cells and cells[-1] == "":
            cells.pop()
        if cells:
            yield line, cells


def read_headers(path: Path, info: FileInfo, sheet: str = "") -> list[str]:
    """The header row; raises ValidationError when there is none (no rows, or a first row
    without any text)."""
    for _line, cells in iter_rows(path, info, sheet):
        headers = [str(cell).strip() if cell is not None else "" for cell in cells]
        if not any(headers) or all(not isinstance(cell, str) for cell in cells):
            break
        return headers
    raise ValidationError(_("The file has no header row: put the column names in the first row."), code="no_header")


def data_rows(path: Path, info: FileInfo, sheet: str = "") -> Iterator[tuple[int, list[Any]]]:
    """The rows after the header."""
    rows = iter_rows(path, info, sheet)
    next(rows, None)
    yield from rows


def count_rows(path: Path, info: FileInfo, sheet: str = "") -> int:
    return sum(1 for _row in data_rows(path, info, sheet))


def preview(path: Path, info: FileInfo, sheet: str = "", limit: int = 5) -> list[list[str]]:
    found: list[list[str]] = []
    for _line, cells in data_rows(path, info, sheet):
        found.append([display_cell(cell) for cell in cells])
        if len(found) >= limit:
            break
    return found


def display_cell(cell: Any) -> str:
    if isinstance(cell, str):
        return cell
    if cell is None:
        return ""
    if hasattr(cell, "isoformat"):
        text = cell.isoformat()
        return text.removesuffix("T00:00:00")
    return str(cell)
