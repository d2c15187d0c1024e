"""The settings page for custom fields (``/settings/custom-fields/``): admins list them per
record type, add and change them, reorder, deactivate and reactivate. Thin views: every change
goes through ``customfields.services``."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.platform.context import Context
from kehu.platform.customfields import services
from kehu.platform.customfields.definitions import Kind
from kehu.platform.models import CustomField
from kehu.platform.records import registry
from kehu.platform.views import add_service_errors


def _record_type_choices() -> list[tuple[str, str]]:
    return [(rt.key, capfirst(str(rt.label))) for rt in registry]


class CustomFieldForm(forms.Form):
    """A definition as an admin types it; ``service_data`` turns the text of choices and the
    default into what the service validates."""

    record_type = forms.ChoiceField(label=gettext_lazy("Record type"))
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100)
    name = forms.CharField(
        label=gettext_lazy("Key"),
        max_length=50,
        help_text=gettext_lazy(
            "Lower-case letters, digits and “_”; used in the API and in imports. Cannot change later."
        ),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=CustomField.Kind.choices)
    choices = forms.CharField(
        label=gettext_lazy("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "For choice types: one per line, as “value | label” (the value is used in the API: letters, digits, "
            "“_” or “-”) or just the label."
        ),
    )
    target = forms.ChoiceField(
        label=gettext_lazy("Linked record type"),
        required=False,
        help_text=gettext_lazy("For links: the type of record this field points to."),
    )
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    default = forms.CharField(
        label=gettext_lazy("Default"),
        required=False,
        max_length=255,
        help_text=gettext_lazy(
            "Set on new records when no value is given. Written like an import value: 2026-03-01, true, "
            "12.50 CNY, several choices separated by commas."
        ),
    )
    help_text = forms.CharField(label=gettext_lazy("Help text"), required=False, max_length=255)
    section = forms.CharField(
        label=gettext_lazy("Section"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Fields with the same section are shown together under this heading."),
    )
    order = forms.IntegerField(
        label=gettext_lazy("Order"),
        required=False,
        min_value=0,
        help_text=gettext_lazy("Smaller numbers come first; empty puts a new field last."),
    )

    def __init__(self, *args: Any, instance: CustomField | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", initial_for(instance))
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["record_type"]).choices = _record_type_choices()
        cast("forms.ChoiceField", self.fields["target"]).choices = [("", "---------"), *_record_type_choices()]
        if instance is not None:
            for name in ("record_type", "name"):
                self.fields[name].disabled = True

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["choices"] = parse_choices(data.get("choices") or "")
        data["default"] = (data.get("default") or "").strip() or None
        data["target"] = data.get("target") or ""
        if data.get("order") is None:
            data.pop("order")
        if self.instance is not None:
            data.pop("record_type")
            data.pop("name")
        return data


def parse_choices(text: str) -> list[dict[str, str]]:
    """``value | label`` lines (or just labels) as the choices list; a label alone gets a value
    made from it (``Key account`` → ``key-account``, or ``choice-2`` for text with no Latin
    letters)."""
    choices = []
    for number, line in enumerate((line.strip() for line in text.splitlines() if line.strip()), start=1):
        if "|" in line:
            value, label = (part.strip() for part in line.split("|", 1))
        else:
            label = line
            value = slugify(line)[:100] or f"choice-{number}"
        choices.append({"value": value, "label": label or value})
    return choices


def initial_for(field: CustomField) -> dict[str, Any]:
    return {
        "record_type": field.record_type,
        "name": field.name,
        "label": field.label,
        "kind": field.kind,
        "choices": "\n".join(f"{c['value']} | {c.get('label') or c['value']}" for c in field.choices or []),
        "target": field.target,
        "required": field.required,
        "default": default_text(field),
        "help_text": field.help_text,
        "section": field.section,
        "order": field.order,
    }


def default_text(field: CustomField) -> str:
    value = field.default
    if value is None:
        return ""
    if field.kind == Kind.MONEY and isinstance(value, dict):
        return f"{value.get('amount', '')} {value.get('currency', '')}".strip()
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _require_manager(request: HttpRequest) -> None:
    if not services.can_manage(request.user):
        raise PermissionDenied


@login_required
def customfield_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    fields = list(CustomField.objects.order_by("record_type", "order", "id"))
    groups = []
    for rt in registry:
        own = [field for field in fields if field.record_type == rt.key]
        groups.append({"rt": rt, "fields": own})
    context = {
        "groups": groups,
        "can_add": request.user.has_perm("platform.add_customfield"),
        "can_change": request.user.has_perm("platform.change_customfield"),
        "targets": {rt.key: capfirst(str(rt.label)) for rt in registry},
    }
    return render(request, "platform/customfield_list.html", context)


@login_required
def customfield_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("platform.add_customfield"):
        raise PermissionDenied
    initial = {"record_type": request.GET.get("record_type", "")}
    form = CustomFieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.customfield_create(ctx=Context.from_request(request), data=form.service_data())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Custom field “%(label)s” added.") % {"label": field.label})
            return HttpResponseRedirect(f"{reverse('customfield_list')}#type-{field.record_type}")
    return _render_form(request, form, None)


@login_required
def customfield_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("platform.change_customfield"):
        raise PermissionDenied
    field = get_object_or_404(CustomField, pk=pk)
    form = CustomFieldForm(request.POST or None, instance=field)
    if request.method == "POST" and form.is_valid():
        try:
            services.customfield_update(ctx=Context.from_request(request), field=field, data=form.service_data())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Custom field “%(label)s” saved.") % {"label": field.label})
            return HttpResponseRedirect(f"{reverse('customfield_list')}#type-{field.record_type}")
    return _render_form(request, form, field)


def _render_form(request: HttpRequest, form: CustomFieldForm, field: CustomField | None) -> HttpResponse:
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "platform/customfield_form.html", {"form": form, "field": field}, status=status)


@login_required
@require_POST
def customfield_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("platform.change_customfield"):
        raise PermissionDenied
    field = get_object_or_404(CustomField, pk=pk)
    active = request.POST.get("active") == "1"
    services.customfield_set_active(ctx=Context.from_request(request), field=field, active=active)
    if active:
        messages.success(request, _("Custom field “%(label)s” is in use again.") % {"label": field.label})
    else:
        messages.success(
            request,
            _("Custom field “%(label)s” deactivated; the values stay in the records.") % {"label": field.label},
        )
    return HttpResponseRedirect(f"{reverse('customfield_list')}#type-{field.record_type}")


@login_required
@require_POST
def customfield_move(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("platform.change_customfield"):
        raise PermissionDenied
    field = get_object_or_404(CustomField, pk=pk)
    step = -1 if request.POST.get("direction") == "up" else 1
    services.customfield_move(ctx=Context.from_request(request), field=field, step=step)
    return HttpResponseRedirect(f"{reverse('customfield_list')}#type-{field.record_type}")
