"""Export pages: the list's export (streamed, or a background job for long lists), the user's
exports and their downloads, and the contacts' vCards. Views are thin: the work is in
``services`` and ``selectors``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from kehu.platform import selectors as record_selectors
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.records import RecordType

from . import selectors, services
from .forms import VCardImportForm
from .models import ExportFormat
from .vcard import VCardError

CONTENT_TYPES: dict[str, str] = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.VCF: "text/vcard; charset=utf-8",
}


def _attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_response(request: HttpRequest, rt: RecordType, fmt: str) -> HttpResponseBase:
    """The list ``rt`` with the request's filters, search, sort and columns in format ``fmt``:
    streamed when it has at most ``KEHU_EXPORT_SYNC_ROWS`` rows, else queued as a background
    job (the user is sent to the exports page and notified when the file is ready)."""
    ctx = Context.from_request(request)
    query = record_selectors.list_query(rt, request.GET)
    list_url = reverse(f"{rt.plural}_list")
    try:
        _queryset, count = services.export_prepare(ctx, query, fmt)  # PermissionDenied: 403
        if count > services.sync_rows():
            services.export_job_create(ctx, query, fmt)
            messages.success(
                request,
                ngettext(
                    "The export of %(count)s row runs in the background; you will be notified when it is ready.",
                    "The export of %(count)s rows runs in the background; you will be notified when it is ready.",
                    count,
                )
                % {"count": count},
            )
            return HttpResponseRedirect(reverse("export_list"))
        filename = f"{rt.plural}-{timezone.localdate():%Y%m%d}.{fmt}"
        if fmt == ExportFormat.XLSX:
            with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
                path = Path(handle.name)
            try:
                services.export_write(ctx, query, fmt, path)
                stream = path.open("rb")
            finally:
                path.unlink(missing_ok=True)  # the open file stays readable until the response closes it
            return _attachment(FileResponse(stream, content_type=CONTENT_TYPES[ExportFormat.XLSX]), filename)
        chunks = services.export_stream(ctx, query, fmt)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(list_url)
    return _attachment(StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt]), filename)


@login_required
@require_GET
def contacts_export_vcf(request: HttpRequest) -> HttpResponseBase:
    from kehu.customers.records import CONTACT

    return export_response(request, CONTACT, ExportFormat.VCF)


@login_required
@require_GET
def contact_vcard(request: HttpRequest, pk: int) -> HttpResponse:
    from kehu.customers.records import CONTACT

    try:
        contact = record_selectors.record_get(CONTACT, user=request.user, pk=pk)
    except NotVisible:
        raise Http404 from None
    text = services.contact_vcard_export(Context.from_request(request), contact)
    response = HttpResponse(text, content_type=CONTENT_TYPES[ExportFormat.VCF])
    _attachment(response, f"{contact.number}.vcf")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def contacts_import_vcard(request: HttpRequest) -> HttpResponse:
    from kehu.customers.models import Customer
    from kehu.customers.records import CONTACT, CUSTOMER
    from kehu.platform.access import can, visible_to

    if not can(request.user, CONTACT, "add"):
        raise PermissionDenied
    customers = visible_to(request.user, Customer.objects.all(), CUSTOMER).order_by("name", "id")
    form = VCardImportForm(request.POST or None, request.FILES or None, customers=customers)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.vcard_import(
                Context.from_request(request), form.cleaned_data["file"].read(), customer=form.cleaned_data["customer"]
            )
        except VCardError as error:
            form.add_error("file", str(error))
    return render(request, "exports/vcard_import.html", {"form": form, "report": report})


@login_required
@require_GET
def export_list(request: HttpRequest) -> HttpResponse:
    jobs = list(selectors.export_jobs_for(request.user)[:100])
    return render(request, "exports/export_list.html", {"jobs": jobs, "keep_days": services.keep_days()})


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        job = selectors.export_job_get(request.user, pk)
    except NotVisible:
        raise Http404 from None
    if not job.downloadable:
        raise Http404
    path = services.export_file_path(job)
    if not path.is_file():
        raise Http404
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=job.file_name, content_type=CONTENT_TYPES[job.format]
    )
