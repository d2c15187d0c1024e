"""How record values read in lists, detail pages and exports."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kehu.platform.fields import PhoneField
from kehu.platform.phones import format_phone
from kehu.platform.records import RecordType


def field_label(rt: RecordType, name: str) -> str:
    try:
        return str(rt.model_field(name).verbose_name)
    except Exception:  # a computed column
        return name.replace("_", " ")


def raw_value(obj: Any, name: str) -> Any:
    """The value as stored (foreign keys as the related object)."""
    return getattr(obj, name, None)


def display_value(obj: Any, name: str) -> str:
    """The value as a person reads it: choice labels, local dates, formatted phones."""
    try:
        field = obj._meta.get_field(name)
    except Exception:
        value = getattr(obj, name, "")
        return "" if value is None else str(value)
    value = getattr(obj, name, None)
    if value is None or value == "":
        return ""
    if field.choices:
        return str(getattr(obj, f"get_{name}_display")())
    if isinstance(field, models.BooleanField):
        return _("Yes") if value else _("No")
    if isinstance(field, PhoneField):
        return format_phone(value)
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
