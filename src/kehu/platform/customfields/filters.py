"""Filtering and searching on custom values, for the web list, the CSV export and the API alike.

Query parameters are ``cf_<name>`` (text contains, choice or multiple choice has the value,
yes/no, user or linked record id) and ``cf_<name>_min`` / ``cf_<name>_max`` (inclusive range
for integers, decimals, dates and date-times — the latter by local date). The conditions read
the JSON with the database's own operators on SQLite and PostgreSQL alike; nothing is
filtered in Python.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import DecimalField, JSONField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.db.models.lookups import Exact, GreaterThanOrEqual, IContains, LessThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform.customfields.definitions import Kind, definitions
from kehu.platform.fields import custom_lookup_q
from kehu.platform.models import CustomField
from kehu.platform.records import registry

PARAM_PREFIX = "cf_"
TEXT_KINDS = (Kind.TEXT, Kind.LONG_TEXT, Kind.URL, Kind.EMAIL, Kind.PHONE)
RANGE_KINDS = (Kind.INTEGER, Kind.DECIMAL, Kind.DATE, Kind.DATETIME)
# What the global search indexes: text people type, and the labels of chosen values. Emails
# and phones are personal data and stay out of the index.
SEARCH_KINDS = (Kind.TEXT, Kind.LONG_TEXT, Kind.URL, Kind.CHOICE, Kind.MULTI_CHOICE)
PRIVATE_KINDS = (Kind.PHONE, Kind.EMAIL)  # stored encrypted (fields.CustomValuesField)
LINK_CHOICES_LIMIT = 200


def _text(name: str) -> KeyTextTransform:
    return KeyTextTransform(name, "custom")


def _number(name: str) -> Cast:
    return Cast(_text(name), DecimalField(max_digits=40, decimal_places=10))


def _utc_text(day: datetime.date) -> str:
    """Local midnight of ``day`` in the stored UTC form, for comparing date-times as text
    (stored date-times have one fixed format, so text order is time order)."""
    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(definition: CustomField, mode: str, value: Any) -> Any:
    """A filter condition on ``definition``'s values (``mode``: ``eq``, ``min`` or ``max``)."""
    name, kind = definition.name, definition.kind
    if mode == "min":
        if kind == Kind.DATE:
            return GreaterThanOrEqual(_text(name), value.isoformat())
        if kind == Kind.DATETIME:
            return GreaterThanOrEqual(_text(name), _utc_text(value))
        return GreaterThanOrEqual(_number(name), value)
    if mode == "max":
        if kind == Kind.DATE:
            return LessThanOrEqual(_text(name), value.isoformat())
        if kind == Kind.DATETIME:
            return LessThan(_text(name), _utc_text(value + datetime.timedelta(days=1)))
        return LessThanOrEqual(_number(name), value)
    if kind in PRIVATE_KINDS:  # encrypted: the whole value, in any format, through the blind index
        found = custom_lookup_q(registry[definition.record_type], value, names=[name])
        return found if found is not None else Q(pk__in=[])
    if kind in TEXT_KINDS:
        return IContains(_text(name), value)
    if kind == Kind.CHOICE:
        return Exact(_text(name), value)
    if kind == Kind.MULTI_CHOICE:
        # The list's JSON text contains the quoted value; choice values have no quotes.
        return IContains(_text(name), f'"{value}"')
    if kind == Kind.BOOLEAN:
        return _json_exact(name, bool(value))
    return _json_exact(name, int(getattr(value, "pk", value)))  # user, link


def _json_exact(name: str, value: Any) -> Q:
    """The JSON value under ``name`` equals ``value``: Django's key lookup, which compares JSON
    with JSON on every database (keys never collide with lookup names: see ``LOOKUP_NAMES``)."""
    return Q(**{f"custom__{name}": value})


# Names Django would read as a lookup after ``custom__``; refused as keys of custom fields.
LOOKUP_NAMES = frozenset(JSONField.get_lookups()) | frozenset(KeyTransform.get_lookups())


class CustomValueFilter(django_filters.Filter):
    """One ``cf_…`` parameter: its form field comes from the definition."""

    def __init__(self, *, definition: CustomField, mode: str, field: forms.Field, label: str) -> None:
        super().__init__(field_name="custom", label=label)
        self.definition = definition
        self.mode = mode
        self._field = field

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        return qs.filter(condition(self.definition, self.mode, value))


def _range_field(definition: CustomField) -> forms.Field:
    if definition.kind == Kind.INTEGER:
        return forms.IntegerField(required=False)
    if definition.kind == Kind.DECIMAL:
        return forms.DecimalField(required=False, max_digits=30, decimal_places=10)
    return forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _eq_field(definition: CustomField, user: Any) -> forms.Field | None:
    kind = definition.kind
    if kind in TEXT_KINDS:
        return forms.CharField(required=False, max_length=255)
    if kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        choices = [("", "---------")] + [
            (str(choice["value"]), str(choice.get("label") or choice["value"])) for choice in definition.choices
        ]
        return forms.ChoiceField(required=False, choices=choices)
    if kind == Kind.BOOLEAN:
        return forms.NullBooleanField(required=False, widget=forms.NullBooleanSelect)
    if kind == Kind.USER:
        from django.contrib.auth import get_user_model

        users = get_user_model()._default_manager.filter(is_active=True).order_by("username")
        return forms.ModelChoiceField(queryset=users, required=False, to_field_name="pk")
    if kind == Kind.LINK:
        return forms.IntegerField(required=False, min_value=1, widget=LinkSelect(definition, user))
    return None  # money: no filter


class LinkSelect(forms.Select):
    """A select of the most recently changed records the user may see (bounded), plus the one
    chosen; any id is accepted, the list only helps."""

    def __init__(self, definition: CustomField, user: Any) -> None:
        super().__init__()
        self.definition, self.user = definition, user

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        self.choices = link_choices(self.definition, self.user, value)
        return super().get_context(name, value, attrs)


def link_choices(definition: CustomField, user: Any, selected: Any = None) -> list[tuple[Any, str]]:
    """Up to ``LINK_CHOICES_LIMIT`` records of the link's target type that ``user`` may see,
    most recently changed first, and the ``selected`` one."""
    from kehu.platform.access import visible_to
    from kehu.platform.records import registry

    target = registry.get(definition.target)
    if target is None or user is None:
        return [("", "---------")]
    visible = visible_to(user, target.model.objects.all(), target)
    rows = list(visible.order_by("-updated_at", "-id")[:LINK_CHOICES_LIMIT])
    choices: list[tuple[Any, str]] = [("", "---------"), *((row.pk, str(row)) for row in rows)]
    if selected not in (None, "") and str(selected).isdigit() and int(selected) not in {row.pk for row in rows}:
        found = visible.filter(pk=int(selected)).first()
        # a record the user may not see keeps its place (unnamed), so saving the form keeps it
        choices.append((int(selected), str(found) if found is not None else _("Hidden or deleted record")))
    return choices


def filter_names(rt: Any) -> dict[str, tuple[CustomField, str]]:
    """Every ``cf_…`` parameter of ``rt``: name → (definition, mode)."""
    names: dict[str, tuple[CustomField, str]] = {}
    for definition in definitions(rt.key):
        if definition.kind in RANGE_KINDS:
            names[f"{PARAM_PREFIX}{definition.name}_min"] = (definition, "min")
            names[f"{PARAM_PREFIX}{definition.name}_max"] = (definition, "max")
        elif definition.kind != Kind.MONEY:
            names[f"{PARAM_PREFIX}{definition.name}"] = (definition, "eq")
    return names


def add_filters(rt: Any, bound: Any, *, user: Any) -> Any:
    """Add ``rt``'s custom field filters to a bound django-filter FilterSet (before its form
    or queryset is used); returns it."""
    for param, (definition, mode) in filter_names(rt).items():
        if mode == "eq":
            field = _eq_field(definition, user)
            label = definition.label
        else:
            field = _range_field(definition)
            label = (
                _("%(field)s from") % {"field": definition.label}
                if mode == "min"
                else _("%(field)s to") % {"field": definition.label}
            )
        if field is None:
            continue
        field.label = label
        bound.filters[param] = CustomValueFilter(definition=definition, mode=mode, field=field, label=label)
    return bound


def filter_params(rt: Any, query: Mapping[str, Any]) -> dict[str, Any]:
    """The ``cf_…`` parameters of an API list request; an unknown one is refused (422)."""
    known = filter_names(rt)
    found = {key: query[key] for key in query if key.startswith(PARAM_PREFIX)}
    unknown = [key for key in found if key not in known]
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, _("There is no custom field filter with this name.")))
    return found


def search_q(rt: Any, text: str) -> Q:
    """Records whose textual custom values contain ``text``, or whose phone or email custom
    value is ``text`` (for the list's search box)."""
    found = Q()
    for definition in definitions(rt.key):
        if definition.kind in (Kind.TEXT, Kind.LONG_TEXT, Kind.URL):
            found |= Q(IContains(_text(definition.name), text))
    private = custom_lookup_q(rt, text, names=[d.name for d in definitions(rt.key) if d.kind in PRIVATE_KINDS])
    return found if private is None else found | private


def search_text(rt: Any, obj: Any, found: list[CustomField] | None = None) -> str:
    """The searchable text of ``obj``'s custom values, one value per line: text, long text and
    URLs as written, choices by their labels. Emails and phones are left out (personal data).
    Pass ``found`` (the definitions) when indexing many records of one type."""
    from kehu.platform.customfields.values import choice_label

    values = getattr(obj, "custom", None) or {}
    lines = []
    for definition in definitions(rt.key) if found is None else found:
        if not definition.active or definition.kind not in SEARCH_KINDS:
            continue
        value = values.get(definition.name)
        if value in (None, "", []):
            continue
        if definition.kind == Kind.CHOICE:
            lines.append(choice_label(definition, value))
        elif definition.kind == Kind.MULTI_CHOICE:
            lines.extend(choice_label(definition, item) for item in (value if isinstance(value, list) else [value]))
        else:
            lines.append(str(value))
    return "\n".join(lines)


def describe_filter(definition: CustomField, mode: str) -> str:
    kind = definition.kind
    dated = kind in (Kind.DATE, Kind.DATETIME)
    if mode == "min":
        how = _("from this date (YYYY-MM-DD), inclusive") if dated else _("from this value, inclusive")
    elif mode == "max":
        how = _("up to this date (YYYY-MM-DD), inclusive") if dated else _("up to this value, inclusive")
    elif kind in PRIVATE_KINDS:
        how = _("is this value, in any format")
    elif kind in TEXT_KINDS:
        how = _("contains this text")
    elif kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        how = _("has this value")
    elif kind == Kind.BOOLEAN:
        how = "true / false"
    elif kind == Kind.USER:
        how = _("user id")
    else:
        how = _("id of the linked record")
    return f"{definition.label}: {how}"
