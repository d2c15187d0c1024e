"""Keeping the search index current: a document per record (what a record type's documents
hold is worked out once per type), written in batches, following the record events, rebuilt
by ``kehu reindex``."""

from __future__ import annotations

import itertools
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models, transaction
from django.db.models.signals import post_migrate, post_save
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import task

from kehu.platform import events, processes
from kehu.platform.customfields.definitions import definitions
from kehu.platform.fields import EncryptedField
from kehu.platform.instances import loaded
from kehu.platform.models import CustomField, SearchDocument
from kehu.platform.records import RecordType, registry, related_model
from kehu.platform.search.text import clean, pinyin_keys, short_terms

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_WORKERS = 4  # processes building documents in ``bulk_rebuild``
SEPARATOR = " · "
CUSTOM_TEXT_KINDS = frozenset({"text", "long_text", "choice", "multi_choice"})


def _is_private(model_field: Any) -> bool:
    """Encrypted personal fields stay out of the index (found by their blind index only)."""
    return isinstance(model_field, EncryptedField)


@dataclass(frozen=True)
class Plan:
    """What a record type's documents are made of, worked out once per type."""

    title: models.Field | None  # None: the record's str()
    body: tuple[models.Field, ...]
    parent: models.ForeignKey | None
    parent_title: models.Field | None

    @classmethod
    def of(cls, rt: RecordType) -> Plan:
        plan = _plans.get(id(rt))
        if plan is None:
            plan = _plans[id(rt)] = cls._build(rt)
        return plan

    @classmethod
    def _build(cls, rt: RecordType) -> Plan:
        title = _optional_field(rt, rt.search_title)
        body = []
        for name in dict.fromkeys([*rt.search_fields, *rt.search_extra]):
            if name in ("number", rt.search_title):
                continue
            model_field = rt.model_field(name)
            if not _is_private(model_field):
                body.append(model_field)
        parent, parent_title = None, None
        if rt.search_parent:
            fk = rt.model_field(rt.search_parent)
            if not isinstance(fk, models.ForeignKey):
                raise TypeError(f"{rt.key}.search_parent must name a foreign key, not {rt.search_parent!r}")
            parent = fk
            parent_rt = registry.for_model_or_none(related_model(fk))
            parent_title = _optional_field(parent_rt, parent_rt.search_title) if parent_rt is not None else None
        return cls(title, tuple(body), parent, parent_title)

    def loading(self, rt: RecordType) -> Any:
        """The records of ``rt`` out of the trash, loading only what the documents need:
        encrypted values are neither read nor decrypted."""
        queryset = rt.model.objects.all()
        related = [f.name for f in self.body if isinstance(f, models.ForeignKey)]
        names = {"pk", "number", "custom", *(f.name for f in self.body)}
        if self.parent is not None:
            related.append(self.parent.name)
            names.add(self.parent.name)
            if self.parent_title is not None:
                names.add(f"{self.parent.name}__{self.parent_title.name}")
            else:  # the parent's str() may need any of its fields
                names.update(f"{self.parent.name}__{f.name}" for f in related_model(self.parent)._meta.concrete_fields)
        if related:
            queryset = queryset.select_related(*dict.fromkeys(related))
        queryset = queryset.prefetch_related("tags")  # tag names are words a record is found by
        if self.title is None:
            return queryset  # str() may need any field
        return queryset.only(*names, self.title.name)


_plans: dict[int, Plan] = {}  # by id() of the registered record type


def _optional_field(rt: RecordType, name: str) -> models.Field | None:
    try:
        return rt.model_field(name)
    except FieldDoesNotExist:
        return None


def _custom_text_definitions(rt: RecordType) -> list[CustomField]:
    """The active custom fields of ``rt`` whose values are words (text, long text, choices);
    phones, emails, numbers, dates, users and links stay out."""
    return [definition for definition in definitions(rt.key) if definition.kind in CUSTOM_TEXT_KINDS]


def _custom_texts(obj: Any, definitions: Sequence[Any]) -> list[str]:
    values = getattr(obj, "custom", None) or {}
    texts: list[str] = []
    for definition in definitions:
        value = values.get(definition.name)
        if value in (None, "", []):
            continue
        if definition.kind in ("choice", "multi_choice"):
            labels = {str(c.get("value")): str(c.get("label") or c.get("value")) for c in definition.choices or []}
            chosen = value if isinstance(value, list) else [value]
            texts.extend(labels.get(str(v), str(v)) for v in chosen)
        else:
            texts.append(str(value))
    return texts


def _field_text(obj: Any, model_field: models.Field | None) -> str:
    if model_field is None:
        return str(obj)
    if isinstance(model_field, models.ForeignKey):
        related = getattr(obj, model_field.name)
        return str(related) if related is not None else ""
    value = getattr(obj, model_field.attname)
    if value is None or value == "":
        return ""
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


def document_for(rt: RecordType, obj: Any, custom_definitions: Sequence[Any] = ()) -> SearchDocument:
    """The search document of one record (not saved)."""
    values = _document_values(rt, Plan.of(rt), obj, custom_definitions)
    return SearchDocument(**dict(zip(_COLUMNS, values, strict=True)))


# The columns of a document, in the order of _document_values.
_COLUMNS = ("record_type", "record_id", "number", "title", "pinyin", "body", "terms")


def _document_values(
    rt: RecordType, plan: Plan, obj: Any, custom_definitions: Sequence[Any], tag_names: Sequence[str] | None = None
) -> tuple[Any, ...]:
    title = clean(_field_text(obj, plan.title))
    body = [_field_text(obj, model_field) for model_field in plan.body]
    body.extend(_custom_texts(obj, custom_definitions))
    if tag_names is None:
        body.extend(tag.name for tag in obj.tags.all())
    else:
        body.extend(tag_names)
    if plan.parent is not None:
        related = getattr(obj, plan.parent.name)
        if related is not None:
            body.append(_field_text(related, plan.parent_title))
    body = [cleaned for cleaned in (clean(text) for text in body if text) if cleaned]
    pinyin = " ".join(pinyin_keys(title))
    number = obj.number or ""
    terms = " ".join(short_terms([number, title, *body, pinyin]))
    return (rt.key, obj.pk, number, title, pinyin, SEPARATOR.join(body), terms)


def _store(rt: RecordType, records: Iterable[Any], custom_definitions: Sequence[Any]) -> int:
    """Write the documents of ``records`` (``_write_rows``)."""
    plan = Plan.of(rt)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(*_document_values(rt, plan, obj, custom_definitions), now) for obj in records]
    _write_rows(rows)
    return len(rows)


def _write_rows(rows: Sequence[tuple[Any, ...]], *, unless_newer: bool = False) -> None:
    """Write documents (``_document_values`` and the time) in a few statements, no model
    instances: an upsert, so two transactions indexing the same record at once both succeed
    (the later state wins). ``unless_newer``: keep a document indexed after the rows' time
    (made from a later state). On SQLite: ``_sqlite_write``."""
    if not rows:
        return
    if connection.vendor == "sqlite":
        with transaction.atomic():
            _sqlite_write(rows, unless_newer=unless_newer)
        return
    names = [*_COLUMNS, "indexed_at"]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[2:])
    condition = " WHERE platform_searchdocument.indexed_at <= excluded.indexed_at" if unless_newer else ""
    sql = (
        f"INSERT INTO platform_searchdocument ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "  # noqa: S608
        f"ON CONFLICT (record_type, record_id) DO UPDATE SET {updates}{condition}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


# The FTS5 tables over the documents (SQLite) and their columns: kept in step by this module
# statement by statement (migration 0011 says why), and by a trigger when a document is deleted.
_FTS_TABLES = (
    ("platform_search_fts", ("number", "title", "body", "pinyin")),
    ("platform_search_terms", ("terms",)),
)


def _fts_documents(cursor: Any, doc_ids: Sequence[int], *, remove: bool = False) -> None:
    """Add the documents ``doc_ids`` as now stored to the FTS5 tables (or, ``remove``, take
    them out, which needs the values they were indexed with: call it before changing them),
    one ``INSERT … SELECT`` per table and chunk. FTS5 writes its pending terms out as a new
    segment at every statement's savepoint, so a statement per document (a trigger) costs
    3–4 times as much as these."""
    for table, columns in _FTS_TABLES:
        names = ", ".join(columns)
        head = f"{table}, rowid, {names}" if remove else f"rowid, {names}"
        select = f"'delete', id, {names}" if remove else f"id, {names}"
        for chunk in _chunks(doc_ids, 900):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table}({head}) SELECT {select} FROM platform_searchdocument WHERE id IN ({marks})",  # noqa: S608
                list(chunk),
            )


def _stored_documents(cursor: Any, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, str]]:
    """The stored documents of the records ``keys`` ((type, id)): their id and indexing time."""
    by_type: dict[str, list[int]] = defaultdict(list)
    for record_type, record_id in keys:
        by_type[record_type].append(record_id)
    found: dict[tuple[str, int], tuple[int, str]] = {}
    for record_type, record_ids in by_type.items():
        for chunk in _chunks(record_ids, 900):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                "SELECT id, record_id, indexed_at FROM platform_searchdocument "  # noqa: S608  (marks only)
                f"WHERE record_type = %s AND record_id IN ({marks})",
                [record_type, *chunk],
            )
            for doc_id, record_id, indexed_at in cursor.fetchall():
                found[(record_type, record_id)] = (doc_id, str(indexed_at))
    return found


def _sqlite_write(rows: Sequence[tuple[Any, ...]], *, unless_newer: bool) -> None:
    """``_write_rows`` on SQLite (in a transaction, which holds the write lock from its start:
    ``transaction_mode`` IMMEDIATE): the documents already there are replaced in place (their
    FTS5 entries removed first, then added again), the others inserted; then their FTS5
    entries are written in a few statements."""
    latest = {(row[0], int(row[1])): row for row in rows}  # a record twice: its last row
    with connection.cursor() as cursor:
        existing = _stored_documents(cursor, latest)
        replaced: list[tuple[Any, ...]] = []
        added: list[tuple[Any, ...]] = []
        for key, row in latest.items():
            found = existing.get(key)
            if found is None:
                added.append(row)
            elif not unless_newer or found[1] <= str(row[-1]):
                replaced.append((*row[2:], found[0]))
        if replaced:
            doc_ids = [row[-1] for row in replaced]
            _fts_documents(cursor, doc_ids, remove=True)
            names = [*_COLUMNS[2:], "indexed_at"]
            cursor.executemany(
                f"UPDATE platform_searchdocument SET {', '.join(f'{name} = %s' for name in names)} WHERE id = %s",  # noqa: S608
                replaced,
            )
            _fts_documents(cursor, doc_ids)
        if added:
            _insert_rows(added)
            new = _stored_documents(cursor, [(row[0], int(row[1])) for row in added])
            _fts_documents(cursor, [doc_id for doc_id, _time in new.values()])


def _indexable(rt: RecordType) -> Any:
    return Plan.of(rt).loading(rt)


# ---------------------------------------------------------------- keeping the index current


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def index_records(rt: RecordType, ids: Iterable[Any], *, dependents: bool = True) -> int:
    """Make the index match the current state of the records ``ids`` of ``rt``: records out of
    the trash are (re)indexed, records in the trash or gone are removed. With ``dependents``,
    the records that index these records' titles (a customer's contacts) are reindexed too.
    A few statements per 500 records, never one per record; returns the documents written."""
    wanted = sorted({int(pk) for pk in ids if pk is not None})
    if not wanted:
        return 0
    definitions = _custom_text_definitions(rt)
    written = 0
    for chunk in _chunks(wanted, BATCH_SIZE):
        with transaction.atomic():
            records = list(_indexable(rt).filter(pk__in=chunk))
            found = {obj.pk for obj in records}
            gone = [pk for pk in chunk if pk not in found]  # in the trash, or deleted
            if gone:
                SearchDocument.objects.filter(record_type=rt.key, record_id__in=gone).delete()
            written += _store(rt, records, definitions)
    if dependents:
        for child_rt, fk in _dependents(rt):
            child_ids = list(child_rt.model.objects.filter(**{f"{fk}__in": wanted}).values_list("pk", flat=True))
            index_records(child_rt, child_ids, dependents=False)
    return written


def index_missing(rt: RecordType, *, created_by: Any, since: Any) -> int:
    """Index the records of ``rt`` that ``created_by`` created since ``since`` and that have no
    document: those of an import whose process was killed after committing a batch and before
    its documents were written (``background_indexing``). Returns the documents written."""
    indexed = SearchDocument.objects.filter(record_type=rt.key, record_id=models.OuterRef("pk"))
    missing = rt.model.objects.filter(created_by=created_by, created_at__gte=since).filter(~models.Exists(indexed))
    return index_records(rt, list(missing.values_list("pk", flat=True)), dependents=False)


def remove_records(rt: RecordType, ids: Iterable[Any]) -> int:
    """Take the records ``ids`` of ``rt`` out of the index (a purge, a merge's losers)."""
    wanted = sorted({int(pk) for pk in ids if pk is not None})
    removed = 0
    for chunk in _chunks(wanted, BATCH_SIZE):
        removed += SearchDocument.objects.filter(record_type=rt.key, record_id__in=chunk).delete()[0]
    return removed


def _dependents(rt: RecordType) -> list[tuple[RecordType, str]]:
    """Record types whose documents hold the title of an ``rt`` record (``search_parent``)."""
    found = []
    for other in registry:
        parent = Plan.of(other).parent
        if parent is not None and related_model(parent)._meta.concrete_model is rt.model._meta.concrete_model:
            found.append((other, parent.attname))
    return found


RECORD_EVENTS = ("record.created", "record.updated", "record.deleted", "record.restored")


def _reads_back_as_held(model_field: models.Field | None, objs: Sequence[Any]) -> bool:
    """Whether a document made from the instances in hand is the one made after reading them
    back: text fields read back as written; a related record only when each instance holds
    it already (else every record would cost a query)."""
    if model_field is None:
        return False  # the record's str(): may read anything
    if isinstance(model_field, models.ForeignKey):
        return all(model_field.is_cached(obj) or getattr(obj, model_field.attname) is None for obj in objs)
    return isinstance(model_field, models.CharField | models.TextField) and not hasattr(model_field, "from_db_value")


def index_created(rt: RecordType, objs: Sequence[Any]) -> bool:
    """Index records just created in the current transaction (rows, tags and hooks written)
    from the instances in hand instead of reading them back: their documents are made now
    and written once the transaction commits, in transactions of 500 like
    ``index_records``. The bulk create then marks their ``record.created`` events
    (``events.WRITTEN``) and ``on_records_changed`` leaves them out. The documents are the ones
    a reindex makes (a test checks it); the tags are read in one query. Inside
    ``background_indexing`` the records' ids go, on commit, to the process that indexes them
    instead. Returns False, having done nothing, when the type's documents need the stored
    values (a number, a date, the record's str(), a related record not loaded)."""
    if not objs:
        return False
    indexer = _background.get()
    if indexer is not None:  # ``background_indexing``: another process writes them
        key, ids = rt.key, [obj.pk for obj in objs]
        transaction.on_commit(lambda: indexer.submit(key, ids))
        return True
    plan = Plan.of(rt)
    fields = [plan.title, *plan.body, *([plan.parent, plan.parent_title] if plan.parent is not None else [])]
    if not all(_reads_back_as_held(model_field, objs) for model_field in fields):
        return False
    from kehu.platform.tags.services import through_table

    through, column = through_table(rt)
    tag_names: dict[Any, list[str]] = defaultdict(list)
    for chunk in _chunks([obj.pk for obj in objs], BATCH_SIZE):
        links = through.objects.filter(**{f"{column}__in": chunk}).order_by("tag__name")
        for record_id, name in links.values_list(column, "tag__name"):
            tag_names[record_id].append(name)
    definitions = _custom_text_definitions(rt)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(*_document_values(rt, plan, obj, definitions, tag_names.get(obj.pk, [])), now) for obj in objs]

    def write() -> None:
        # A later event of the same transaction (a duplicate row filling the record in) may
        # have been delivered first, reindexing the record from its stored state: keep that.
        for chunk in _chunks(rows, BATCH_SIZE):
            with transaction.atomic():
                _write_rows(chunk, unless_newer=True)

    transaction.on_commit(write)  # dropped with the records if the transaction rolls back
    return True


@events.subscribe_batch(*RECORD_EVENTS)
def on_records_changed(batch: list[events.Event]) -> None:
    """Reindex the records a committed transaction touched, per record type in one go; the
    records that show a renamed record's title (its contacts) follow."""
    touched: dict[str, set[int]] = defaultdict(set)
    renamed: dict[str, set[int]] = defaultdict(set)
    for event in batch:
        if event.record_id is None or registry.get(event.record_type) is None:
            continue
        if event.type == "record.created" and "search" in event.data.get(events.WRITTEN, ()):
            continue  # indexed by its creator (``index_created``); a later event reindexes it
        touched[event.record_type].add(event.record_id)
        changed = event.data.get("changed")
        rt = registry[event.record_type]
        if event.type == "record.updated" and (changed is None or rt.search_title in changed):
            renamed[event.record_type].add(event.record_id)
    for key, ids in touched.items():
        index_records(registry[key], ids, dependents=False)
    for key, ids in renamed.items():
        rt = registry[key]
        for child_rt, fk in _dependents(rt):
            child_ids = child_rt.model.objects.filter(**{f"{fk}__in": sorted(ids)}).values_list("pk", flat=True)
            index_records(child_rt, list(child_ids), dependents=False)


@events.subscribe_batch("tag.updated")
def on_tag_renamed(batch: list[events.Event]) -> None:
    """A renamed tag: the documents of the records carrying it are rewritten in the background."""
    for event in batch:
        if "name" in (event.data.get("changed") or ()):
            reindex_tagged_task.enqueue(event.data["id"])


@task()
def reindex_tagged_task(tag_id: int) -> int:
    """Reindex every record carrying the tag ``tag_id`` (in batches of 500 per record type)."""
    from kehu.platform.tags.services import through_table

    written = 0
    for rt in registry:
        through, column = through_table(rt)
        ids = list(through.objects.filter(tag_id=tag_id).values_list(column, flat=True))
        written += index_records(rt, ids, dependents=False)
    return written


@dataclass
class RebuildReport:
    record_type: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float(self.rows)


def rebuild(rt: RecordType, *, batch_size: int = 2000, progress: Callable[[int], None] | None = None) -> RebuildReport:
    """Reindex every record of ``rt`` in batches (one transaction each, so search keeps
    answering meanwhile), then drop the documents of records that are gone or in the trash."""
    started_at = timezone.now()
    clock = time.perf_counter()
    definitions = _custom_text_definitions(rt)
    rows, last_pk = 0, None
    while True:
        with transaction.atomic():
            queryset = _indexable(rt).order_by("pk")
            if last_pk is not None:
                queryset = queryset.filter(pk__gt=last_pk)
            records = list(queryset[:batch_size])
            if not records:
                break
            # Replace the documents of the batch's range of ids in place; those of records now
            # in the trash go.
            old = SearchDocument.objects.filter(record_type=rt.key, record_id__lte=records[-1].pk)
            if last_pk is not None:
                old = old.filter(record_id__gt=last_pk)
            old.exclude(record_id__in=[obj.pk for obj in records]).delete()
            last_pk = records[-1].pk
            rows += _store(rt, records, definitions)
        if progress is not None:
            progress(rows)
    SearchDocument.objects.filter(record_type=rt.key, indexed_at__lt=started_at).delete()
    SearchDocument.objects.exclude(record_type__in=[other.key for other in registry]).delete()
    return RebuildReport(rt.key, rows, time.perf_counter() - clock)


def optimize() -> None:
    """After a rebuild: merge the SQLite full-text index segments; on PostgreSQL refresh the
    planner's statistics of the index table (its plans depend on them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO platform_search_fts(platform_search_fts) VALUES ('optimize')")
            cursor.execute("INSERT INTO platform_search_terms(platform_search_terms) VALUES ('optimize')")
        elif connection.vendor == "postgresql":
            cursor.execute("ANALYZE platform_searchdocument")


# ---------------------------------------------------------------- filling an empty index at once


def _tag_names(rt: RecordType, ids: Sequence[Any]) -> dict[Any, list[str]]:
    """The names of the tags each record of ``ids`` carries, by name (one query per 500)."""
    from kehu.platform.tags.services import through_table

    through, column = through_table(rt)
    names: dict[Any, list[str]] = defaultdict(list)
    for chunk in _chunks(list(ids), BATCH_SIZE):
        links = through.objects.filter(**{f"{column}__in": chunk}).order_by("tag__name")
        for record_id, name in links.values_list(column, "tag__name"):
            names[record_id].append(name)
    return names


def _value_batches(
    rt: RecordType, plan: Plan, batch_size: int, between: tuple[int, int] | None = None
) -> Iterator[list[Any]] | None:
    """The records of ``rt`` out of the trash (those with ``low <= pk < high`` when
    ``between`` is given), in batches by id, as instances made from ``values()`` rows holding
    what the documents read (the title, the body, the number, the custom values and the
    parent's title), the tags' names given alongside. None when the documents need more than
    plain values (the record's or a related record's str())."""
    if plan.title is None or any(isinstance(f, models.ForeignKey) for f in plan.body):
        return None
    if plan.parent is not None and plan.parent_title is None:
        return None
    model, pk = rt.model, rt.model._meta.pk.attname
    names = list(dict.fromkeys([pk, "number", "custom", plan.title.attname, *(f.attname for f in plan.body)]))
    parent_path = ""
    if plan.parent is not None and plan.parent_title is not None:
        names.append(plan.parent.attname)
        parent_path = f"{plan.parent.name}__{plan.parent_title.attname}"
        parent_model, parent_pk = related_model(plan.parent), related_model(plan.parent)._meta.pk.attname

    def batches() -> Iterator[list[Any]]:
        last = None
        while True:
            queryset = model.objects.order_by("pk")
            if between is not None:
                queryset = queryset.filter(pk__gte=between[0], pk__lt=between[1])
            if last is not None:
                queryset = queryset.filter(pk__gt=last)
            rows = list(queryset.values(*names, *([parent_path] if parent_path else []))[:batch_size])
            if not rows:
                return
            last = rows[-1][pk]
            objs = []
            for row in rows:
                parent_title = row.pop(parent_path, None) if parent_path else None
                obj = loaded(model, row)
                if plan.parent is not None and plan.parent_title is not None:
                    parent_id = row[plan.parent.attname]
                    obj._state.fields_cache[plan.parent.name] = (
                        None
                        if parent_id is None
                        else loaded(parent_model, {parent_pk: parent_id, plan.parent_title.attname: parent_title})
                    )
                objs.append(obj)
            yield objs

    return batches()


def _instance_batches(rt: RecordType, batch_size: int) -> Iterator[list[Any]]:
    """The records of ``rt`` out of the trash in batches by id, loaded as ``rebuild`` does."""
    last = None
    while True:
        queryset = _indexable(rt).order_by("pk")
        if last is not None:
            queryset = queryset.filter(pk__gt=last)
        records = list(queryset[:batch_size])
        if not records:
            return
        last = records[-1].pk
        yield records


def _document_rows(key: str, low: int, high: int, batch_size: int) -> list[tuple[Any, ...]]:
    """In a worker process: the documents (``_document_values``, without the time) of the
    records of type ``key`` with ``low <= pk < high``, in id order."""
    rt = registry.get(key)
    assert rt is not None, key
    plan = Plan.of(rt)
    definitions = _custom_text_definitions(rt)
    rows: list[tuple[Any, ...]] = []
    for objs in _value_batches(rt, plan, batch_size, (low, high)) or ():
        rows.extend(_value_documents(rt, plan, definitions, objs))
    return rows


def _value_documents(rt: RecordType, plan: Plan, definitions: Sequence[Any], objs: list[Any]) -> list[tuple[Any, ...]]:
    """The documents of a batch read as values (``_value_batches``), their tags' names read
    alongside."""
    tags = _tag_names(rt, [obj.pk for obj in objs])
    return [_document_values(rt, plan, obj, definitions, tags.get(obj.pk, [])) for obj in objs]


@dataclass
class _Pool:
    executor: ProcessPoolExecutor
    workers: int


def _document_pool(workers: int | None) -> _Pool | None:
    """Processes that build documents while this one writes them: ``workers`` of them (default:
    the CPUs this process may use, at most ``MAX_WORKERS``), or None to build them here — one
    CPU, or no pool to be had (``processes.fork_pool``)."""
    if workers is None:
        workers = min(processes.cpus(), MAX_WORKERS)
    executor = processes.fork_pool(workers) if workers >= 2 else None
    return _Pool(executor, workers) if executor is not None else None


def _index_committed(record_type: str, ids: list[int]) -> int:
    """In a ``background_indexing`` process: index committed records, their documents all
    built before the one transaction that writes them (which holds SQLite's write lock only to
    write: the importing process takes it back for its next batch soon). The time is taken
    before the records are read, so a document written meanwhile from a later state (the
    record changed by the importing process) is kept."""
    rt = registry[record_type]
    plan = Plan.of(rt)
    definitions = _custom_text_definitions(rt)
    read_at = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (*_document_values(rt, plan, obj, definitions), read_at)
        for chunk in _chunks(sorted(ids), BATCH_SIZE)
        for obj in _indexable(rt).filter(pk__in=chunk)
    ]
    with transaction.atomic():
        _write_rows(rows, unless_newer=True)
    return len(rows)


class BackgroundIndexer:
    """A forked process that writes the search documents of the records this process commits
    (``index_created`` hands it their ids after each commit), while this one goes on. At most
    ``IN_FLIGHT`` batches wait for it; ``finish`` waits for all of them, indexing here those
    whose job failed."""

    IN_FLIGHT = 4

    def __init__(self, executor: ProcessPoolExecutor) -> None:
        self.executor = executor
        self.pending: deque[tuple[str, list[int], Future[int]]] = deque()

    def submit(self, record_type: str, ids: list[int]) -> None:
        while len(self.pending) >= self.IN_FLIGHT:
            self._wait(*self.pending.popleft())
        self.pending.append((record_type, ids, self.executor.submit(_index_committed, record_type, ids)))

    def _wait(self, record_type: str, ids: list[int], future: Future[int]) -> None:
        try:
            future.result()
        except Exception:  # the process died or failed: index them here
            log.exception("background indexing of %d %s failed; indexing them here", len(ids), record_type)
            index_records(registry[record_type], ids, dependents=False)

    def finish(self) -> None:
        while self.pending:
            self._wait(*self.pending.popleft())


_background: ContextVar[BackgroundIndexer | None] = ContextVar("kehu_background_indexer", default=None)


@contextmanager
def background_indexing() -> Iterator[bool]:
    """Within the block, records created in bulk (``record_bulk_create``) are indexed by a
    forked process after each commit, in parallel with this one (an import); the block ends
    once they all are. Yields whether that is so: not with one CPU, nor inside a transaction
    (nothing would commit before the block ends), nor where ``processes.fork_pool`` has
    none — then records are indexed here as usual."""
    executor = processes.fork_pool(1) if processes.cpus() >= 2 else None
    if executor is None:
        yield False
        return
    indexer = BackgroundIndexer(executor)
    token = _background.set(indexer)
    try:
        yield True
    finally:
        _background.reset(token)
        try:
            indexer.finish()
        finally:
            executor.shutdown()


def _pooled_rows(pool: _Pool, rt: RecordType, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """The documents of ``rt`` built by the pool, a range of ``batch_size`` ids per job, in id
    order; at most two jobs per worker in flight (memory stays bounded whatever the size)."""
    bounds = rt.model.objects.aggregate(low=models.Min("pk"), high=models.Max("pk"))
    if bounds["low"] is None:
        return
    starts = iter(range(bounds["low"], bounds["high"] + 1, batch_size))
    pending: deque[Future[list[tuple[Any, ...]]]] = deque()
    for start in itertools.islice(starts, 2 * pool.workers):
        pending.append(pool.executor.submit(_document_rows, rt.key, start, start + batch_size, batch_size))
    while pending:
        rows = pending.popleft().result()
        for start in itertools.islice(starts, 1):
            pending.append(pool.executor.submit(_document_rows, rt.key, start, start + batch_size, batch_size))
        yield rows


def _insert_rows(rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert new documents (``_document_values`` and the time): a plain insert, no upsert —
    the index is empty, and a second document of a record is an error."""
    if rows:
        names = [*_COLUMNS, "indexed_at"]
        sql = (
            f"INSERT INTO platform_searchdocument ({', '.join(names)}) "  # noqa: S608  (names are ours)
            f"VALUES ({', '.join(['%s'] * len(names))})"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def bulk_rebuild(
    *, batch_size: int = 5_000, progress: Callable[[str, int], None] | None = None, workers: int | None = None
) -> list[RebuildReport]:
    """Index every record of every type: the documents ``rebuild`` makes, written faster when
    the index is empty (a new database filled in bulk: ``kehu bench generate``). Records are
    read as values rather than model instances where the documents allow it, and on SQLite the
    documents are inserted alone and the FTS5 ``'rebuild'`` command then indexes them all at
    once, in the same transaction. Then ``optimize``. The documents of record
    types read as values are built by ``workers`` forked processes (``_document_pool``; by
    default one per CPU) while this one writes them, in the same order. A non-empty index is
    rebuilt per type by ``rebuild`` (which keeps search answering meanwhile)."""
    if SearchDocument.objects.exists():
        reports = [rebuild(rt, batch_size=batch_size) for rt in registry]
        optimize()
        return reports
    pool = _document_pool(workers)
    try:
        reports = _bulk_rebuild(batch_size, progress, pool)
    finally:
        if pool is not None:
            pool.executor.shutdown(cancel_futures=True)
    optimize()
    return reports


def _bulk_rebuild(
    batch_size: int,
    progress: Callable[[str, int], None] | None,
    pool: _Pool | None,
) -> list[RebuildReport]:
    reports = []
    with transaction.atomic():
        for rt in registry:
            clock = time.perf_counter()
            plan = Plan.of(rt)
            definitions = _custom_text_definitions(rt)
            batches = _value_batches(rt, plan, batch_size)
            built: Iterable[list[tuple[Any, ...]]]
            if batches is not None and pool is not None:
                built = _pooled_rows(pool, rt, batch_size)
            elif batches is not None:
                built = (_value_documents(rt, plan, definitions, objs) for objs in batches)
            else:  # instances, their tags prefetched (``obj.tags``)
                built = (
                    [_document_values(rt, plan, obj, definitions) for obj in objs]
                    for objs in _instance_batches(rt, batch_size)
                )
            written = 0
            for documents in built:
                now = connection.ops.adapt_datetimefield_value(timezone.now())
                _insert_rows([(*document, now) for document in documents])
                written += len(documents)
                if progress is not None and documents:
                    progress(rt.key, written)
            reports.append(RebuildReport(rt.key, written, time.perf_counter() - clock))
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                for table, _columns in _FTS_TABLES:
                    cursor.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")  # noqa: S608  (names are ours)
    return reports


@task()
def rebuild_task(record_type: str) -> int:
    """``rebuild`` in the background (``kehu worker``): after a custom field changed."""
    rt = registry.get(record_type)
    return rebuild(rt).rows if rt is not None else 0


@receiver(post_save, sender=CustomField)
def _custom_field_changed(sender: Any, instance: CustomField, created: bool = False, **kwargs: Any) -> None:
    """A text or choice field deactivated, reactivated or with new choice labels: its values
    leave or join the documents of its record type, rebuilt in the background. (A new field
    has no values yet, and fields with values are never deleted.)"""
    if created or instance.kind not in CUSTOM_TEXT_KINDS or registry.get(instance.record_type) is None:
        return
    record_type = instance.record_type
    transaction.on_commit(lambda: rebuild_task.enqueue(record_type))


@receiver(post_migrate)
def _index_existing_records(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After the migration that creates the index (an upgrade), index the records already
    there; later migrations find the index filled and do nothing."""
    if getattr(sender, "label", "") != "platform" or using != "default":
        return
    if SearchDocument._meta.db_table not in connection.introspection.table_names():
        return  # migrated back before the index
    if SearchDocument.objects.exists():
        return
    for rt in registry:
        if rt.model.objects.exists():
            report = rebuild(rt)
            log.info("search index: %d %s indexed in %.1f s", report.rows, rt.key, report.seconds)
