"""How custom values read: in list columns, CSV exports, the detail page and the history.

Users and linked records are shown by name. Lists and exports look the names up for a whole
page (or batch) at once with ``attach_refs``/``iter_with_refs``; a linked record the viewer may
not see shows as hidden, never by name.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from kehu.platform.customfields.definitions import PREFIX, Kind, by_name, definitions, memo, sections
from kehu.platform.customfields.values import choice_label
from kehu.platform.models import CustomField
from kehu.platform.phones import format_phone

REFS_ATTR = "_kehu_custom_refs"
REF_KINDS = (Kind.USER, Kind.LINK)


def format_money(value: Any) -> str:
    from babel.numbers import format_currency

    try:
        amount = decimal.Decimal(str(value["amount"]))
        return str(format_currency(amount, value["currency"], locale=to_locale(get_language() or "en")))
    except (KeyError, TypeError, ValueError, decimal.InvalidOperation, AttributeError):
        return str(value)


def _format_datetime(value: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    if timezone.is_naive(moment):
        return str(value)
    return str(formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT"))


def _format_date(value: str) -> str:
    try:
        return str(formats.date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT"))
    except (TypeError, ValueError):
        return str(value)


def format_value(definition: CustomField, value: Any, ref: tuple[str, str] | None = None) -> str:
    """``value`` (as stored) the way a person reads it; ``ref`` is the (name, url) of a user or
    linked record already looked up."""
    if value is None or value == "" or value == []:
        return ""
    kind = definition.kind
    if kind == Kind.BOOLEAN:
        return _("Yes") if value else _("No")
    if kind == Kind.MONEY:
        return format_money(value)
    if kind == Kind.DATE:
        return _format_date(value)
    if kind == Kind.DATETIME:
        return _format_datetime(value)
    if kind == Kind.CHOICE:
        return choice_label(definition, value)
    if kind == Kind.MULTI_CHOICE:
        items = value if isinstance(value, list) else [value]
        return ", ".join(choice_label(definition, item) for item in items)
    if kind == Kind.PHONE:
        return format_phone(str(value))
    if kind == Kind.DECIMAL:
        try:
            return str(formats.number_format(decimal.Decimal(str(value))))
        except (ValueError, decimal.InvalidOperation):
            return str(value)
    if kind in REF_KINDS:
        return (ref or _lookup(definition, value, None))[0]
    return str(value)


def _user_refs(ids: set[int]) -> dict[int, tuple[str, str]]:
    from django.contrib.auth import get_user_model

    users = get_user_model()._default_manager.filter(pk__in=ids)
    return {user.pk: (str(user), "") for user in users}


def _link_refs(target_key: str, ids: set[int], viewer: Any) -> dict[int, tuple[str, str]]:
    """Names and addresses of linked records: only those ``viewer`` may see (``None``: all,
    for the history, which shows what was recorded)."""
    from kehu.platform.access import visible_to
    from kehu.platform.records import registry

    target = registry.get(target_key)
    if target is None:
        return {}
    queryset = target.model.objects.filter(pk__in=ids)
    if viewer is not None:
        queryset = visible_to(viewer, queryset, target)
    return {obj.pk: (str(obj), obj.get_absolute_url()) for obj in queryset}


def _missing(definition: CustomField, pk: Any) -> tuple[str, str]:
    if definition.kind == Kind.LINK:
        return (_("Hidden or deleted record"), "")
    return (_("Unknown user (%(id)s)") % {"id": pk}, "")


def _lookup(definition: CustomField, value: Any, viewer: Any) -> tuple[str, str]:
    """One user or linked record by id, remembered for the rest of the request."""
    store = memo()
    key = ("ref", definition.kind, definition.target, value, getattr(viewer, "pk", None))
    if store is not None and key in store:
        return store[key]  # type: ignore[no-any-return]
    ids = {value} if isinstance(value, int) else set()
    found = _user_refs(ids) if definition.kind == Kind.USER else _link_refs(definition.target, ids, viewer)
    ref = found.get(value) or _missing(definition, value)
    if store is not None:
        store[key] = ref
    return ref


def attach_refs(rt: Any, objs: list[Any], columns: Iterable[str], viewer: Any) -> list[Any]:
    """Look up, in one query per field, the users and linked records that ``columns`` show for
    ``objs``; returns ``objs``."""
    known = by_name(rt.key)
    wanted = [
        known[column[len(PREFIX) :]]
        for column in columns
        if column.startswith(PREFIX) and column[len(PREFIX) :] in known
    ]
    wanted = [definition for definition in wanted if definition.kind in REF_KINDS]
    for obj in objs:
        if not hasattr(obj, REFS_ATTR):
            setattr(obj, REFS_ATTR, {})
    for definition in wanted:
        stored = [(obj.custom or {}).get(definition.name) for obj in objs]
        ids: set[int] = {pk for pk in stored if isinstance(pk, int) and not isinstance(pk, bool)}
        found = _user_refs(ids) if definition.kind == Kind.USER else _link_refs(definition.target, ids, viewer)
        for obj in objs:
            pk = (obj.custom or {}).get(definition.name)
            if pk is not None:
                getattr(obj, REFS_ATTR)[definition.name] = found.get(pk) or _missing(definition, pk)
    return objs


def iter_with_refs(rt: Any, objs: Iterable[Any], columns: list[str], viewer: Any, batch: int = 2000) -> Iterator[Any]:
    """``objs`` (e.g. a queryset iterator for an export) with ``attach_refs`` run per batch."""
    iterator = iter(objs)
    while chunk := list(islice(iterator, batch)):
        yield from attach_refs(rt, chunk, columns, viewer)


def _ref_for(obj: Any, definition: CustomField, viewer: Any) -> tuple[str, str] | None:
    if definition.kind not in REF_KINDS:
        return None
    value = (obj.custom or {}).get(definition.name)
    if value is None:
        return None
    refs = getattr(obj, REFS_ATTR, {})
    if definition.name in refs:
        return refs[definition.name]  # type: ignore[no-any-return]
    return _lookup(definition, value, viewer)


def column_value(rt: Any, obj: Any, column: str, viewer: Any = None) -> str:
    """A ``custom.<name>`` list or export cell."""
    definition = by_name(rt.key).get(column[len(PREFIX) :])
    if definition is None:
        return ""
    value = (getattr(obj, "custom", None) or {}).get(definition.name)
    if value is None:
        return ""
    ref = getattr(obj, REFS_ATTR, {}).get(definition.name)
    if ref is None and definition.kind == Kind.LINK and viewer is None:
        return _("Hidden or deleted record")  # never name a record without knowing who looks
    return format_value(definition, value, ref)


def column_label(rt: Any, column: str) -> str:
    definition = by_name(rt.key).get(column[len(PREFIX) :])
    return definition.label if definition is not None else column[len(PREFIX) :]


def detail_sections(rt: Any, obj: Any, viewer: Any) -> list[dict[str, Any]]:
    """The active custom fields of ``obj`` by section, for the detail page: each item has its
    label, readable value, help text, a link (for linked records the viewer may see, URLs and
    emails) and its key."""
    found = definitions(rt.key)
    links = [d for d in found if d.kind in REF_KINDS]
    if links:
        attach_refs(rt, [obj], [f"{PREFIX}{d.name}" for d in links], viewer)
    result = []
    for title, fields in sections(found):
        items = []
        for definition in fields:
            value = (obj.custom or {}).get(definition.name)
            ref = _ref_for(obj, definition, viewer)
            url = ""
            if ref is not None:
                url = ref[1]
            elif definition.kind == Kind.URL and value:
                url = str(value)
            elif definition.kind == Kind.EMAIL and value:
                url = f"mailto:{value}"
            items.append(
                {
                    "label": definition.label,
                    "value": format_value(definition, value, ref),
                    "url": url,
                    "help_text": definition.help_text,
                    "name": definition.name,
                    "kind": definition.kind,
                }
            )
        result.append({"title": title, "items": items})
    return result


def history_change(model: Any, name: str, before: Any, after: Any) -> tuple[str, str, str]:
    """A ``custom.<name>`` change from an audit entry: the field's label and both values as a
    person reads them."""
    from kehu.platform.records import registry

    rt = registry.for_model_or_none(model) if model is not None else None
    key = name[len(PREFIX) :]
    definition = by_name(rt.key).get(key) if rt is not None else None
    if definition is None:
        return (key, _readable(before), _readable(after))

    def show(value: Any) -> str:
        if value is None or value == "" or value == []:
            return "—"
        ref = _lookup(definition, value, None) if definition.kind in REF_KINDS else None
        return format_value(definition, value, ref) or "—"

    return (definition.label, show(before), show(after))


def _readable(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)
