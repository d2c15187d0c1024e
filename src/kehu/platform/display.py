"""How record values read in lists, detail pages and exports."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kehu.platform import customfields
from kehu.platform.audit import sorted_names
from kehu.platform.fields import EncryptedField, PhoneField
from kehu.platform.phones import format_phone
from kehu.platform.records import RecordType, registry


def field_label(rt: RecordType, name: str) -> str:
    if customfields.is_custom(name):  # custom.<name>: the field's label
        return customfields.column_label(rt, name)
    try:
        return str(rt.model_field(name).verbose_name)
    except Exception:  # a computed column
        return name.replace("_", " ")


def has_field(model: Any, name: str) -> bool:
    """Does ``model`` have a field called ``name``?"""
    try:
        model._meta.get_field(name)
    except Exception:
        return False
    return True


def raw_value(obj: Any, name: str) -> Any:
    """The value as stored (foreign keys as the related object)."""
    return getattr(obj, name, None)


def display_value(obj: Any, name: str) -> str:
    """The value as a person reads it: choice labels, local dates, formatted phones."""
    if customfields.is_custom(name):  # custom.<name>; users and links looked up by attach_refs
        return customfields.column_value(registry.for_model(type(obj)), obj, name)
    try:
        field = obj._meta.get_field(name)
    except Exception:
        value = getattr(obj, name, "")
        return "" if value is None else str(value)
    value = getattr(obj, name, None)
    if value is None or value == "":
        return ""
    if isinstance(field, models.ManyToManyField):  # tags: names, fetched with the rows
        return ", ".join(sorted_names(value.all()))
    if field.choices:
        return str(getattr(obj, f"get_{name}_display")())
    if isinstance(field, models.BooleanField):
        return _("Yes") if value else _("No")
    if isinstance(field, PhoneField):
        return format_phone(value)
    if isinstance(field, EncryptedField):
        return field.display(value)  # decrypted when the record was read
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def related_columns(rt: RecordType, columns: list[str]) -> list[str]:
    """The foreign keys among ``columns``: fetched with the rows, never one query per row."""
    names = []
    for name in columns:
        try:
            field = rt.model_field(name)
        except FieldDoesNotExist:
            continue  # a computed column: nothing to fetch
        if isinstance(field, models.ForeignKey):
            names.append(name)
    return names
