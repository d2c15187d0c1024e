"""Pages that are not about one record type: home, global search, the audit log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from kehu.platform import search as global_search
from kehu.platform import selectors
from kehu.platform.access import can
from kehu.platform.models import AuditEntry
from kehu.platform.records import registry
from kehu.platform.views import history_rows
from kehu.web.forms import AuditFilterForm


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 404 for a path no route matches (``/api/v1/customers/abc/``): a problem document
    under the API, as every other API error is, and the site's page elsewhere."""
    if request.path.startswith("/api/"):
        from kehu.platform.api import problem

        return problem(404, _("Not found"), _("No API resource lives at this address."))
    return defaults.page_not_found(request, exception)


SEARCH_LIMIT = 8  # per record type in the header
SEARCH_PAGE_LIMIT = 20  # per record type on the search page
SEARCH_PAGE_LIMIT_ONE_TYPE = 100  # on the search page for one type


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Counts of what the user can see and the records they changed last; My day is the
    home page of sales users."""
    if getattr(getattr(request.user, "role", None), "key", "") == "sales":
        from kehu.activities.views import my_day

        return my_day(request)
    cards = []
    for rt in registry:
        if not can(request.user, rt, "view"):
            continue
        visible = selectors.record_list(rt, user=request.user)
        mine = visible.filter(owner=request.user)
        cards.append(
            {
                "rt": rt,
                "count": visible.count(),
                "mine": mine.count(),
                "recent": list(visible.filter(updated_by=request.user).order_by("-updated_at")[:5]),
            }
        )
    return render(request, "web/home.html", {"cards": cards})


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Search every record type the user may see (as-you-type in the header, or a page; the
    page takes ``type`` to list more of one type)."""
    q = request.GET.get("q", "").strip()
    partial = bool(getattr(request, "htmx", False))
    kind = request.GET.get("type", "").strip()
    limit = SEARCH_LIMIT if partial else SEARCH_PAGE_LIMIT_ONE_TYPE if kind else SEARCH_PAGE_LIMIT
    groups: list[global_search.Group] = []
    error = ""
    if q:
        try:
            groups = global_search.search(request.user, q, types=[kind] if kind else None, limit=limit)
        except ValidationError as invalid:
            error = "; ".join(invalid.messages)
        except PermissionDenied as denied:
            error = str(denied)
    template = "web/_search_results.html" if partial else "web/search.html"
    return render(request, template, {"q": q, "groups": groups, "error": error, "type": kind})


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every audit entry, filterable; for admins and whoever holds ``view_auditentry``."""
    if not request.user.has_perm("platform.view_auditentry"):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.select_related("actor", "content_type")
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            entries = entries.filter(actor_label__icontains=data["actor"])
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["source"]:
            entries = entries.filter(source=data["source"])
        if data["record_type"]:
            rt = registry.get(data["record_type"])
            if rt is not None:
                entries = entries.filter(content_type=ContentType.objects.get_for_model(rt.model))
        if data["record"]:
            entries = entries.filter(object_repr__icontains=data["record"])
        if data["ip"]:
            entries = entries.filter(ip=data["ip"])
        if data["since"]:
            entries = entries.filter(at__date__gte=data["since"])
        if data["until"]:
            entries = entries.filter(at__date__lte=data["until"])
    page = Paginator(entries.order_by("-at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "web/audit_list.html", {"form": form, "page": page, "rows": history_rows(page.object_list)})
