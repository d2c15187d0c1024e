"""Reading records: every list, detail, search and export starts from ``visible_to``."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from kehu.platform import customfields, display
from kehu.platform import tags as record_tags
from kehu.platform.access import visible_to
from kehu.platform.errors import NotVisible
from kehu.platform.fields import EncryptedField, PhoneField, encrypted_filter, encrypted_lookup_q, unseal_query
from kehu.platform.phones import normalize_phone
from kehu.platform.records import RecordType, registry, related_model
from kehu.platform.search.query import matching_ids
from kehu.platform.widgets import RecordPicker

_filtersets: dict[str, type[django_filters.FilterSet]] = {}


def filterset_for(rt: RecordType) -> type[django_filters.FilterSet]:
    """The filters of a record type, shared by the web list and the API list.

    Free-text fields match a part of the value; choices, booleans and links match exactly;
    encrypted fields match the whole value written in any format (a phone number that does not
    parse, or an invalid email address, is a validation error naming the filter).
    """
    if rt.key in _filtersets:
        return _filtersets[rt.key]
    declared: dict[str, Any] = {}
    exact: list[str] = []
    for name in rt.filter_fields:
        field = rt.model_field(name)
        if isinstance(field, EncryptedField):  # any format, exact match through the blind index
            declared[name] = encrypted_filter(field)
        elif isinstance(field, models.CharField | models.TextField) and not field.choices:
            declared[name] = django_filters.CharFilter(
                field_name=name, lookup_expr="icontains", label=field.verbose_name
            )
        else:
            exact.append(name)
    meta = type("Meta", (), {"model": rt.model, "fields": exact})
    declared.update(record_tags.list_filters(rt))  # every record type: tags=a,b&tags_match=any|all
    declared.update({name: copy.deepcopy(extra) for name, extra in rt.extra_filters.items()})
    filterset = type(f"{rt.model.__name__}FilterSet", (django_filters.FilterSet,), {"Meta": meta, **declared})
    _filtersets[rt.key] = filterset
    return filterset


def query_filters(query: Any, skip: Iterable[str] = ()) -> dict[str, str]:
    """The filter parameters of a list URL (a QueryDict) without ``skip`` and empty values; a
    parameter given more than once (a multiple choice such as ``tags``) is joined with commas,
    the form the API takes."""
    params: dict[str, str] = {}
    for key in query:
        values = [value for value in query.getlist(key) if value != ""]
        if key not in skip and values:
            params[key] = ",".join(values)
    return params


def filterset(rt: RecordType, *, user: Any, data: Mapping[str, Any] | None, queryset: QuerySet) -> Any:
    """The record type's filters for ``user``: a filter on a related record offers, and
    accepts, only records the user may see (another team's customer id is as unknown as a
    missing one)."""
    bound = filterset_for(rt)(data=data, queryset=queryset)
    for filter_ in bound.filters.values():
        if isinstance(filter_, django_filters.ModelChoiceFilter):
            target = registry.for_model_or_none(filter_.queryset.model) if filter_.queryset is not None else None
            if target is not None:
                filter_.queryset = visible_to(user, target.model.objects.all(), target)
                filter_.extra.setdefault("widget", RecordPicker(target.plural))  # a search box past a hundred
    return customfields.add_filters(rt, bound, user=user)  # cf_<name>, cf_<name>_min/_max


def search_q(rt: RecordType, text: str) -> Q:
    """Rows whose search fields contain ``text`` or whose search document holds its words
    (pinyin of the name, notes, tags, custom text: what the global search finds); phone
    fields also match the normalized number; encrypted fields match only their whole value,
    through the blind index."""
    condition = Q(pk__in=[])  # matches nothing until a field adds a condition
    with contextlib.suppress(ValidationError):  # a query the index refuses: the field matches stand
        indexed = matching_ids(rt, text)
        if indexed is not None:
            condition |= Q(pk__in=indexed)
    for name in rt.search_fields:
        field = rt.model_field(name)
        if isinstance(field, EncryptedField):
            continue  # see encrypted_lookup_q below
        condition |= Q(**{f"{name}__icontains": text})
        if isinstance(field, PhoneField):
            with contextlib.suppress(ValidationError):  # not a phone number: the substring match stands
                condition |= Q(**{name: normalize_phone(text)})
    encrypted = encrypted_lookup_q(rt, text)
    if encrypted is not None:
        condition |= encrypted
    return condition | customfields.search_q(rt, text)  # textual custom fields


def ordering_for(rt: RecordType, ordering: str | None) -> list[str]:
    """``ordering`` checked against the sortable columns; raises ValidationError."""
    if not ordering:
        return [rt.ordering, "-id"]
    name = ordering.removeprefix("-")
    if name not in rt.sortable:
        raise ValidationError(
            {
                "ordering": _("Cannot sort by %(field)s; choose one of: %(fields)s.")
                % {"field": name, "fields": ", ".join(rt.sortable)}
            }
        )
    field = rt.model_field(name)
    column = name
    if isinstance(field, models.ForeignKey):
        related = related_model(field)
        # by the related model's own order when it has one (lifecycle stages, grades)
        sort_by = "order" if any(f.name == "order" for f in related._meta.concrete_fields) else "name"
        column = f"{name}__{'username' if related._meta.label == 'accounts.User' else sort_by}"
    prefix = "-" if ordering.startswith("-") else ""
    return [f"{prefix}{column}", f"{prefix}id"]


def record_list(
    rt: RecordType,
    *,
    user: Any,
    params: Mapping[str, Any] | None = None,
    q: str = "",
    ordering: str | None = None,
    trash: bool = False,
) -> QuerySet:
    """The records ``user`` may see, filtered, searched and sorted. Raises ValidationError
    for a bad filter value or sort column."""
    nul = [name for name, value in {**(params or {}), "q": q}.items() if isinstance(value, str) and "\x00" in value]
    if nul:  # PostgreSQL cannot compare text with NUL; refused on every database alike
        raise ValidationError(dict.fromkeys(nul, ProhibitNullCharactersValidator.message))
    manager = rt.model.all_objects
    queryset: QuerySet = manager.filter(deleted_at__isnull=False) if trash else manager.filter(deleted_at__isnull=True)
    queryset = visible_to(user, queryset, rt)
    if params:
        bound = filterset(rt, user=user, data=params, queryset=queryset)
        if not bound.is_valid():
            raise ValidationError(dict(bound.errors.items()))
        queryset = bound.qs
    if q.strip():
        queryset = queryset.filter(search_q(rt, q.strip()))
    if rt.select_related:
        queryset = queryset.select_related(*rt.select_related)
    if rt.prefetch_related:
        queryset = queryset.prefetch_related(*rt.prefetch_related)
    return queryset.order_by(*ordering_for(rt, ordering))


LOOKUP_LIMIT = 20


def record_lookup(rt: RecordType, *, user: Any, q: str = "", limit: int = LOOKUP_LIMIT) -> list[dict[str, Any]]:
    """The records ``user`` may see that a record picker offers for ``q``: what the list's
    search finds (the first ``limit`` in the type's order; all records when ``q`` is empty),
    as ``{"id", "text", "number"}``. Raises ValidationError (a NUL in ``q``)."""
    return [
        {"id": obj.pk, "text": str(obj), "number": getattr(obj, "number", "") or ""}
        for obj in record_list(rt, user=user, q=q)[:limit]
    ]


def related_records(user: Any, obj: Any, child: Any) -> QuerySet:
    """The records of a child type (``child``: a ``records.Child`` of ``obj``'s type) linked to
    ``obj`` that ``user`` may see, newest first: a record page's related list."""
    child_rt = registry[child.key]
    rows = visible_to(user, child_rt.model.objects.filter(**{child.fk: obj}), child_rt)
    if child_rt.select_related:
        rows = rows.select_related(*child_rt.select_related)
    return rows.order_by(child_rt.ordering)


def record_get(rt: RecordType, *, user: Any, pk: Any, include_deleted: bool = False) -> Any:
    """One record ``user`` may see; raises NotVisible otherwise (also for a bad id)."""
    queryset: QuerySet = rt.model.all_objects.all()
    if not include_deleted:
        queryset = queryset.filter(deleted_at__isnull=True)
    queryset = visible_to(user, queryset, rt)
    if rt.select_related:
        queryset = queryset.select_related(*rt.select_related)
    if rt.prefetch_related:
        queryset = queryset.prefetch_related(*rt.prefetch_related)
    try:
        return queryset.get(pk=pk)
    except (rt.model.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


# ---------------------------------------------------------------- a list page's query

# The list page's own parameters; every other one is a filter.
LIST_PARAMS = frozenset({"q", "sort", "page", "per_page", "cols", "view"})


@dataclass
class ListQuery:
    """What a list shows: the parsed query string of a list page (the page itself, its
    exports, a background export job and ``kehu export`` read the same records through it)."""

    rt: RecordType
    filters: dict[str, str] = field(default_factory=dict)
    q: str = ""
    ordering: str | None = None
    columns: list[str] = field(default_factory=list)

    def query_string(self) -> str:
        """The query as a list URL's query string (filters, q, sort, cols), unsealed."""
        params = QueryDict(mutable=True)
        for key, value in self.filters.items():
            params[key] = value  # several values stay joined with commas, as the filters take them
        if self.q:
            params["q"] = self.q
        if self.ordering:
            params["sort"] = self.ordering
        params.setlist("cols", self.columns)
        return params.urlencode()


def available_columns(rt: RecordType) -> list[str]:
    """The columns a list of ``rt`` can show: the record type's own and its active custom
    fields (``custom.<name>``)."""
    return [*rt.all_columns(), *customfields.column_keys(rt)]


def list_query(rt: RecordType, params: QueryDict | str) -> ListQuery:
    """A list URL's query: sealed values (a saved view's) opened, paging and view parameters
    dropped, unknown columns ignored, the record type's list columns when none are chosen."""
    if isinstance(params, str):
        params = QueryDict(params)
    params = unseal_query(params)
    allowed = available_columns(rt)
    columns = [c for c in params.getlist("cols") if c in allowed]
    return ListQuery(
        rt=rt,
        filters=query_filters(params, LIST_PARAMS),
        q=params.get("q", ""),
        ordering=params.get("sort") or None,
        columns=columns or list(rt.list_columns),
    )


def list_rows(user: Any, query: ListQuery) -> QuerySet:
    """The records ``user`` may see that ``query`` selects, with what its columns show fetched
    along. Raises ValidationError for a bad filter value or sort column."""
    queryset = record_list(query.rt, user=user, params=query.filters, q=query.q, ordering=query.ordering)
    related = display.related_columns(query.rt, query.columns)
    if related:
        queryset = queryset.select_related(*related)
    return record_tags.with_tags(queryset, query.columns)
