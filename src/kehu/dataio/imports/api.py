"""The imports API (/api/v1/imports/): upload a file, map its columns, dry-run, run, cancel,
read the progress and download the rejected rows. The same jobs and services as the wizard
and ``kehu import``.

No ``from __future__ import annotations`` here: django-ninja reads the endpoint annotations."""

import datetime
import functools
import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.files import UploadedFile

from kehu.dataio.imports import mapping as import_mapping
from kehu.dataio.imports import selectors, services
from kehu.dataio.imports.forms import UPLOAD_EXTENSIONS, max_upload_bytes, too_large_message
from kehu.dataio.imports.models import ImportJob, ImportStatus, MatchOn, OnDuplicate
from kehu.dataio.imports.views import BODY_MARGIN, rejected_response
from kehu.platform.access import can
from kehu.platform.api import MAX_LIMIT, api_context, json_response, problem
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.records import RecordType, registry

router = Router(tags=["imports"])

ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING)


# ---------------------------------------------------------------- schemas


class CountsOut(Schema):
    created: int
    updated: int
    skipped: int
    rejected: int


class JobOut(Schema):
    id: int
    record_type: str
    status: str = Field(..., description=f"One of {', '.join(ImportStatus.values)}.")
    dry_run: bool = Field(..., description="The current or last run writes nothing.")
    file_name: str
    file_size: int
    encoding: str
    sheet: str
    headers: list[str]
    mapping: dict[str, str] = Field(..., description='Header → field name ("" for a column left out).')
    match_on: list[str]
    on_duplicate: str
    options: dict[str, Any]
    total_rows: int | None
    processed_rows: int
    counts: CountsOut
    summary: dict[str, Any] = Field(..., description='Counts by reason, e.g. {"rejected": {"phone: …": 3}}.')
    error: str
    created_by: int
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    links: dict[str, str]


class JobListOut(Schema):
    items: list[JobOut]
    count: int


class ConfigureIn(Schema):
    mapping: dict[str, str] | None = Field(
        None, description='Header → field name for the columns to change; "" leaves a column out.'
    )
    match_on: list[str] | None = Field(None, description=f"Any of {', '.join(MatchOn.values)}.")
    on_duplicate: str | None = Field(None, description=f"One of {', '.join(OnDuplicate.values)}.")
    options: dict[str, Any] | None = None


class RunIn(Schema):
    dry_run: bool = Field(False, description="Count what would happen and keep the rejected rows; write no record.")


class FieldOut(Schema):
    name: str
    label: str
    required: bool
    kind: str
    help: str


class Paging(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


# ---------------------------------------------------------------- helpers


def _iso(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def job_body(job: ImportJob) -> dict[str, Any]:
    api = f"/api/v1/imports/{job.pk}/"
    return {
        "id": job.pk,
        "record_type": job.record_type,
        "status": job.status,
        "dry_run": job.dry_run,
        "file_name": job.file_name,
        "file_size": job.file_size,
        "encoding": job.encoding,
        "sheet": job.sheet,
        "headers": job.headers,
        "mapping": job.mapping,
        "match_on": job.match_on,
        "on_duplicate": job.on_duplicate,
        "options": job.options,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "counts": {
            "created": job.created_count,
            "updated": job.updated_count,
            "skipped": job.skipped_count,
            "rejected": job.rejected_count,
        },
        "summary": job.summary,
        "error": job.error,
        "created_by": job.created_by_id,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "links": {
            "self": api,
            "run": f"{api}run/",
            "cancel": f"{api}cancel/",
            "rejected": f"{api}rejected/",
            "web": reverse("import_detail", args=[job.pk]),
        },
    }


def _type(key: str, *, field: str = "record_type") -> RecordType:
    """A record type by key or plural (``customer`` or ``customers``)."""
    rt = registry.get(key) or registry.by_plural(key)
    if rt is None:
        raise ValidationError(
            {field: [_("Unknown record type “%(type)s”.") % {"type": key}]},
        )
    return rt


def _require(ctx: Context, rt: RecordType, action: str) -> None:
    """``action`` on ``rt`` by the user, and by the token's scopes when a token is used."""
    if not can(ctx, rt, action):
        if action == "add":
            raise PermissionDenied(_("You may not import %(type)s.") % {"type": rt.label_plural})
        raise PermissionDenied(_("You may not see imports of %(type)s.") % {"type": rt.label_plural})


def _job(ctx: Context, pk: int, action: str = "view") -> tuple[ImportJob, RecordType]:
    """The caller's job (admins: any), else 404; then the permission for ``action``."""
    try:
        job = selectors.job_get(ctx.user, pk)
    except (NotVisible, ImportJob.DoesNotExist):
        raise Http404 from None
    if job is None:
        raise Http404
    rt = registry.get(job.record_type)
    if rt is None:
        raise Http404
    _require(ctx, rt, action)
    return job, rt


def _match_on(value: str) -> list[str] | None:
    """``email,phone`` or a JSON list; empty: not given."""
    text = value.strip()
    if not text:
        return None
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ValidationError({"match_on": [_("Send a JSON list or names separated by commas.")]}) from None
        if not isinstance(parsed, list):
            raise ValidationError({"match_on": [_("Send a JSON list or names separated by commas.")]})
        return [str(item) for item in parsed]
    return [part.strip() for part in text.split(",") if part.strip()]


def _mapping(value: str) -> dict[str, str] | None:
    text = value.strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ValidationError({"mapping": [_("The mapping must be a JSON object of header → field.")]}) from None
    if not isinstance(parsed, dict) or not all(isinstance(v, str | type(None)) for v in parsed.values()):
        raise ValidationError({"mapping": [_("The mapping must be a JSON object of header → field.")]})
    return {str(header): field or "" for header, field in parsed.items()}


def _conflict(job: ImportJob) -> HttpResponse | None:
    if job.status in ACTIVE:
        return problem(409, _("Import running"), _("The import is running; cancel it or wait until it ends."))
    if job.status == ImportStatus.DONE and not job.dry_run:
        return problem(
            409, _("Import finished"), _("This import is finished; upload the file again to import it once more.")
        )
    return None


def refuse_large_bodies(run: Any) -> Any:
    """Answer 413 to a request whose body is over the import limit before a byte of it is read
    (before authentication and the parsing of the multipart body)."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_upload_bytes() + BODY_MARGIN:
            return problem(413, _("File too large"), too_large_message())
        return run(request, *args, **kwargs)

    return wrapper


# ---------------------------------------------------------------- endpoints


@router.post(
    "/",
    response={201: JobOut},
    summary="Upload a file to import",
    description=(
        "Multipart form: `file` (CSV/TSV/TXT in any encoding, or XLSX), `record_type` (e.g. `customer`), and "
        "optionally `sheet` (XLSX), `mapping` (a JSON object header → field; default: the proposed mapping), "
        "`match_on` (`email,phone,number,name`), `on_duplicate` (skip, fill, update, create), `start` (true: "
        "start at once) and `dry_run` (with start: a dry run). Answers the job with its headers and mapping."
    ),
    operation_id="import_create",
)
@decorate_view(refuse_large_bodies)
def create_import(
    request: HttpRequest,
    file: File[UploadedFile],
    record_type: Form[str],
    sheet: Form[str] = "",
    mapping: Form[str] = "",
    match_on: Form[str] = "",
    on_duplicate: Form[str] = "",
    dry_run: Form[bool] = False,
    start: Form[bool] = False,
) -> Any:
    ctx = api_context(request)
    rt = _type(record_type)
    _require(ctx, rt, "add")
    if file.size is not None and file.size > max_upload_bytes():
        return problem(413, _("File too large"), too_large_message(file.size))
    if not (file.name or "").lower().endswith(UPLOAD_EXTENSIONS):
        raise ValidationError(
            {"file": [_("Kehu imports CSV, TSV, TXT and XLSX files; save the sheet in one of these formats first.")]}
        )
    chosen_mapping, chosen_match = _mapping(mapping), _match_on(match_on)
    job = services.import_create(ctx=ctx, record_type=rt.key, upload=file, file_name=file.name or "", sheet=sheet)
    if chosen_mapping is not None or chosen_match is not None or on_duplicate:
        job = services.import_configure(
            ctx=ctx, job=job, mapping=chosen_mapping, match_on=chosen_match, on_duplicate=on_duplicate or None
        )
    if start:
        job = services.import_start(ctx=ctx, job=job, dry_run=dry_run)
    return json_response(201, job_body(job))


@router.get("/", response=JobListOut, summary="List your imports", operation_id="import_list")
def list_imports(request: HttpRequest, paging: Query[Paging]) -> Any:
    """Your imports (an admin's: everyone's), newest first; with a token, those of the areas
    its scopes may read."""
    ctx = api_context(request)
    jobs = selectors.jobs_for(ctx.user)
    if ctx.token is not None:
        jobs = jobs.filter(record_type__in=[rt.key for rt in registry if can(ctx, rt, "view")])
    count = jobs.count()
    page = jobs[paging.offset : paging.offset + paging.limit]
    return json_response(200, {"items": [job_body(job) for job in page], "count": count})


@router.get("/fields/{record_type}/", response=list[FieldOut], summary="The fields a column can be mapped to")
def import_fields(request: HttpRequest, record_type: str) -> Any:
    ctx = api_context(request)
    try:
        rt = _type(record_type)
    except ValidationError:
        raise Http404 from None
    _require(ctx, rt, "view")
    fields = import_mapping.importable_fields(rt)
    return json_response(
        200,
        [
            {"name": f.name, "label": str(f.label), "required": f.required, "kind": f.kind, "help": str(f.help)}
            for f in fields
        ],
    )


@router.get("/{int:pk}/", response=JobOut, summary="An import: status, progress and counts", operation_id="import_get")
def get_import(request: HttpRequest, pk: int) -> Any:
    job, _rt = _job(api_context(request), pk)
    return json_response(200, job_body(job))


@router.patch(
    "/{int:pk}/",
    response=JobOut,
    summary="Change an import's mapping or options",
    description="Before the import runs (after a dry run too). 409 while it runs or once it is done.",
    operation_id="import_configure",
)
def configure_import(request: HttpRequest, pk: int, payload: ConfigureIn) -> Any:
    ctx = api_context(request)
    job, _rt = _job(ctx, pk, "add")
    conflict = _conflict(job)
    if conflict is not None:
        return conflict
    # PATCH merges: the columns sent change, the others keep their field.
    mapping = None if payload.mapping is None else {**job.mapping, **payload.mapping}
    job = services.import_configure(
        ctx=ctx,
        job=job,
        mapping=mapping,
        match_on=payload.match_on,
        on_duplicate=payload.on_duplicate,
        options=payload.options,
    )
    return json_response(200, job_body(job))


@router.post(
    "/{int:pk}/run/",
    response={202: JobOut},
    summary="Run an import (or a dry run)",
    description=(
        "Queues the job; poll `GET /imports/{id}/` for the progress. A failed or cancelled import resumes "
        "after the last committed batch. 409 while it runs or once it is done."
    ),
    operation_id="import_run",
)
def run_import(request: HttpRequest, pk: int, payload: RunIn) -> Any:
    ctx = api_context(request)
    job, _rt = _job(ctx, pk, "add")
    conflict = _conflict(job)
    if conflict is not None:
        return conflict
    job = services.import_start(ctx=ctx, job=job, dry_run=payload.dry_run)
    return json_response(202, job_body(job))


@router.post("/{int:pk}/cancel/", response=JobOut, summary="Cancel an import", operation_id="import_cancel")
def cancel_import(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    job, _rt = _job(ctx, pk, "add")
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED):
        return problem(409, _("Import not running"), _("Only an import that has not ended can be cancelled."))
    job = services.import_cancel(ctx=ctx, job=job)
    return json_response(200, job_body(job))


@router.get(
    "/{int:pk}/rejected/",
    summary="The rejected rows as CSV",
    description="UTF-8 with a byte-order mark: the line, the errors and the row's original cells.",
    operation_id="import_rejected",
)
def rejected_rows(request: HttpRequest, pk: int) -> Any:
    job, _rt = _job(api_context(request), pk)
    return rejected_response(job)
