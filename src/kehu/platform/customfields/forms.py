"""Custom fields in record forms: one form field per active definition, after the model's
fields, grouped by section. Each field's ``clean`` is the same ``clean_value`` the services run,
so the form and the API accept and refuse the same values with the same messages."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform.customfields.definitions import PREFIX, Kind, definitions, sections
from kehu.platform.customfields.filters import link_choices
from kehu.platform.customfields.values import (
    LONG_TEXT_MAX,
    TEXT_MAX,
    URL_MAX,
    clean_value,
    currencies,
    default_currency,
    is_empty,
    required_message,
)
from kehu.platform.models import CustomField

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
USER_CHOICES_LIMIT = 500


class MoneyWidget(forms.MultiWidget):
    """Amount and currency side by side; the default currency first."""

    template_name = "platform/widgets/custom_money.html"

    def __init__(self) -> None:
        codes = sorted(currencies())
        choices = [(code, code) for code in [default_currency(), *(c for c in codes if c != default_currency())]]
        super().__init__(
            widgets=[
                forms.NumberInput(attrs={"step": "any", "inputmode": "decimal", "class": "form-control"}),
                forms.Select(choices=choices, attrs={"class": "form-select", "style": "max-width: 7rem"}),
            ]
        )

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [value.get("amount", ""), value.get("currency") or default_currency()]
        return ["", default_currency()]


class LinkRecordSelect(forms.Select):
    """Records of the link's type the user may see: the most recently changed ones (bounded) and
    the current value."""

    def __init__(self, definition: CustomField, user: Any) -> None:
        super().__init__(attrs={"class": "form-select"})
        self.definition, self.user = definition, user

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        self.choices = link_choices(self.definition, self.user, value)
        return super().get_context(name, value, attrs)


class UserSelect(forms.Select):
    """Active users (bounded), and the chosen one even if deactivated since; read when drawn."""

    def __init__(self) -> None:
        super().__init__(attrs={"class": "form-select"})

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        from django.contrib.auth import get_user_model

        manager = get_user_model()._default_manager
        users = list(manager.filter(is_active=True).order_by("username")[:USER_CHOICES_LIMIT])
        if value not in (None, "") and str(value).isdigit() and int(value) not in {user.pk for user in users}:
            users.extend(manager.filter(pk=int(value)))
        self.choices = [("", "---------"), *((user.pk, str(user)) for user in users)]
        return super().get_context(name, value, attrs)


def _widget(definition: CustomField, user: Any) -> forms.Widget:
    kind = definition.kind
    if kind == Kind.TEXT:
        return forms.TextInput(attrs={"maxlength": TEXT_MAX})
    if kind == Kind.LONG_TEXT:
        return forms.Textarea(attrs={"rows": 3, "maxlength": LONG_TEXT_MAX})
    if kind == Kind.INTEGER:
        return forms.NumberInput(attrs={"step": 1})
    if kind == Kind.DECIMAL:
        return forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})
    if kind == Kind.MONEY:
        return MoneyWidget()
    if kind == Kind.DATE:
        return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    if kind == Kind.DATETIME:
        return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT)
    if kind == Kind.BOOLEAN:
        return forms.CheckboxInput()
    if kind == Kind.CHOICE:
        choices = [("", "---------")] + [(c["value"], c.get("label") or c["value"]) for c in definition.choices]
        return forms.Select(choices=choices)
    if kind == Kind.MULTI_CHOICE:
        choices = [(c["value"], c.get("label") or c["value"]) for c in definition.choices]
        return (
            forms.CheckboxSelectMultiple(choices=choices)
            if len(choices) <= 8
            else forms.SelectMultiple(choices=choices)
        )
    if kind == Kind.URL:
        return forms.URLInput(attrs={"maxlength": URL_MAX})
    if kind == Kind.EMAIL:
        return forms.EmailInput()
    if kind == Kind.PHONE:
        return forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})
    if kind == Kind.USER:
        return UserSelect()
    return LinkRecordSelect(definition, user)


class CustomValueField(forms.Field):
    """The form field of one custom field definition."""

    def __init__(self, definition: CustomField, user: Any, **kwargs: Any) -> None:
        self.definition, self.user = definition, user
        kwargs.setdefault("label", definition.label)
        kwargs.setdefault("help_text", definition.help_text)
        kwargs.setdefault("widget", _widget(definition, user))
        super().__init__(required=definition.required and definition.kind != Kind.BOOLEAN, **kwargs)

    def to_python(self, value: Any) -> Any:
        """The widget's data as ``clean_value`` takes it: date-time inputs carry no time zone, so
        they are read in the user's current time zone; money comes as amount and currency."""
        kind = self.definition.kind
        if kind == Kind.MONEY:
            amount, currency = [*value, "", ""][:2] if isinstance(value, list | tuple) else (value, "")
            return None if is_empty(amount) else {"amount": str(amount).strip(), "currency": currency or None}
        if kind == Kind.DATETIME and isinstance(value, str) and value.strip():
            text = value.strip()
            try:
                moment = datetime.datetime.fromisoformat(text)
            except ValueError:
                raise ValidationError(_("Enter a valid date and time."), code="invalid") from None
            return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
        return value

    def prepare_value(self, value: Any) -> Any:
        """A stored date-time (UTC) shown in the user's time zone."""
        if self.definition.kind == Kind.DATETIME and isinstance(value, str) and value.endswith("Z"):
            try:
                return timezone.localtime(datetime.datetime.fromisoformat(value)).strftime(DATETIME_INPUT)
            except ValueError:
                return value
        return value

    def clean(self, value: Any) -> Any:
        raw = self.to_python(value)
        stored = getattr(self, "stored", None)
        if self.definition.kind in (Kind.USER, Kind.LINK) and stored is not None and str(raw) == str(stored):
            return stored  # kept as it is, even if the user was deactivated or the record is hidden since
        if self.required and is_empty(raw):
            raise ValidationError(required_message(), code="required")
        return clean_value(self.definition, raw, user=self.user)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return bool(self.clean(data) != initial)
        except ValidationError:
            return True


def add_form_fields(form: forms.BaseForm, rt: Any, user: Any, instance: Any = None) -> list[str]:
    """Add ``rt``'s active custom fields to ``form`` (named ``custom.<name>``), with the record's
    values (or the defaults on a new record) as initial values; returns the names added."""
    stored = (getattr(instance, "custom", None) or {}) if instance is not None and instance.pk else None
    names = []
    for definition in definitions(rt.key):
        name = f"{PREFIX}{definition.name}"
        form.fields[name] = field = CustomValueField(definition, user)
        if stored is not None:
            field.stored = stored.get(definition.name)  # type: ignore[attr-defined]
            form.initial.setdefault(name, stored.get(definition.name))
        elif definition.default is not None:
            form.initial.setdefault(name, definition.default)
        names.append(name)
    return names


def form_sections(form: forms.BaseForm, names: list[str]) -> list[tuple[str, list[Any]]]:
    """The form's custom fields by section, as bound fields for the template."""
    found = [form.fields[name].definition for name in names if name in form.fields]  # type: ignore[attr-defined]
    return [(title, [form[f"{PREFIX}{d.name}"] for d in fields]) for title, fields in sections(found)]


def service_values(cleaned_data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The ``custom`` dictionary for the service from a form's cleaned data."""
    return {name[len(PREFIX) :]: cleaned_data.get(name) for name in names if name in cleaned_data}


def add_record_form_fields(form: Any) -> list[str]:
    """Add the custom fields of the form's record type to a ``RecordForm`` (its ``ctx`` set);
    returns their names (``custom.<name>``)."""
    from kehu.platform.records import registry

    rt = registry.for_model_or_none(form._meta.model)
    if rt is None:
        return []
    return add_form_fields(form, rt, form.ctx.user, form.instance)


def record_form_data(form: Any) -> dict[str, Any]:
    """``{"custom": {...}}`` for the service from a valid ``RecordForm`` (empty without custom
    fields)."""
    names = getattr(form, "custom_names", [])
    return {"custom": service_values(form.cleaned_data, names)} if names else {}
