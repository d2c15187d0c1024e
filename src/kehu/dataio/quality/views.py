"""The data quality pages: the report (``/data-quality/``) with "Scan now", and the policy
settings (``/settings/data-quality/``). Thin: the services count, check and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.dataio.quality import checks, services
from kehu.dataio.quality.models import DEFAULT_INACTIVE_MONTHS
from kehu.platform.context import Context
from kehu.platform.records import RecordType, registry
from kehu.platform.views import add_service_errors


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    if not services.can_view_report(request.user):
        raise PermissionDenied
    reports = services.report(request.user)
    return render(
        request,
        "quality/report.html",
        {
            "checked": [r for r in reports if r.rows],
            "unchecked": [r for r in reports if not r.rows],
            "last_scan": services.last_scan(),
            "can_configure": services.can_configure(request.user),
        },
    )


@login_required
@require_POST
def scan_now(request: HttpRequest) -> HttpResponse:
    ctx = Context.from_request(request)
    wanted = [key for key in request.POST.getlist("type") if key]
    try:
        queued = services.scan_request(ctx, wanted or None)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if not queued:
            messages.info(request, _("Nothing to scan: no phone or email fields."))
            return HttpResponseRedirect(reverse("data_quality"))
        messages.success(
            request,
            _("Scan started for %(types)s; the report shows its findings when it ends.")
            % {"types": ", ".join(str(registry[key].label_plural) for key in queued)},
        )
    return HttpResponseRedirect(reverse("data_quality"))


class PolicyForm(forms.Form):
    required_fields = forms.MultipleChoiceField(
        label=gettext_lazy("Required fields"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Records that leave one of these blank are listed in the report."),
    )
    inactive_months = forms.IntegerField(
        label=gettext_lazy("Inactive after (months)"),
        min_value=1,
        max_value=services.MAX_INACTIVE_MONTHS,
        initial=DEFAULT_INACTIVE_MONTHS,
        help_text=gettext_lazy("Customers with no interaction for this many months, created before that."),
    )

    def __init__(self, *args: Any, rt: RecordType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["required_fields"].choices = [  # type: ignore[attr-defined]
            (f.name, capfirst(f.label)) for f in checks.policy_fields(rt)
        ]
        if not checks.has_inactivity(rt):
            del self.fields["inactive_months"]


@login_required
def policy_settings(request: HttpRequest) -> HttpResponse:
    if not services.can_configure(request.user):
        raise PermissionDenied
    rt = registry.get(request.GET.get("type") or "customer") or next(iter(registry))
    policy = services.policy_get(rt)
    initial = {"required_fields": policy.required_fields, "inactive_months": policy.inactive_months}
    form = PolicyForm(request.POST or None, rt=rt, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.policy_update(Context.from_request(request), rt, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Data quality policy of %(type)s saved.") % {"type": rt.label_plural})
            return HttpResponseRedirect(f"{reverse('data_quality_settings')}?type={rt.key}")
    status = 422 if form.is_bound and form.errors else 200
    types = [(t.key, capfirst(str(t.label_plural))) for t in registry]
    return render(request, "quality/policy.html", {"form": form, "rt": rt, "types": types}, status=status)
