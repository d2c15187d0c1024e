"""Web pages of the customers module besides the spine's: the lifecycle box of a customer
(htmx partial: stage bar, change form, "mark churned", history) and the settings pages for
lifecycle stages and grades. Thin: reads through selectors, writes through services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.customers import configuration, lifecycle
from kehu.customers.models import Grade, LifecycleStage
from kehu.customers.records import CUSTOMER
from kehu.platform.access import can
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.views import add_service_errors

# ---------------------------------------------------------------- the lifecycle box


class StageChangeForm(forms.Form):
    """Which stage and why; the service decides what is allowed (and says why not)."""

    stage = forms.CharField(label=gettext_lazy("New stage"), max_length=32)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), required=False, max_length=lifecycle.REASON_MAX, widget=forms.Textarea
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


def _lifecycle_response(
    request: HttpRequest, customer: Any, form: StageChangeForm | None, **extra: Any
) -> HttpResponse:
    context = {"customer": customer, "user": request.user, "form": form, **extra}
    if getattr(request, "htmx", False):
        # htmx swaps only 2xx answers: errors are shown inline in a 200
        return render(request, "customers/_lifecycle.html", context)
    status = 422 if form is not None and form.errors else 200
    return render(request, "customers/lifecycle_page.html", context, status=status)


@login_required
def customer_lifecycle(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the lifecycle box; POST: change the stage (htmx answers the box re-rendered with
    inline errors or the new stage; without htmx, a redirect to the customer page)."""
    ctx = Context.from_request(request)
    if not can(request.user, CUSTOMER, "view"):
        raise PermissionDenied
    try:
        customer, _history = lifecycle.history_for(ctx, pk)
    except NotVisible:
        raise Http404 from None
    if request.method != "POST":
        return _lifecycle_response(request, customer, None)
    if not can(request.user, CUSTOMER, "change"):
        raise PermissionDenied
    form = StageChangeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = lifecycle.change_stage(ctx, customer, data["stage"], data["reason"], version=data.get("version"))
        except StaleVersion:
            form.add_error(None, str(StaleVersion.message))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not getattr(request, "htmx", False):
                messages.success(request, _("Stage changed to %(stage)s.") % {"stage": moved.stage})
                return HttpResponseRedirect(customer.get_absolute_url())
            response = _lifecycle_response(request, moved, None, changed=True)
            response["HX-Trigger"] = json.dumps({"kehu:lifecycle-changed": {}, "kehu:timeline-changed": {}})
            return response
    return _lifecycle_response(request, customer, form)


# ---------------------------------------------------------------- lifecycle stage settings


class StageForm(forms.ModelForm):
    class Meta:
        model = LifecycleStage
        fields = ["key", "name", "is_active", "is_lead", "is_won", "is_lost", "allowed_next"]
        widgets = {"allowed_next": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        others = LifecycleStage.objects.order_by("order", "id")
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("The key stays as it was made (integrations use it).")
        else:
            self.fields["key"].help_text = _("Lowercase letters, digits, - and _; used by the API and imports.")
        self.fields["allowed_next"].queryset = others  # type: ignore[attr-defined]
        self.fields["allowed_next"].label_from_instance = lambda stage: stage.display_name  # type: ignore[attr-defined]

    def _post_clean(self) -> None:
        pass  # the service validates the model (with its own rules) and saves


def _require_stage_admin(request: HttpRequest) -> None:
    if not configuration.can_configure_stages(request.user):
        raise PermissionDenied


@login_required
def lifecycle_settings(request: HttpRequest) -> HttpResponse:
    """The stages in order with how many customers are at each; a new stage."""
    _require_stage_admin(request)
    form = StageForm(request.POST or None)
    saved = _saved(
        request,
        form,
        configuration.stage_create,
        lambda stage: _("Stage “%(name)s” added.") % {"name": stage.display_name},
        "lifecycle_settings",
    )
    if saved is not None:
        return saved
    stages = (
        LifecycleStage.objects.order_by("order", "id")
        .prefetch_related("allowed_next")
        .annotate(customer_count=Count("customers", filter=Q(customers__deleted_at__isnull=True)))
    )
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "customers/settings/lifecycle.html", {"stages": stages, "form": form}, status=status)


@login_required
def lifecycle_stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_stage_admin(request)
    stage = get_object_or_404(LifecycleStage, pk=pk)
    form = StageForm(request.POST or None, instance=stage)
    saved = _saved(
        request,
        form,
        lambda ctx, data: configuration.stage_update(ctx, stage, _without_key(data)),
        lambda _saved_stage: _("Stage “%(name)s” saved.") % {"name": stage.display_name},
        "lifecycle_settings",
    )
    if saved is not None:
        return saved
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "customers/settings/lifecycle_edit.html", {"stage": stage, "form": form}, status=status)


@login_required
@require_POST
def lifecycle_stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    _require_stage_admin(request)
    stage = get_object_or_404(LifecycleStage, pk=pk)
    configuration.stage_move(Context.from_request(request), stage, -1 if request.POST.get("direction") == "up" else 1)
    return HttpResponseRedirect(reverse("lifecycle_settings"))


def _without_key(data: dict[str, Any]) -> dict[str, Any]:
    """Form data without the key, which cannot change once made."""
    return {name: value for name, value in data.items() if name != "key"}


def _saved(
    request: HttpRequest,
    form: forms.BaseForm,
    save: Callable[[Context, dict[str, Any]], Any],
    message: Callable[[Any], str],
    redirect_to: str,
) -> HttpResponse | None:
    """A posted settings form through its service: the redirect after a save, or ``None`` to
    render the form again (with the service's errors on it)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        saved = save(Context.from_request(request), form.cleaned_data)
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    messages.success(request, message(saved))
    return HttpResponseRedirect(reverse(redirect_to))


# ---------------------------------------------------------------- grade settings


class GradeForm(forms.ModelForm):
    class Meta:
        model = Grade
        fields = ["key", "name", "description", "min_amount", "min_orders", "max_days_since_last"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key"].disabled = True

    def _post_clean(self) -> None:
        pass  # the service validates and saves


def _require_grade_admin(request: HttpRequest) -> None:
    if not configuration.can_configure_grades(request.user):
        raise PermissionDenied


@login_required
def grade_settings(request: HttpRequest) -> HttpResponse:
    _require_grade_admin(request)
    form = GradeForm(request.POST or None)
    saved = _saved(
        request,
        form,
        configuration.grade_create,
        lambda grade: _("Grade “%(name)s” added.") % {"name": grade.name},
        "grade_settings",
    )
    if saved is not None:
        return saved
    grades = Grade.objects.order_by("order", "id").annotate(
        customer_count=Count("customers", filter=Q(customers__deleted_at__isnull=True))
    )
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "customers/settings/grades.html", {"grades": grades, "form": form}, status=status)


@login_required
def grade_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_grade_admin(request)
    grade = get_object_or_404(Grade, pk=pk)
    form = GradeForm(request.POST or None, instance=grade)
    saved = _saved(
        request,
        form,
        lambda ctx, data: configuration.grade_update(ctx, grade, _without_key(data)),
        lambda _saved_grade: _("Grade “%(name)s” saved.") % {"name": grade.name},
        "grade_settings",
    )
    if saved is not None:
        return saved
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "customers/settings/grade_edit.html", {"grade": grade, "form": form}, status=status)


@login_required
@require_POST
def grade_move(request: HttpRequest, pk: int) -> HttpResponse:
    _require_grade_admin(request)
    grade = get_object_or_404(Grade, pk=pk)
    configuration.grade_move(Context.from_request(request), grade, -1 if request.POST.get("direction") == "up" else 1)
    return HttpResponseRedirect(reverse("grade_settings"))


@login_required
@require_POST
def grade_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_grade_admin(request)
    grade = get_object_or_404(Grade, pk=pk)
    name = grade.name
    try:
        configuration.grade_delete(Context.from_request(request), grade)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Grade “%(name)s” deleted.") % {"name": name})
    return HttpResponseRedirect(reverse("grade_settings"))
