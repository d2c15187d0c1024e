"""Helpers of the import engine tests: files written in memory, jobs created and run through
the services the way the CLI, the pages and the API do."""

from __future__ import annotations

import csv
import io
from typing import Any

from kehu.dataio.imports import services
from kehu.dataio.imports.models import ImportJob
from kehu.platform.context import Context, Source


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], sheet: str = "Sheet1") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(user: Any, content: bytes, record_type: str = "customer", name: str = "data.csv", **kw: Any) -> ImportJob:
    ctx = Context(user=user, source=Source.WEB)
    return services.import_create(ctx=ctx, record_type=record_type, upload=io.BytesIO(content), file_name=name, **kw)


def run(
    user: Any,
    content: bytes,
    record_type: str = "customer",
    *,
    name: str = "data.csv",
    dry_run: bool = False,
    configure: dict[str, Any] | None = None,
) -> ImportJob:
    """Upload, configure (optional) and run an import in this process."""
    job = upload(user, content, record_type, name)
    ctx = Context(user=user, source=Source.WEB)
    if configure:
        services.import_configure(ctx=ctx, job=job, **configure)
    job.dry_run = dry_run
    job.save(update_fields=["dry_run"])
    return services.import_run(job)


def rejected(job: ImportJob) -> dict[int, dict[str, list[str]]]:
    return {row.line: row.errors for row in job.rejected_rows.order_by("line")}
