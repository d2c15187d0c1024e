"""Files and steps shared by the import wizard and imports API tests."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

HEADERS = ["客户名称", "手机号码", "邮箱", "城市"]
GOOD_ROWS = [
    ["华东精密机械有限公司", "13800138000", "sales@huadong.example.com", "上海"],
    ["南方电子科技有限公司", "13900139000", "info@nanfang.example.com", "深圳"],
]
BAD_ROW = ["", "12345", "nobody@example.com", "北京"]  # no name, an invalid phone


def csv_bytes(
    rows: list[list[str]] | None = None, *, encoding: str = "utf-8", headers: list[str] | None = None
) -> bytes:
    lines = [headers or HEADERS, *([*GOOD_ROWS, BAD_ROW] if rows is None else rows)]
    return ("\r\n".join(",".join(cells) for cells in lines) + "\r\n").encode(encoding)


def upload_file(content: bytes | None = None, name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, csv_bytes() if content is None else content, content_type="text/csv")


def xlsx_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
