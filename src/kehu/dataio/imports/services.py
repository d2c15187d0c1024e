"""The import's services: upload a file (stored under ``<data dir>/imports/``), map its columns,
run it (now or in the background), cancel it, download the rejected rows. The row-by-row work
is in ``engine.py``."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.datadir import data_dir
from kehu.dataio.imports import mapping as import_mapping
from kehu.dataio.imports import readers
from kehu.dataio.imports.models import ImportJob, ImportRejectedRow, ImportStatus, MatchOn, OnDuplicate, SavedMapping
from kehu.platform import crypto
from kehu.platform.access import require
from kehu.platform.context import Context
from kehu.platform.records import RecordType, registry

ROW_PURPOSE = "import-row"
ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING)


def max_upload_bytes() -> int:
    """``KEHU_IMPORT_MAX_MB`` (a setting or the environment; 200 by default) in bytes."""
    value = getattr(settings, "KEHU_IMPORT_MAX_MB", None) or os.environ.get("KEHU_IMPORT_MAX_MB") or 200
    return int(float(value) * 1024 * 1024)


def record_type_for(name: str) -> RecordType:
    """A record type by key or plural (``customer`` / ``customers``); ValidationError if none."""
    rt = registry.get(name) or registry.by_plural(name)
    if rt is None:
        raise ValidationError(
            {
                "record_type": _("Unknown record type “%(name)s” (known: %(known)s).")
                % {"name": name, "known": ", ".join(sorted(t.key for t in registry))}
            }
        )
    return rt


def job_path(job: ImportJob) -> Path:
    return data_dir() / job.file


def job_file_info(job: ImportJob) -> readers.FileInfo:
    stored = job.options.get("format") or {}
    return readers.FileInfo(
        kind=stored.get("kind", "csv"), encoding=job.encoding or "utf-8", delimiter=stored.get("delimiter", ",")
    )


def _require_own(ctx: Context, job: ImportJob) -> None:
    if job.created_by_id != ctx.user.pk and not getattr(ctx.user, "is_kehu_admin", False):
        raise PermissionDenied(_("This import belongs to another user."))


def _default_match_on(rt: RecordType, mapping: dict[str, str]) -> list[str]:
    mapped = set(mapping.values())
    found = [key for key in ("number", "email", "phone") if key in mapped]
    if rt.key == "contact" and "mobile" in mapped and "phone" not in found:
        found.append("phone")
    if "name" in mapped and rt.key == "customer":
        found.append("name")
    return found


def import_create(*, ctx: Context, record_type: str, upload: IO[bytes], file_name: str, sheet: str = "") -> ImportJob:
    """Store an uploaded file, read its headers and propose the mapping (the user's best saved
    mapping when its columns are all in the file). Raises PermissionDenied, ValidationError
    (a file too large, of another type, empty, without a header)."""
    rt = record_type_for(record_type)
    require(ctx, rt, "add")
    suffix = Path(file_name).suffix.lower()
    if suffix not in readers.CSV_SUFFIXES | readers.XLSX_SUFFIXES:
        raise ValidationError(
            {"file": _("Upload a CSV, TSV, TXT or Excel (.xlsx) file, not “%(suffix)s”.") % {"suffix": suffix}}
        )
    folder = data_dir() / "imports" / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o700)
    path = folder / f"upload{suffix or '.csv'}"
    digest, size, limit = hashlib.sha256(), 0, max_upload_bytes()
    try:
        with path.open("wb") as out:
            while chunk := upload.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {
                            "file": _("The file is larger than %(mb)d MB, the most an import takes.")
                            % {"mb": limit >> 20}
                        }
                    )
                digest.update(chunk)
                out.write(chunk)
        os.chmod(path, 0o600)
        try:
            info = readers.inspect_file(path, file_name)
            sheets = readers.sheet_names(path) if info.kind == "xlsx" else []
            headers = _unique_headers(readers.read_headers(path, info, sheet))
        except ValidationError as error:
            raise ValidationError({"file": error.messages}) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    proposal = import_mapping.propose(rt, headers)
    match_on = _default_match_on(rt, proposal)
    on_duplicate = OnDuplicate.SKIP
    saved = import_mapping.best_saved_mapping(ctx.user, rt.key, headers)
    options: dict[str, Any] = {"format": {"kind": info.kind, "delimiter": info.delimiter}, "sheets": sheets}
    if saved is not None:
        proposal = {header: saved.mapping.get(header, "") for header in headers}
        match_on, on_duplicate = list(saved.match_on), saved.on_duplicate
        options["saved_mapping"] = saved.pk
    return ImportJob.objects.create(
        record_type=rt.key,
        file=str(path.relative_to(data_dir())),
        file_name=Path(file_name).name[:255],
        file_size=size,
        file_sha256=digest.hexdigest(),
        encoding=info.encoding,
        sheet=sheet,
        headers=headers,
        mapping=proposal,
        match_on=match_on,
        on_duplicate=on_duplicate,
        options=options,
        created_by=ctx.user,
    )


def _unique_headers(headers: list[str]) -> list[str]:
    """Headers as the mapping's keys: a blank one named after its column (``Column 3``), a
    repeated one numbered (``备注 (2)``)."""
    seen: set[str] = set()
    unique: list[str] = []
    for index, header in enumerate(headers):
        name = header or _("Column %(number)d") % {"number": index + 1}
        candidate, count = name, 1
        while candidate in seen:
            count += 1
            candidate = f"{name} ({count})"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def _check_mapping(rt: RecordType, headers: list[str], mapping: dict[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    fields = {item.name: item for item in import_mapping.importable_fields(rt)}
    seen: dict[str, str] = {}
    for header, name in mapping.items():
        if header not in headers:
            errors.setdefault(str(header), []).append(_("The file has no column “%(header)s”.") % {"header": header})
        elif name and name not in fields:
            errors.setdefault(header, []).append(_("There is no field “%(name)s” to import into.") % {"name": name})
        elif name and name in seen:
            errors.setdefault(header, []).append(
                _("“%(field)s” is already filled from the column “%(other)s”.")
                % {"field": fields[name].label, "other": seen[name]}
            )
        elif name:
            seen[name] = header
    special = importer_for(rt.key)
    optional = set(special.optional_fields(rt)) if special is not None else set()
    if any(part in seen for part in import_mapping.NAME_PARTS):
        optional.add("name")  # joined from its parts
    missing = [item.label for item in fields.values() if item.required and item.name not in {*seen, *optional}]
    if missing:
        errors["mapping"] = [
            _("Map a column to each required field: %(fields)s.") % {"fields": ", ".join(str(m) for m in missing)}
        ]
    return errors


def import_configure(
    *,
    ctx: Context,
    job: ImportJob,
    mapping: dict[str, str] | None = None,
    match_on: list[str] | None = None,
    on_duplicate: str | None = None,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Set the mapping (``{header: field or ""}``), the duplicate policy and options
    (``day_first``: read 01/03/2026 as 1 March; ``order_ref``: the column whose value groups
    order lines). Raises ValidationError keyed by the column's header, ``mapping`` (a required
    field not mapped), ``match_on``, ``on_duplicate``, ``options``."""
    _require_own(ctx, job)
    rt = record_type_for(job.record_type)
    require(ctx, rt, "add")
    if job.status in ACTIVE or (job.processed_rows and not job.dry_run and job.status != ImportStatus.NEW):
        raise ValidationError(_("This import has started; its settings can no longer change."))
    errors: dict[str, list[str]] = {}
    if mapping is not None:
        mapping = {str(header): str(name or "") for header, name in mapping.items()}
        errors.update(_check_mapping(rt, job.headers, mapping))
    if match_on is not None:
        allowed = set(MatchOn.values)
        wrong = [str(item) for item in match_on if item not in allowed]
        if wrong:
            errors["match_on"] = [_("Unknown ways to find duplicates: %(names)s.") % {"names": ", ".join(wrong)}]
    if on_duplicate is not None and on_duplicate not in OnDuplicate.values:
        errors["on_duplicate"] = [_("Choose what to do with duplicates.")]
    if options is not None and not isinstance(options, dict):
        errors["options"] = [_("Give the options as an object.")]
    if errors:
        raise ValidationError(errors)
    if mapping is not None:
        job.mapping = {header: mapping.get(header, "") for header in job.headers}
    if match_on is not None:
        job.match_on = list(dict.fromkeys(match_on))
    if on_duplicate is not None:
        job.on_duplicate = on_duplicate
    if options:
        job.options = {**job.options, **{k: v for k, v in options.items() if k not in ("format", "sheets")}}
    job.save(update_fields=["mapping", "match_on", "on_duplicate", "options"])
    return job


def import_preview_rows(job: ImportJob, limit: int = 5) -> list[list[str]]:
    """The first rows after the header, as text."""
    return readers.preview(job_path(job), job_file_info(job), job.sheet, limit=limit)


def _reset_counts(job: ImportJob) -> None:
    job.processed_rows = 0
    job.created_count = job.updated_count = job.skipped_count = job.rejected_count = 0
    job.summary = {}
    job.error = ""
    job.started_at = job.heartbeat_at = job.total_rows = None  # a new run counts its own speed
    job.rejected_rows.all().delete()


def import_start(*, ctx: Context, job: ImportJob, dry_run: bool) -> ImportJob:
    """Queue the job for the background worker (``run_import_task``). A job that failed or
    was cancelled goes on from its checkpoint; a finished dry run can be started for real.
    Raises ValidationError (mapping incomplete, already running or done)."""
    _require_own(ctx, job)
    rt = record_type_for(job.record_type)
    require(ctx, rt, "add")
    if job.status in ACTIVE:
        raise ValidationError(_("This import is already running."))
    if job.status == ImportStatus.DONE and not job.dry_run:
        raise ValidationError(_("This file has been imported already."))
    errors = _check_mapping(rt, job.headers, job.mapping)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        resume = job.status in (ImportStatus.FAILED, ImportStatus.CANCELLED) and job.dry_run == bool(dry_run)
        if not resume:
            _reset_counts(job)
        job.dry_run = bool(dry_run)
        job.status = ImportStatus.QUEUED
        job.error = ""
        job.finished_at = None
        job.heartbeat_at = timezone.now()  # queued at: a job left waiting shows it (selectors.waiting_for_worker)
        job.save()
        from kehu.dataio.imports.tasks import run_import_task

        transaction.on_commit(lambda: run_import_task.enqueue(job.pk))
    if not transaction.get_connection().in_atomic_block:
        job.refresh_from_db()
    return job


def import_run(job: ImportJob, *, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Run (or resume) the job in this process; see ``engine.run``."""
    from kehu.dataio.imports import engine

    return engine.run(job, progress=progress)


def import_cancel(*, ctx: Context, job: ImportJob) -> ImportJob:
    """Stop a queued or running job after its current batch (the rows committed stay; it can
    be resumed)."""
    _require_own(ctx, job)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=ACTIVE).update(
        status=ImportStatus.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    if not updated and job.status == ImportStatus.NEW:
        job.status = ImportStatus.CANCELLED
        job.save(update_fields=["status"])
    return job


def rejected_row_cells(row: ImportRejectedRow) -> list[str]:
    cells = crypto.decrypt_json(row.row, purpose=ROW_PURPOSE)
    return [str(cell) for cell in cells]


def _error_text(errors: dict[str, list[str]]) -> str:
    parts = []
    for name, messages in errors.items():
        text = " ".join(messages)
        parts.append(text if name == "__all__" else f"{name}: {text}")
    return "; ".join(parts)


def rejected_rows_csv(job: ImportJob) -> Iterator[str]:
    """The rejected rows as CSV lines (UTF-8 with a byte-order mark for Excel): the line in
    the file, the reasons, then the original cells under the original headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield "\ufeff" + line([_("Line"), _("Errors"), *job.headers])
    for row in job.rejected_rows.order_by("line").iterator(chunk_size=1000):
        yield line([row.line, _error_text(row.errors), *rejected_row_cells(row)])


def saved_mapping_save(
    *,
    ctx: Context,
    record_type: str,
    name: str,
    mapping: dict[str, str],
    match_on: list[str] | None = None,
    on_duplicate: str = OnDuplicate.SKIP,
    shared: bool = False,
) -> SavedMapping:
    """Keep a mapping under ``name`` for the next file (replacing the user's own of that name).
    Only users who may import the type save mappings; sharing needs an administrator."""
    rt = record_type_for(record_type)
    require(ctx, rt, "add")
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationError({"name": _("Give the mapping a name.")})
    if on_duplicate not in OnDuplicate.values:
        raise ValidationError({"on_duplicate": _("Choose what to do with duplicates.")})
    saved, _created = SavedMapping.objects.update_or_create(
        record_type=rt.key,
        name=name,
        created_by=ctx.user,
        defaults={
            "mapping": {str(k): str(v or "") for k, v in mapping.items()},
            "match_on": [m for m in (match_on or []) if m in MatchOn.values],
            "on_duplicate": on_duplicate,
            "shared": bool(shared) and bool(getattr(ctx.user, "is_kehu_admin", False)),
        },
    )
    return saved


def find_resumable(*, user: Any, record_type: str, sha256: str, options: dict[str, Any]) -> ImportJob | None:
    """The user's unfinished import of the same file with the same settings (``kehu import``
    run again resumes it)."""
    for job in ImportJob.objects.filter(
        created_by=user,
        record_type=record_type,
        file_sha256=sha256,
        status__in=[ImportStatus.FAILED, ImportStatus.CANCELLED, ImportStatus.RUNNING, ImportStatus.QUEUED],
    ).order_by("-created_at"):
        if job.options.get("cli") == options and job_path(job).exists():
            return job
    return None


def delete_job_files(job: ImportJob) -> bool:
    folder = job_path(job).parent
    if folder.exists() and folder.parent == data_dir() / "imports":
        shutil.rmtree(folder, ignore_errors=True)
        return True
    return False


# ---------------------------------------------------------------- special importers


_importers: dict[str, Callable[[], Any]] = {}


def register_importer(record_type: str, factory: Callable[[], Any]) -> None:
    """Use ``factory()`` (an ``engine.GenericImporter`` subclass) for imports of ``record_type``:
    it may add fields to map (``extra_fields``), make required fields optional
    (``optional_fields``), cut batches and write rows its own way (``batches``, ``prepare``,
    ``run_batch``)."""
    _importers[record_type] = factory


def importer_for(record_type: str) -> Any:
    factory = _importers.get(record_type)
    return factory() if factory is not None else None
