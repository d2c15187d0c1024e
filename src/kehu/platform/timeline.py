"""One timeline per record (a customer's, for now) merging what every module knows about it.

Modules register what they contribute and never touch each other's code:

* a **source** is a record type whose records appear on the timelines of the records they
  name (an interaction on its customer's): its entries are kept in step with the records by
  the record events (created, updated, deleted, restored), in a few statements per committed
  transaction, so bulk paths stay bulk;
* a **kind** of fact that is not a record (a stage change, a reassignment) is added with
  ``add`` inside the transaction of the service that causes it.

Reading (``entries_for``) pages by time, filters by kind, and hides entries about records the
reader may not see.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import models, transaction
from django.db.models import Q

from kehu.platform.bulk_insert import bulk_insert
from kehu.platform.events import WRITTEN, Event, subscribe_batch
from kehu.platform.fields import encrypted_fields
from kehu.platform.instances import loaded, unsaved
from kehu.platform.models import TimelineEntry
from kehu.platform.records import registry

log = logging.getLogger(__name__)

Subject = tuple[str, int]  # (record type key, primary key)
RECORD_EVENTS = ("record.created", "record.updated", "record.deleted", "record.restored")
PAGE_SIZE = 30


@dataclass(frozen=True)
class Kind:
    key: str
    label: Any
    icon: str = "ti-point"


@dataclass(frozen=True)
class Source:
    """A record type whose records show on the timelines of the subjects they name."""

    record_type: str
    kind: str
    label: Any
    subjects: Callable[[Any], Iterable[tuple[str, int | None]]]
    occurred_at: Callable[[Any], datetime]
    title: Callable[[Any], str]
    summary: Callable[[Any], str] = lambda obj: ""
    actor_id: Callable[[Any], int | None] = lambda obj: obj.created_by_id
    data: Callable[[Any], dict[str, Any]] = lambda obj: {}
    icon: str = "ti-point"
    # Related objects the callables read (select_related names), fetched in the same query.
    select_related: Sequence[str] = field(default_factory=tuple)


_kinds: dict[str, Kind] = {}
_sources: dict[str, Source] = {}


def register_kind(key: str, label: Any, *, icon: str = "ti-point") -> Kind:
    """Declare a kind of timeline entry (its label is the filter's; registering twice keeps the first)."""
    return _kinds.setdefault(key, Kind(key, label, icon))


def register(source: Source) -> Source:
    """Show the records of ``source.record_type`` on their subjects' timelines."""
    if source.record_type in _sources:
        raise ValueError(f"a timeline source for {source.record_type!r} is already registered")
    register_kind(source.kind, source.label, icon=source.icon)
    _sources[source.record_type] = source
    return source


def kinds() -> list[Kind]:
    return list(_kinds.values())


def kind(key: str) -> Kind:
    return _kinds.get(key) or Kind(key, key)


def add(**entry: Any) -> TimelineEntry:
    """Add a fact to ``subject``'s timeline (call inside the service's transaction); takes the
    arguments of ``fact``."""
    return add_many([fact(**entry)])[0]


def fact(
    *,
    subject: Subject,
    kind: str,
    title: str,
    occurred_at: datetime,
    summary: str = "",
    actor: Any = None,
    record: tuple[str, int] | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """An unsaved fact entry about ``subject`` (``record``: the record it is about, if any), for
    services that add many at once with ``add_many``."""
    if kind not in _kinds:
        raise ValueError(f"timeline kind {kind!r} is not registered")
    record_type, record_id = record or ("", None)
    return TimelineEntry(
        subject_type=subject[0],
        subject_id=subject[1],
        kind=kind,
        origin=TimelineEntry.Origin.FACT,
        occurred_at=occurred_at,
        record_type=record_type,
        record_id=record_id,
        actor_id=getattr(actor, "pk", actor),
        title=title[:255],
        summary=summary,
        data=data or {},
    )


def add_many(entries: Sequence[TimelineEntry]) -> list[TimelineEntry]:
    return bulk_insert(TimelineEntry, entries)


def refresh(record_type: str, ids: Iterable[int]) -> int:
    """Rewrite the entries of these records from their current state (none for records in
    the trash or gone); returns how many entries were written."""
    source = _sources.get(record_type)
    ids = list(ids)
    if source is None or not ids:
        return 0
    rt = registry[record_type]
    written = 0
    with transaction.atomic():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            TimelineEntry.objects.filter(
                origin=TimelineEntry.Origin.RECORD, record_type=record_type, record_id__in=chunk
            ).delete()
            # Entries show names and dates: personal values are not read (nor decrypted); a
            # source that reads one still gets it, loaded on access.
            records = rt.model.objects.filter(pk__in=chunk).defer(*(f.name for f in encrypted_fields(rt.model)))
            if source.select_related:
                records = records.select_related(*source.select_related)
            entries = [entry for obj in records for entry in _entries_of(source, obj)]
            written += len(bulk_insert(TimelineEntry, entries))
    return written


_READ_BACK_DIFFERENTLY = (models.DecimalField, models.FloatField, models.DateTimeField)


def _reads_back_as_held(model_field: Any, obj: Any) -> bool:
    """Whether a source reading this field of the instance in hand sees what it would see
    after reading the record back: not so for a decimal (read back with all its places) or
    a date and time outside UTC (read back in UTC)."""
    value = getattr(obj, model_field.attname)
    if value is None:
        return True
    if isinstance(model_field, models.DecimalField | models.FloatField):
        return False
    if isinstance(model_field, models.DateTimeField):
        return getattr(value, "tzinfo", None) is UTC
    return True


def write_created(record_type: str, objs: Sequence[Any]) -> bool:
    """Write the entries of records just created in the current transaction from the
    instances in hand (one insert per 500 entries) instead of reading them back after the
    commit: the bulk create then marks their ``record.created`` events (``WRITTEN``) and the
    subscriber leaves them out. Returns False, having written nothing, when ``record_type``
    is no source or an instance lacks a related record its source reads (``select_related``)."""
    source = _sources.get(record_type)
    if source is None or not objs:
        return False
    model = registry[record_type].model
    for name in source.select_related:
        related: Any = model._meta.get_field(name)
        if not all(related.is_cached(obj) or getattr(obj, related.attname) is None for obj in objs):
            return False
    risky = [f for f in model._meta.concrete_fields if isinstance(f, _READ_BACK_DIFFERENTLY)]
    if not all(_reads_back_as_held(model_field, obj) for model_field in risky for obj in objs):
        return False
    bulk_insert(TimelineEntry, [entry for obj in objs for entry in _entries_of(source, obj)])
    return True


def rebuild(record_type: str, *, batch_size: int = 5000) -> int:
    """Rewrite every entry of a source record type (``kehu reindex --timeline``), in batches
    by id, one transaction each: the records are read as values (personal fields not read,
    nor decrypted, as ``refresh`` does) into instances made without ``Model.__init__`` (its
    per-field work was most of a rebuild's time), the related records the source reads
    (``select_related``) fetched once per batch, and the entries are what ``refresh`` writes."""
    source = _sources.get(record_type)
    if source is None:
        return 0
    model = registry[record_type].model
    pk = model._meta.pk.attname
    private = {f.attname for f in encrypted_fields(model)}
    names = [f.attname for f in model._meta.concrete_fields if f.attname not in private]
    related: list[Any] = [model._meta.get_field(name) for name in source.select_related]
    written, last = 0, None
    while True:
        with transaction.atomic():
            queryset = model.objects.order_by("pk")
            if last is not None:
                queryset = queryset.filter(pk__gt=last)
            rows = list(queryset.values(*names)[:batch_size])
            if not rows:
                break
            first, last = rows[0][pk], rows[-1][pk]
            # The entries of the batch's range of ids (those of records now in the trash too).
            old = TimelineEntry.objects.filter(
                origin=TimelineEntry.Origin.RECORD, record_type=record_type, record_id__lte=last
            )
            old.filter(record_id__gte=first).delete()
            objs = [loaded(model, row) for row in rows]
            for relation in related:
                found = relation.related_model._base_manager.in_bulk(
                    {getattr(obj, relation.attname) for obj in objs} - {None}
                )
                for obj in objs:
                    obj._state.fields_cache[relation.name] = found.get(getattr(obj, relation.attname))
            entries = [entry for obj in objs for entry in _entries_of(source, obj)]
            written += len(bulk_insert(TimelineEntry, entries, batch_size=batch_size))
    stale = TimelineEntry.objects.filter(origin=TimelineEntry.Origin.RECORD, record_type=record_type)
    stale.exclude(record_id__in=model.objects.values("pk")).delete()
    return written


def sources() -> list[Source]:
    return list(_sources.values())


def _entries_of(source: Source, obj: Any) -> list[TimelineEntry]:
    subjects = [(key, pk) for key, pk in source.subjects(obj) if pk is not None]
    if not subjects:
        return []
    occurred_at, title, summary = source.occurred_at(obj), source.title(obj)[:255], source.summary(obj) or ""
    actor_id, data = source.actor_id(obj), source.data(obj)
    return [
        unsaved(
            TimelineEntry,
            subject_type=key,
            subject_id=pk,
            kind=source.kind,
            origin=TimelineEntry.Origin.RECORD,
            occurred_at=occurred_at,
            record_type=source.record_type,
            record_id=obj.pk,
            actor_id=actor_id,
            title=title,
            summary=summary,
            data=data,
        )
        for key, pk in subjects
    ]


@subscribe_batch(*RECORD_EVENTS)
def _on_record_events(events: list[Event]) -> None:
    """Keep the sources' entries in step with the committed transaction's records."""
    ids: dict[str, dict[int, None]] = defaultdict(dict)
    for event in events:
        if event.type == "record.created" and "timeline" in event.data.get(WRITTEN, ()):
            continue  # written by its creator (``write_created``); a later event rewrites it
        if event.record_type in _sources and event.record_id is not None:
            ids[event.record_type][event.record_id] = None
    for record_type, record_ids in ids.items():
        refresh(record_type, record_ids)


# ---- reading ----------------------------------------------------------------------------


@dataclass
class Page:
    entries: list[TimelineEntry]
    next_cursor: str  # "" on the last page


def entries_for(
    user: Any,
    subject: Subject,
    *,
    kinds: Sequence[str] = (),
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> Page:
    """A page of ``subject``'s timeline, newest first, as ``user`` may see it. The caller has
    checked that ``user`` may see the subject itself. ``cursor`` comes from the previous page."""
    from kehu.platform.access import visible_to

    entries = TimelineEntry.objects.filter(subject_type=subject[0], subject_id=subject[1])
    if kinds:
        entries = entries.filter(kind__in=list(kinds))
    position = _parse_cursor(cursor)
    if position is not None:
        at, pk = position
        entries = entries.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk))
    rows = list(entries.select_related("actor").order_by("-occurred_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    # Entries about records of other types: only those the reader may see (one query per type).
    by_type: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        if row.record_type and row.record_id is not None and registry.get(row.record_type) is not None:
            by_type[row.record_type].add(row.record_id)
    allowed: dict[str, set[int]] = {}
    for record_type, record_ids in by_type.items():
        rt = registry[record_type]
        visible = visible_to(user, rt.model.all_objects.filter(pk__in=record_ids), rt)
        allowed[record_type] = set(visible.values_list("pk", flat=True))
    shown = [
        row
        for row in rows
        if not row.record_type or row.record_type not in allowed or row.record_id in allowed[row.record_type]
    ]
    next_cursor = f"{rows[-1].occurred_at.isoformat()}|{rows[-1].pk}" if more and rows else ""
    return Page(entries=shown, next_cursor=next_cursor)


def _parse_cursor(cursor: str) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    at, _, pk = cursor.rpartition("|")
    try:
        return datetime.fromisoformat(at), int(pk)
    except ValueError:
        return None


def kinds_in(subject: Subject) -> list[Kind]:
    """The kinds that occur on ``subject``'s timeline (for its filter), in registration order."""
    present = set(
        TimelineEntry.objects.filter(subject_type=subject[0], subject_id=subject[1])
        .values_list("kind", flat=True)
        .distinct()
    )
    return [k for k in _kinds.values() if k.key in present]


__all__ = [
    "Kind",
    "Page",
    "Source",
    "add",
    "add_many",
    "entries_for",
    "fact",
    "kind",
    "kinds",
    "kinds_in",
    "rebuild",
    "refresh",
    "register",
    "register_kind",
    "sources",
]
