"""Reading what an export holds: the cells of the records a list's query selects
(``platform.selectors.list_query`` / ``list_rows``, which the list page itself uses), streamed
in chunks. The download, the background job, the CLI and the vCard export share these
functions, so an export always holds what the user sees in the list, and never a row more."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import customfields, display, selectors
from kehu.platform.errors import NotVisible
from kehu.platform.fields import EncryptedField
from kehu.platform.records import RecordType
from kehu.platform.selectors import ListQuery, available_columns

from .models import ExportJob

CHUNK_ROWS = 2000  # rows read (and custom-field references looked up) per database round trip

Cell = str | int | decimal.Decimal | float | datetime.date | datetime.datetime


def header(query: ListQuery) -> list[str]:
    return [display.field_label(query.rt, column) for column in query.columns]


def iter_records(user: Any, query: ListQuery, queryset: QuerySet) -> Iterator[Any]:
    """The records of ``queryset`` in chunks, with the names of linked users and records their
    custom fields point to looked up once per chunk (as ``user`` may see them)."""
    return customfields.iter_with_refs(
        query.rt, queryset.iterator(chunk_size=CHUNK_ROWS), query.columns, user, batch=CHUNK_ROWS
    )


def _local(value: Any) -> Any:
    if value is None:
        return ""
    return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value


def _shown(column: str) -> Callable[[Any], Cell]:
    return lambda obj: display.display_value(obj, column)


def cell_reader(rt: RecordType, column: str) -> Callable[[Any], Cell]:
    """How to read ``column`` of a record as a spreadsheet should hold it: dates as dates (local
    time, without a zone, which XLSX cannot hold), numbers and money amounts as numbers,
    everything else (choices, links, phones, booleans, tags, custom fields) as the text the list
    shows. Decided once per column, not per cell."""
    if customfields.is_custom(column):
        return _shown(column)
    try:
        model_field = rt.model_field(column)
    except FieldDoesNotExist:
        return _shown(column)
    if model_field.choices or isinstance(model_field, EncryptedField | models.BooleanField) or model_field.is_relation:
        return _shown(column)
    if isinstance(model_field, models.DateTimeField):
        return lambda obj: _local(getattr(obj, column))
    if isinstance(model_field, models.DateField):
        return lambda obj: getattr(obj, column) or ""
    if isinstance(model_field, models.DecimalField | models.IntegerField | models.FloatField) and not isinstance(
        model_field, models.AutoField | models.BigAutoField
    ):
        return lambda obj: "" if getattr(obj, column) is None else getattr(obj, column)
    return _shown(column)


def export_rows(user: Any, query: ListQuery, queryset: QuerySet) -> Iterator[list[Cell]]:
    """The typed cells of each record, streamed."""
    readers = [cell_reader(query.rt, column) for column in query.columns]
    for obj in iter_records(user, query, queryset):
        yield [read(obj) for read in readers]


def check_columns(rt: RecordType, columns: list[str]) -> None:
    """Raises ValidationError naming the columns ``rt`` has not (the CLI's strict check; the
    list page silently ignores them)."""
    allowed = available_columns(rt)
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise ValidationError(
            {
                "columns": _("Unknown column: %(columns)s. Choose from: %(allowed)s.")
                % {"columns": ", ".join(unknown), "allowed": ", ".join(allowed)}
            }
        )


def check_filters(rt: RecordType, user: Any, filters: dict[str, str]) -> None:
    """Raises ValidationError naming the filters ``rt`` has not."""
    known = set(selectors.filterset(rt, user=user, data=None, queryset=rt.model.objects.none()).filters)
    unknown = [name for name in filters if name not in known]
    if unknown:
        raise ValidationError(
            {
                "filters": _("Unknown filter: %(filters)s. Choose from: %(allowed)s.")
                % {"filters": ", ".join(unknown), "allowed": ", ".join(sorted(known))}
            }
        )


def export_jobs_for(user: Any) -> QuerySet[ExportJob]:
    """The exports ``user`` started, newest first."""
    return ExportJob.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def export_job_get(user: Any, pk: Any) -> ExportJob:
    """One of ``user``'s own exports; anybody else's (an admin's included) is NotVisible."""
    try:
        return ExportJob.objects.get(pk=pk, user_id=user.pk)
    except (ExportJob.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None
