"""The import wizard: upload → column mapping → dry run (preview) → import → report, with the
progress polled by htmx. Thin: the engine's services do the work (``services``, ``selectors``,
``mapping``); these views check who may do what, show forms and pass on the answers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from kehu.dataio.imports import mapping as field_mapping
from kehu.dataio.imports import selectors, services
from kehu.dataio.imports.forms import MappingForm, UploadForm, too_large_message
from kehu.dataio.imports.models import ImportJob, ImportStatus
from kehu.dataio.imports.services import max_upload_bytes
from kehu.platform.access import can
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.records import RecordType, registry

ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING)
# A multipart body is a little larger than the file it carries (boundaries, the other fields).
BODY_MARGIN = 64 * 1024
REJECTED_SHOWN = 10


# ---------------------------------------------------------------- helpers


def importable_types(user: Any) -> list[RecordType]:
    """The record types ``user`` may add, so may import."""
    return [rt for rt in registry if can(user, rt, "add")]


def _record_type(job: ImportJob) -> RecordType:
    rt = registry.get(job.record_type)
    if rt is None:  # a type whose app was removed since the upload
        raise Http404
    return rt


def _job(request: HttpRequest, pk: int) -> ImportJob:
    """The job if the user may see it (their own; admins every one), else 404."""
    try:
        job = selectors.job_get(request.user, pk)
    except (NotVisible, ImportJob.DoesNotExist):
        raise Http404 from None
    if job is None:
        raise Http404
    return job


def _require_add(request: HttpRequest, rt: RecordType) -> Context:
    ctx = Context.from_request(request)
    if not can(ctx, rt, "add"):
        raise PermissionDenied(_("You may not import %(type)s.") % {"type": rt.label_plural})
    return ctx


def _messages_of(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {key: [str(m) for m in messages_] for key, messages_ in error.message_dict.items()}
    return {"__all__": [str(m) for m in error.messages]}


def list_url(rt: RecordType) -> str | None:
    try:
        return reverse(f"{rt.plural}_list")
    except NoReverseMatch:
        return None


def _rate(job: ImportJob) -> int | None:
    """Rows per second of the current or last run."""
    if job.started_at is None or not job.processed_rows:
        return None
    until = job.finished_at or job.heartbeat_at or timezone.now()
    seconds = (until - job.started_at).total_seconds()
    return round(job.processed_rows / seconds) if seconds > 0 else None


def _percent(job: ImportJob) -> int | None:
    if job.status == ImportStatus.DONE:
        return 100
    if not job.total_rows:
        return None
    return min(100, int(job.processed_rows * 100 / job.total_rows))


def _reasons(job: ImportJob) -> list[dict[str, Any]]:
    """The summary's reasons grouped by outcome, the most frequent first."""
    labels = {
        "created": _("Created"),
        "updated": _("Updated"),
        "skipped": _("Skipped"),
        "rejected": _("Rejected"),
    }
    groups = []
    for key, reasons in (job.summary or {}).items():
        if not isinstance(reasons, dict) or not reasons:
            continue
        items = sorted(
            ((str(reason), count) for reason, count in reasons.items() if isinstance(count, int)),
            key=lambda item: (-item[1], item[0]),
        )
        groups.append({"key": key, "label": labels.get(key, key), "reasons": items})
    return groups


def _rejected_sample(job: ImportJob) -> list[dict[str, Any]]:
    rows = []
    for row in job.rejected_rows.order_by("line")[:REJECTED_SHOWN]:
        errors = row.errors if isinstance(row.errors, dict) else {"__all__": row.errors}
        rows.append(
            {
                "line": row.line,
                "errors": [
                    message if field in ("", "__all__") else f"{field}: {message}"
                    for field, field_messages in errors.items()
                    for message in (field_messages if isinstance(field_messages, list) else [field_messages])
                ],
            }
        )
    return rows


def job_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    rt = _record_type(job)
    finished = job.status not in ACTIVE
    return {
        "job": job,
        "rt": rt,
        "active": not finished,
        "waiting_for_worker": selectors.waiting_for_worker(job),
        "percent": _percent(job),
        "rate": _rate(job),
        "reasons": _reasons(job) if finished or job.processed_rows else [],
        "rejected": _rejected_sample(job) if job.rejected_count else [],
        "list_url": list_url(rt),
        "may_import": can(Context.from_request(request), rt, "add"),
        "configurable": job.status in (ImportStatus.NEW, ImportStatus.DONE)
        and (job.dry_run or job.status == ImportStatus.NEW),
        "can_resume": job.status in (ImportStatus.FAILED, ImportStatus.CANCELLED),
    }


# ---------------------------------------------------------------- the list


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The user's imports (admins: everyone's), newest first."""
    jobs = selectors.jobs_for(request.user).select_related("created_by")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    labels = {rt.key: rt.label_plural for rt in registry}
    return render(
        request,
        "imports/importjob_list.html",
        {"page": page, "labels": labels, "may_import": bool(importable_types(request.user))},
    )


# ---------------------------------------------------------------- 1. upload


class _SizeLimit(FileUploadHandler):
    """Refuses a request body larger than the import limit before a byte of it is read."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.exceeded = False

    def handle_raw_input(
        self,
        input_data: Any,
        META: Any,  # noqa: N803  (Django's name)
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict] | None:
        if content_length > max_upload_bytes() + BODY_MARGIN:
            self.exceeded = True
            return QueryDict(), MultiValueDict()  # parsed as empty: the body is never read
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _render_upload(request: HttpRequest, form: UploadForm, status: int = 200, error: str = "") -> HttpResponse:
    return render(request, "imports/importjob_upload.html", {"form": form, "error": error}, status=status)


@csrf_exempt  # checked below, once the body is known not to be too large
@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    """Choose the record type and upload the file."""
    types = importable_types(request.user)
    if not types:
        raise PermissionDenied(_("You may not add records of any type, so you cannot import."))
    if request.method == "POST":
        limit = _SizeLimit(request)
        request.upload_handlers = [limit, *request.upload_handlers]
        request.POST  # noqa: B018  (parse now: the limit decides whether the body is read)
        if limit.exceeded:
            # Nothing was read or changed: answer with the form and the reason.
            form = UploadForm(initial={"record_type": request.GET.get("type")}, types=types)
            return _render_upload(request, form, status=413, error=too_large_message())
    return _import_upload(request, types)


@csrf_protect
def _import_upload(request: HttpRequest, types: list[RecordType]) -> HttpResponse:
    if request.method != "POST":
        wanted = request.GET.get("type", "")
        initial = {"record_type": wanted} if any(rt.key == wanted for rt in types) else {}
        return _render_upload(request, UploadForm(initial=initial, types=types))
    form = UploadForm(request.POST, request.FILES, types=types)
    if form.is_valid():
        rt = registry[form.cleaned_data["record_type"]]
        ctx = _require_add(request, rt)
        upload = form.cleaned_data["file"]
        try:
            job = services.import_create(ctx=ctx, record_type=rt.key, upload=upload, file_name=upload.name)
        except ValidationError as error:
            for key, field_messages in _messages_of(error).items():
                for message in field_messages:
                    form.add_error("record_type" if key == "record_type" else "file", message)
        else:
            return HttpResponseRedirect(reverse("import_mapping", args=[job.pk]))
    return _render_upload(request, form, status=422)


# ---------------------------------------------------------------- 2. mapping


def _samples(job: ImportJob) -> list[list[str]]:
    """The first values of each column."""
    rows = services.import_preview_rows(job, limit=5)
    return [
        [row[index] for row in rows if index < len(row) and row[index] not in ("", None)]
        for index in range(len(job.headers))
    ]


def _add_configure_errors(form: MappingForm, error: ValidationError) -> None:
    """The engine's errors next to the column (keyed by header or by field name) or the option
    they are about; the others above the form."""
    for key, field_messages in _messages_of(error).items():
        target = (
            key
            if key in ("match_on", "on_duplicate")
            else form.column_of(key)
            or form.column_for_field(key)
            or form.column_for_field(key.removeprefix("mapping."))
        )
        for message in field_messages:
            if target is None and key not in ("__all__", "mapping", ""):
                message = f"{key}: {message}"
            form.add_error(target, message)


@login_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Each column: its header, its first values, the field it goes to; duplicates; saving."""
    job = _job(request, pk)
    rt = _record_type(job)
    ctx = _require_add(request, rt)
    if job.status in ACTIVE:
        return HttpResponseRedirect(reverse("import_detail", args=[job.pk]))
    if job.status == ImportStatus.DONE and not job.dry_run:
        messages.info(request, _("This import is finished; upload the file again to import it once more."))
        return HttpResponseRedirect(reverse("import_detail", args=[job.pk]))
    fields = field_mapping.importable_fields(rt)
    saved = list(field_mapping.saved_mappings_for(request.user, job.record_type))
    options = {"headers": job.headers, "fields": fields, "samples": _samples(job)}
    chosen = next((s for s in saved if str(s.pk) == request.GET.get("saved", "")), None)
    source = chosen or job
    initial = MappingForm.initial_for(source.mapping, job.headers, source.match_on, source.on_duplicate)

    if request.method == "POST":
        form = MappingForm(request.POST, initial=initial, **options)
        if form.is_valid():
            action = "run" if "run" in request.POST else "save" if "save" in request.POST else "dry_run"
            data = form.cleaned_data
            try:
                services.import_configure(
                    ctx=ctx,
                    job=job,
                    mapping=form.mapping(),
                    match_on=data["match_on"],
                    on_duplicate=data["on_duplicate"],
                )
                if data["save_as"].strip():
                    services.saved_mapping_save(
                        ctx=ctx,
                        record_type=job.record_type,
                        name=data["save_as"].strip(),
                        mapping=form.mapping(),
                        match_on=data["match_on"],
                        on_duplicate=data["on_duplicate"],
                        shared=data["shared"],
                    )
                    messages.success(request, _("Mapping “%(name)s” saved.") % {"name": data["save_as"].strip()})
            except ValidationError as error:
                _add_configure_errors(form, error)
            else:
                if action == "save":
                    return HttpResponseRedirect(reverse("import_mapping", args=[job.pk]))
                services.import_start(ctx=ctx, job=job, dry_run=action == "dry_run")
                return HttpResponseRedirect(reverse("import_detail", args=[job.pk]))
        status = 422
    else:
        form = MappingForm(initial=initial, **options)
        status = 200
    required = [f for f in fields if f.required]
    sheets = job.options.get("sheets") or []
    return render(
        request,
        "imports/importjob_mapping.html",
        {
            "job": job,
            "rt": rt,
            "form": form,
            "saved": saved,
            "chosen": chosen,
            "required": required,
            "sheets": sheets if len(sheets) > 1 else [],
            "current_sheet": job.sheet or (sheets[0] if sheets else ""),
        },
        status=status,
    )


@login_required
@require_POST
def import_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """Read another sheet of the uploaded workbook: a new import of the stored file (the
    first one is cancelled and its copy removed), with its own headers and proposed mapping."""
    job = _job(request, pk)
    ctx = _require_add(request, _record_type(job))
    sheet = request.POST.get("sheet", "")
    if job.status != ImportStatus.NEW or sheet not in job.options.get("sheets", []) or sheet == job.sheet:
        return HttpResponseRedirect(reverse("import_mapping", args=[job.pk]))
    try:
        with services.job_path(job).open("rb") as stored:
            new_job = services.import_create(
                ctx=ctx, record_type=job.record_type, upload=stored, file_name=job.file_name, sheet=sheet
            )
    except (ValidationError, FileNotFoundError) as error:
        text = (
            "; ".join(m for ms in _messages_of(error).values() for m in ms)
            if isinstance(error, ValidationError)
            else ""
        )
        messages.error(request, text or _("The uploaded file is no longer kept; upload it again."))
        return HttpResponseRedirect(reverse("import_mapping", args=[job.pk]))
    services.import_cancel(ctx=ctx, job=job)
    services.delete_job_files(job)  # the new import holds its own copy of the workbook
    return HttpResponseRedirect(reverse("import_mapping", args=[new_job.pk]))


# ---------------------------------------------------------------- 3. the job: preview, progress, report


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(request, "imports/importjob_detail.html", job_context(request, job))


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's status part, polled every second while the job is queued or running."""
    job = _job(request, pk)
    return render(request, "imports/_importjob_status.html", job_context(request, job))


@login_required
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a dry run or the import (after a dry run, or to resume a failed or cancelled one)."""
    job = _job(request, pk)
    ctx = _require_add(request, _record_type(job))
    dry_run = request.POST.get("dry_run") in ("1", "true", "on")
    if job.status in ACTIVE:
        messages.info(request, _("This import is already running."))
    else:
        try:
            services.import_start(ctx=ctx, job=job, dry_run=dry_run)
        except ValidationError as error:
            messages.error(request, "; ".join(m for ms in _messages_of(error).values() for m in ms))
    return HttpResponseRedirect(reverse("import_detail", args=[job.pk]))


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    ctx = _require_add(request, _record_type(job))
    try:
        services.import_cancel(ctx=ctx, job=job)
    except ValidationError as error:
        messages.error(request, "; ".join(m for ms in _messages_of(error).values() for m in ms))
    else:
        messages.info(request, _("The import was cancelled; the rows imported so far stay."))
    return HttpResponseRedirect(reverse("import_detail", args=[job.pk]))


def rejected_file_name(job: ImportJob) -> str:
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    return f"{stem}-rejected-{job.pk}.csv"


def rejected_response(job: ImportJob) -> StreamingHttpResponse:
    """The rejected rows as a CSV download (streamed: a file may have many)."""
    response = StreamingHttpResponse(services.rejected_rows_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, rejected_file_name(job)) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def import_rejected(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    return rejected_response(_job(request, pk))
