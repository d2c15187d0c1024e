"""The import engine: reads a job's file in batches, converts each row's cells, checks them with
the rules every write path shares (``record_validate``: model validation, the record type's
``prepare`` hook, custom fields, ownership), finds duplicates and writes each batch in one
transaction with the job's checkpoint. A batch's rows are converted and checked before its
transaction opens (``prepare``), so that SQLite's write lock is held only while writing (the
web and the indexing process write meanwhile); the new records' search documents are written by
another process after each commit (``search.index.background_indexing``), all of them by the
time the job is done.

Per batch: one query per relation column to resolve record numbers and names, one ``IN``
query per duplicate key (blind indexes of phones and emails, record numbers), the new records
through ``record_bulk_create`` (numbers, tags, audit entries, events in bulk), duplicates
through ``record_update`` (version check, audit diff, event) when they are filled or
overwritten. A bad row is kept as a rejected row with its line and reasons and never stops the
good ones; a database error rolls back that batch only and fails the job, which can be run
again from its checkpoint (``processed_rows``, written in the batch's transaction).

A row that duplicates an earlier row of the same file is handled like a duplicate of an
existing record: the earlier row's record is written first, then the policy applies to it.
Name matching (``match_on`` "name") compares normalized names exactly, then by
``matching.name_score`` among all names sharing a blocking key (``matching.NameIndex``); for
records inside a parent (contacts) only among the same parent's records.

Orders with lines: see ``orders.py`` (consecutive rows with the same order reference form one
order).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, models, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.dataio import matching
from kehu.dataio.imports import convert, readers
from kehu.dataio.imports import mapping as import_mapping
from kehu.dataio.imports.models import ImportJob, ImportRejectedRow, ImportStatus, MatchOn, OnDuplicate
from kehu.platform import crypto, heap
from kehu.platform import services as record_services
from kehu.platform.access import require, visible_to
from kehu.platform.context import Context, Source
from kehu.platform.customfields.definitions import by_name as custom_by_name
from kehu.platform.customfields.definitions import cached as custom_cached
from kehu.platform.errors import StaleVersion
from kehu.platform.fields import EncryptedField, index_key
from kehu.platform.instances import unsaved
from kehu.platform.records import RecordType, registry, related_model
from kehu.platform.search import index as search_index
from kehu.platform.tags import services as tag_services

log = logging.getLogger(__name__)

BATCH_SIZE = 2000


def batch_size() -> int:
    """Rows per batch and transaction: ``KEHU_IMPORT_BATCH_SIZE`` (setting or environment)."""
    value = getattr(settings, "KEHU_IMPORT_BATCH_SIZE", None) or os.environ.get("KEHU_IMPORT_BATCH_SIZE")
    return max(1, int(value)) if value else BATCH_SIZE


MAX_REASONS = 100


# ---------------------------------------------------------------- rows and outcomes


@dataclass
class Row:
    line: int
    cells: list[Any]
    data: dict[str, Any] = field(default_factory=dict)  # API-style values (relations as objects)
    raw: dict[str, Any] = field(default_factory=dict)  # field name -> cell, for relations to resolve
    errors: dict[str, list[str]] = field(default_factory=dict)
    obj: Any = None  # the new record (unsaved until its segment is written)
    keys: list[tuple[str, str]] = field(default_factory=list)  # duplicate keys: (kind, value)
    name_forms: Any = None
    parent_id: Any = None


@dataclass(slots=True)
class Ref:
    """An earlier row of the file that became (or, in a dry run, would become) a record: what
    duplicate detection keeps of it once its batch is done (not its cells)."""

    line: int
    row: Row | None  # while its batch runs
    pk: int | None = None

    @property
    def record_id(self) -> int | None:
        return self.pk if self.row is None else self.row.obj.pk


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: list[Row] = field(default_factory=list)
    reasons: dict[str, Counter[str]] = field(default_factory=lambda: {"rejected": Counter(), "skipped": Counter()})

    def reject(self, row: Row) -> None:
        self.rejected.append(row)
        for key, messages in row.errors.items():
            for message in messages:
                self.reasons["rejected"][message if key == "__all__" else f"{key}: {message}"] += 1

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons["skipped"][reason] += 1


def _messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {name: [str(m) for m in ValidationError(items).messages] for name, items in error.error_dict.items()}
    return {"__all__": [str(m) for m in error.messages]}


# ---------------------------------------------------------------- the generic importer


@dataclass
class Column:
    index: int
    header: str
    name: str
    kind: str
    field: Any = None  # the model field, or the custom field definition


class GenericImporter:
    """Imports rows into one record type through its fields. A module registers a subclass
    for its type with ``services.register_importer`` to import differently (orders)."""

    batch_size: int | None = None  # default: ``batch_size()``

    def extra_fields(self, rt: RecordType) -> list[Any]:
        """Further fields a column can be mapped to (``mapping.ImportField``): an order's lines."""
        return []

    def optional_fields(self, rt: RecordType) -> list[str]:
        """Required fields this importer fills itself when no column gives them."""
        return []

    # ---- set-up, once per run

    def setup(self, rt: RecordType, ctx: Context, job: ImportJob) -> None:
        self.rt, self.ctx, self.job = rt, ctx, job
        self.dry_run = job.dry_run
        self.day_first = bool(job.options.get("day_first"))
        self.on_duplicate = job.on_duplicate
        self.match_on = [m for m in job.match_on if m in MatchOn.values]
        fields = {item.name: item for item in import_mapping.importable_fields(rt)}
        custom = custom_by_name(rt.key, active_only=True)
        self.columns: list[Column] = []
        for index, header in enumerate(job.headers):
            name = job.mapping.get(header, "")
            if not name or name not in fields:
                continue
            item = fields[name]
            target: Any = None
            if name.startswith(import_mapping.CUSTOM_PREFIX):
                target = custom.get(name.removeprefix(import_mapping.CUSTOM_PREFIX))
            elif name in rt.fields or name in rt.create_only:
                target = rt.model_field(name)
            self.columns.append(Column(index, header, name, item.kind, target))
        self.header_of = {column.name: column.header for column in self.columns}
        self._choices: dict[str, dict[str, str]] = {}
        self._users: dict[str, list[Any]] | None = None
        self._defaults: dict[str, Any] = {}
        for name in [*rt.fields, *rt.create_only]:  # default related rows, loaded once
            model_field = rt.model_field(name)
            if isinstance(model_field, models.ForeignKey) and model_field.has_default() and name not in self.header_of:
                key = model_field.target_field.attname
                default = model_field.get_default()
                found = related_model(model_field)._default_manager.filter(**{key: default}).first()
                if found is not None:
                    self._defaults[name] = found
        self.encrypted = {
            kind: [f for f in rt.model._meta.concrete_fields if isinstance(f, EncryptedField) and f.kind == kind]
            for kind in ("phone", "email")
        }
        self._name_field = self._title_field(rt)
        self._names: matching.NameIndex | None = None  # existing records' and earlier rows' names
        self._dry_claimed: dict[tuple[str, str], Ref] = {}

    @staticmethod
    def _title_field(rt: RecordType) -> str:
        names = {f.name for f in rt.model._meta.concrete_fields}
        return next((name for name in (rt.search_title, "name", "title") if name in names), "")

    def batches(self, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[list[tuple[int, list[Any]]]]:
        while True:
            batch = list(itertools.islice(rows, self.batch_size or batch_size()))
            if not batch:
                return
            yield batch

    # ---- converting cells

    def _choice_map(self, column: Column) -> dict[str, str]:
        found = self._choices.get(column.name)
        if found is None:
            found = {}
            for value, label in column.field.flatchoices:
                for word in (value, label):
                    for language in ("en", "zh-hans"):
                        with translation.override(language):
                            found.setdefault(import_mapping.normalize_header(str(word)), value)
            self._choices[column.name] = found
        return found

    def convert_cell(self, column: Column, cell: Any) -> Any:
        kind = column.kind
        if kind in ("text", "phone", "email", "url", "number", "name_part"):
            value = convert.text(cell)
            if kind == "email":
                value = value.removeprefix("mailto:")
            return value
        if kind == "choice":
            value = convert.text(cell)
            found = self._choice_map(column).get(import_mapping.normalize_header(value))
            if found is None:
                labels = ", ".join(str(label) for _v, label in column.field.flatchoices if _v != "")
                raise ValidationError(
                    _("“%(value)s” is not one of the choices (%(choices)s).") % {"value": value, "choices": labels}
                )
            return found
        if kind == "boolean":
            return convert.to_bool(cell)
        if kind == "date":
            return convert.to_date(cell, day_first=self.day_first)
        if kind == "datetime":
            return convert.to_datetime(cell, day_first=self.day_first)
        if kind == "decimal":
            return convert.to_decimal(cell)
        if kind == "integer":
            return convert.to_integer(cell)
        if kind == "tags":
            return convert.split_list(cell)
        if kind.startswith("custom:"):
            return self.convert_custom(column, cell)
        return convert.text(cell)  # relation, user, many: resolved per batch

    def convert_custom(self, column: Column, cell: Any) -> Any:
        """A cell in the form ``clean_value`` takes (which checks it with the custom field's
        rules during validation)."""
        kind = column.kind.removeprefix("custom:")
        if kind == "date":
            day = convert.to_date(cell, day_first=self.day_first)
            return day.isoformat() if day else None
        if kind == "datetime":
            moment = convert.to_datetime(cell, day_first=self.day_first)
            return moment.isoformat() if moment else None
        if kind == "boolean":
            return convert.to_bool(cell)
        if kind in ("integer", "decimal"):
            number = convert.to_decimal(cell)
            return None if number is None else str(number)
        if kind == "multi_choice":
            return convert.split_list(cell)
        if kind == "user":
            user = self._user(convert.text(cell))
            return user.pk
        return convert.text(cell)

    def convert_row(self, row: Row) -> None:
        custom: dict[str, Any] = {}
        for column in self.columns:
            cell = row.cells[column.index] if column.index < len(row.cells) else ""
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            try:
                value = self.convert_cell(column, cell)
            except ValidationError as error:
                row.errors.setdefault(column.header, []).extend(str(m) for m in error.messages)
                continue
            if value in (None, "", []):
                continue
            if column.kind in ("relation", "user", "many", "name_part"):
                row.raw[column.name] = value
            elif column.name.startswith(import_mapping.CUSTOM_PREFIX):
                custom[column.name.removeprefix(import_mapping.CUSTOM_PREFIX)] = value
            else:
                row.data[column.name] = value
        if custom:
            row.data["custom"] = custom
        parts = [row.raw.pop(part, "") for part in import_mapping.NAME_PARTS]
        if any(parts) and not row.data.get("name"):
            row.data["name"] = import_mapping.join_name(*parts)

    # ---- relations, users and tags: one query per column per batch

    def _load_users(self) -> dict[str, list[Any]]:
        if self._users is None:
            self._users = {}
            for user in get_user_model()._default_manager.filter(is_active=True):
                words = {user.get_username(), user.email, user.get_full_name(), getattr(user, "name", "")}
                for word in words:
                    if word:
                        bucket = self._users.setdefault(str(word).strip().casefold(), [])
                        if user not in bucket:
                            bucket.append(user)
        return self._users

    def _user(self, text: str) -> Any:
        found = self._load_users().get(text.strip().casefold(), [])
        if not found:
            raise ValidationError(_("No active user “%(name)s”.") % {"name": text})
        if len(found) > 1:
            raise ValidationError(_("Several users are called “%(name)s”: give the user name.") % {"name": text})
        return found[0]

    def _lookup(self, model_field: Any, texts: set[str]) -> dict[str, list[Any]]:
        """Related rows by number, key or exact name (case-insensitive for names)."""
        target = related_model(model_field)
        target_rt = registry.for_model_or_none(target)
        queryset = target._default_manager.all()
        names = [f.name for f in target._meta.concrete_fields]
        condition = Q()
        if target_rt is not None:
            queryset = visible_to(self.ctx.user, queryset, target_rt)
            if target_rt.select_related:
                queryset = queryset.select_related(*target_rt.select_related)
            condition |= Q(number__in=texts)
            title = self._title_field(target_rt)
        else:
            key = model_field.target_field.attname
            condition |= Q(**{f"{key}__in": [t for t in texts if key != "id" or t.isdigit()]})
            title = "name" if "name" in names else ""
        if title:
            condition |= Q(**{f"{title}__in": texts})
        found: dict[str, list[Any]] = {}
        for obj in queryset.filter(condition):
            words = {str(getattr(obj, "number", "") or ""), str(getattr(obj, title, "") or "") if title else ""}
            if target_rt is None:
                words.add(str(getattr(obj, model_field.target_field.attname)))
                if hasattr(obj, "display_name"):
                    words.add(str(obj.display_name))
            for word in words - {""}:
                found.setdefault(word, []).append(obj)
        return found

    def resolve(self, rows: list[Row]) -> None:
        """Turn relation texts into objects, users into users, tag names into tags."""
        relations = [c for c in self.columns if c.kind in ("relation", "many")]
        for column in relations:
            texts: set[str] = set()
            for row in rows:
                value = row.raw.get(column.name)
                if value:
                    texts.update(convert.split_list(value) if column.kind == "many" else [value])
            if not texts:
                continue
            found = self._lookup(column.field, texts)
            for row in rows:
                value = row.raw.get(column.name)
                if not value:
                    continue
                items = []
                for text in convert.split_list(value) if column.kind == "many" else [value]:
                    candidates = found.get(text, [])
                    if len(candidates) > 1:
                        candidates = self._disambiguate(row, candidates) or candidates
                    if not candidates:
                        row.errors.setdefault(column.header, []).append(
                            _("No %(type)s “%(value)s” (give its number or exact name).")
                            % {"type": related_model(column.field)._meta.verbose_name, "value": text}
                        )
                    elif len(candidates) > 1:
                        row.errors.setdefault(column.header, []).append(
                            _("Several %(type)s are called “%(value)s”: give the number.")
                            % {"type": related_model(column.field)._meta.verbose_name_plural, "value": text}
                        )
                    else:
                        items.append(candidates[0])
                if column.header not in row.errors:
                    row.data[column.name] = items if column.kind == "many" else items[0]
        for column in (c for c in self.columns if c.kind == "user"):
            for row in rows:
                value = row.raw.get(column.name)
                if value:
                    try:
                        row.data[column.name] = self._user(value)
                    except ValidationError as error:
                        row.errors.setdefault(column.header, []).extend(error.messages)
        if import_mapping.TAGS in self.header_of:
            self._resolve_tags(rows)

    def _disambiguate(self, row: Row, candidates: list[Any]) -> list[Any]:
        """Among same-named candidates, those related to another value of the row (a stage
        of the row's pipeline)."""
        for value in row.data.values():
            if not isinstance(value, models.Model):
                continue
            for fk in candidates[0]._meta.concrete_fields:
                if isinstance(fk, models.ForeignKey) and isinstance(value, related_model(fk)):
                    kept = [c for c in candidates if getattr(c, fk.attname) == value.pk]
                    if kept:
                        return kept
        return []

    def _resolve_tags(self, rows: list[Row]) -> None:
        header = self.header_of[import_mapping.TAGS]
        names = list(dict.fromkeys(name for row in rows for name in row.data.get(import_mapping.TAGS, [])))
        if not names:
            return
        found = tag_services.find_by_names(self.rt, names)
        may_create = tag_services.can_tag(self.ctx, "add", self.rt.key)
        for row in rows:
            wanted = row.data.pop(import_mapping.TAGS, None)
            if not wanted:
                continue
            tags: list[Any] = []
            for name in wanted:
                tag = found.get(name.casefold())
                if tag is None and may_create and not self.dry_run:
                    try:
                        tag = tag_services.resolve_tags(self.rt, self.ctx, [name])[0]
                    except ValidationError as error:
                        row.errors.setdefault(header, []).extend(_messages(error).get("tags", error.messages))
                        break
                    found[name.casefold()] = tag
                if tag is None and not may_create:
                    row.errors.setdefault(header, []).append(
                        _("Unknown tag “%(name)s”: you may only use existing tags.") % {"name": name}
                    )
                    break
                tags.append(tag if tag is not None else name)
            else:
                row.data[import_mapping.TAGS] = tags

    # ---- validation: the rules every write path shares

    def build(self, row: Row) -> None:
        """The unsaved record of a row, checked with ``record_validate``."""
        rt = self.rt
        obj = unsaved(rt.model)
        data = {k: v for k, v in row.data.items() if k not in (import_mapping.NUMBER, import_mapping.TAGS)}
        # Foreign keys hold rows resolved through visible_to (``resolve``), the defaults loaded
        # in ``setup``, the importing user and their team: none is looked up again per row.
        checked = [f.name for f in rt.model._meta.concrete_fields if isinstance(f, models.ForeignKey)]
        pending: dict[str, list[Any]] = {}
        for name, default in self._defaults.items():
            setattr(obj, name, default)
        for name, value in data.items():
            if name == "custom":
                continue
            model_field = rt.model_field(name)
            if isinstance(model_field, models.ManyToManyField):
                pending[name] = list(value)
            elif isinstance(model_field, models.ForeignKey):
                setattr(obj, name, value)  # resolved through visible_to in ``resolve``
            else:
                setattr(obj, name, value)
        obj._kehu_m2m = pending  # type: ignore[attr-defined]  # as services._assign leaves it
        try:
            record_services.record_validate(rt, ctx=self.ctx, obj=obj, data=data, is_new=True, checked=checked)
        except ValidationError as error:
            for name, messages in _messages(error).items():
                row.errors.setdefault(self.header_of.get(name, name if name != "__all__" else "__all__"), []).extend(
                    messages
                )
            return
        row.obj = obj

    # ---- duplicates

    def keys_for(self, row: Row) -> None:
        """The row's duplicate keys (blind indexes of its phones and emails, its number) and
        name forms, from the validated values."""
        obj = row.obj
        for kind in ("email", "phone"):
            if kind not in self.match_on:
                continue
            for model_field in self.encrypted[kind]:
                value = getattr(obj, model_field.attname) if obj is not None else ""
                if value:  # validated: in the form its blind index is computed from
                    row.keys.append((kind, index_key(kind, value)))
        if MatchOn.NUMBER in self.match_on and row.data.get(import_mapping.NUMBER):
            row.keys.append(("number", str(row.data[import_mapping.NUMBER])))
        if MatchOn.NAME in self.match_on and self._name_field and obj is not None:
            name = str(getattr(obj, self._name_field, "") or "")
            if name:
                row.name_forms = matching.name_forms(name)
                row.parent_id = getattr(obj, f"{self.rt.visibility_via}_id", None) if self.rt.visibility_via else None

    def existing_matches(self, rows: list[Row]) -> dict[tuple[str, str], int]:
        """Existing records (visible to the user) for the rows' keys: one query per kind."""
        found: dict[tuple[str, str], int] = {}
        base = visible_to(self.ctx.user, self.rt.model.objects.all(), self.rt)
        for kind in ("email", "phone"):
            values = {value for row in rows for k, value in row.keys if k == kind}
            if not values or not self.encrypted[kind]:
                continue
            by_index: dict[str, str] = {}
            for value in values:
                for candidate in crypto.blind_index_candidates(kind, value):
                    by_index[candidate] = value
            condition = Q()
            for model_field in self.encrypted[kind]:
                condition |= Q(**{f"{model_field.index_name}__in": list(by_index)})
            columns = ["pk", *(f.index_name for f in self.encrypted[kind])]
            for pk, *indexes in base.filter(condition).order_by("pk").values_list(*columns):
                for index in indexes:
                    if index in by_index:
                        found.setdefault((kind, by_index[index]), pk)
        numbers = {value for row in rows for k, value in row.keys if k == "number"}
        if numbers:
            for pk, number in base.filter(number__in=numbers).values_list("pk", "number"):
                found[("number", number)] = pk
        return found

    def _name_index(self) -> matching.NameIndex:
        """Existing names (visible to the user), for name matching: loaded once per run."""
        if self._names is None:
            self._names = matching.NameIndex()
            base = visible_to(self.ctx.user, self.rt.model.objects.all(), self.rt)
            parent = f"{self.rt.visibility_via}_id" if self.rt.visibility_via else None
            columns = ["pk", self._name_field, *([parent] if parent else [])]
            for pk, name, *rest in base.order_by("pk").values_list(*columns).iterator(chunk_size=5000):
                if name:
                    self._names.add(pk, name, rest[0] if rest else None)
        return self._names

    def name_match(self, row: Row) -> Any:
        if row.name_forms is None:
            return None
        return self._name_index().best(str(getattr(row.obj, self._name_field, "")), row.parent_id)

    # ---- one batch

    def read_rows(self, batch: list[tuple[int, list[Any]]]) -> list[Row]:
        """A batch's rows with their cells converted and their relations, users and tags
        resolved (one query per column per batch); the errors are on the rows."""
        rows = [Row(line, cells) for line, cells in batch]
        for row in rows:
            self.convert_row(row)
        self.resolve(rows)
        return rows

    def prepare(self, batch: list[tuple[int, list[Any]]]) -> list[Row]:
        """The first half of a batch, before its transaction (the long half, which other
        writers need not wait for): its rows converted, resolved and checked, the good ones
        with their unsaved record and duplicate keys. Writes nothing."""
        rows = self.read_rows(batch)
        for row in rows:
            if not row.errors:
                self.build(row)
            if not row.errors:
                self.keys_for(row)
        return rows

    def run_batch(self, rows: list[Row]) -> Outcome:
        """The second half, in the batch's transaction: duplicates found and handled, the new
        records written, the bad rows kept."""
        outcome = Outcome()
        for row in rows:
            if row.errors:
                outcome.reject(row)
        valid = [row for row in rows if not row.errors]
        matches = self.existing_matches(valid) if any(row.keys for row in valid) else {}
        pending: list[Row] = []
        # keys of the file's new rows: this batch's (the database has the earlier batches'),
        # or every batch's in a dry run (the database has none)
        claimed: dict[tuple[str, str], Ref] = self._dry_claimed if self.dry_run else {}
        refs: list[Ref] = []
        for row in valid:
            target: Any = None
            if self.on_duplicate != OnDuplicate.CREATE:
                for key in row.keys:
                    target = matches.get(key) or claimed.get(key)
                    if target is not None:
                        break
                if target is None and row.name_forms is not None:
                    target = self.name_match(row)
            if target is None:
                pending.append(row)
                ref = Ref(row.line, row)
                refs.append(ref)
                for key in row.keys:
                    claimed.setdefault(key, ref)
                if row.name_forms is not None and self._names is not None:
                    self._names.add(ref, str(getattr(row.obj, self._name_field)), row.parent_id)
                continue
            if isinstance(target, Ref) and target.record_id is None and target.row is not None and not self.dry_run:
                self.write(pending, outcome)  # an earlier row of the file: written first
                pending = []
            self.duplicate(row, target, outcome)
        self.write(pending, outcome)
        for ref in refs:  # keep the record's id, not the row
            ref.pk, ref.row = ref.record_id, None
        return outcome

    def write(self, rows: list[Row], outcome: Outcome) -> None:
        if not rows:
            return
        if not self.dry_run:
            record_services.record_bulk_create(
                self.rt,
                ctx=self.ctx,
                objs_or_data=[row.obj for row in rows],
                tags=[row.data.get(import_mapping.TAGS) for row in rows],
                audit_extra={"import": self.job.pk},
            )
        outcome.created += len(rows)

    def duplicate(self, row: Row, target: Any, outcome: Outcome) -> None:
        """Apply the duplicate policy to ``row`` matching ``target`` (a record id, or an earlier
        row of the file)."""
        if isinstance(target, Ref):
            line = _("line %(line)d of the file") % {"line": target.line}
            pk = target.record_id
        else:
            pk = target
            line = ""
        if self.on_duplicate == OnDuplicate.SKIP:
            outcome.skip(_("Already there (%(where)s).") % {"where": line} if line else _("Already there."))
            return
        if self.dry_run or pk is None:
            outcome.updated += 1
            return
        obj = visible_to(self.ctx.user, self.rt.model.objects.all(), self.rt).filter(pk=pk).first()
        if obj is None:
            outcome.skip(_("Already there."))
            return
        data = self.update_data(row, obj)
        if not data:
            outcome.skip(_("Nothing to fill in."))
            return
        try:
            with transaction.atomic():
                record_services.record_update(self.rt, ctx=self.ctx, obj=obj, data=data)
        except ValidationError as error:
            row.errors = {self.header_of.get(k, k): v for k, v in _messages(error).items()}
            outcome.reject(row)
            return
        except (PermissionDenied, StaleVersion) as error:
            row.errors = {"__all__": [str(getattr(error, "message", "") or error)]}
            outcome.reject(row)
            return
        outcome.updated += 1

    def update_data(self, row: Row, obj: Any) -> dict[str, Any]:
        """What a duplicate row changes: every given value (overwrite) or only those whose
        field is empty on the record (fill). Empty cells never clear a value."""
        fill = self.on_duplicate == OnDuplicate.FILL
        data: dict[str, Any] = {}
        writable = set(self.rt.fields)
        for name, value in row.data.items():
            if name in (import_mapping.NUMBER,) or (name not in writable and name not in ("custom", "tags")):
                continue
            if name == "custom":
                current = obj.custom or {}
                given = {k: v for k, v in value.items() if not (fill and current.get(k) not in (None, "", []))}
                if given:
                    data["custom"] = given
                continue
            if name == import_mapping.TAGS:
                if not fill or not obj.tags.exists():
                    data["tags"] = [*obj.tags.all(), *value] if not fill else value
                continue
            model_field = self.rt.model_field(name)
            if fill:
                if isinstance(model_field, models.ManyToManyField):
                    if getattr(obj, name).exists():
                        continue
                elif getattr(obj, model_field.attname) not in (None, ""):
                    continue
            data[name] = value
        return data


# ---------------------------------------------------------------- running a job


def _importer(rt: RecordType) -> GenericImporter:
    from kehu.dataio.imports.services import importer_for

    special = importer_for(rt.key)
    return special if special is not None else GenericImporter()


def _merge_summary(summary: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    merged = dict(summary)
    for kind, counter in outcome.reasons.items():
        current = dict(merged.get(kind) or {})
        for reason, count in counter.items():
            if reason not in current and len(current) >= MAX_REASONS:
                reason = _("Other reasons")
            current[reason] = current.get(reason, 0) + count
        merged[kind] = current
    return merged


def _fail(job: ImportJob, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error=message, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def run(job: ImportJob, *, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Run or resume ``job`` in this process: rows already committed (``processed_rows``) are
    skipped. Returns the job as it ended (done, failed or cancelled)."""
    from kehu.dataio.imports.services import job_file_info, job_path, record_type_for

    job.refresh_from_db()
    if job.status in (ImportStatus.DONE,) and not job.dry_run:
        return job
    rt = record_type_for(job.record_type)
    user = job.created_by
    ctx = Context(user=user, source=Source.IMPORT)
    path = job_path(job)
    if not path.exists():
        return _fail(job, _("The uploaded file is no longer stored; upload it again."))
    if not user.is_active:
        return _fail(job, _("The user who started this import is no longer active."))
    now = timezone.now()
    job.status = ImportStatus.RUNNING
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.finished_at = None
    job.error = ""
    info = job_file_info(job)
    if job.total_rows is None:
        job.total_rows = readers.count_rows(path, info, job.sheet)
    job.save(update_fields=["status", "started_at", "heartbeat_at", "finished_at", "error", "total_rows"])
    try:
        with custom_cached():
            require(ctx, rt, "add")
            importer = _importer(rt)
            importer.setup(rt, ctx, job)
            rows = itertools.islice(readers.data_rows(path, info, job.sheet), job.processed_rows, None)
            # the new records' search documents: written by another process, batch after batch
            with search_index.background_indexing(), heap.bulk_work():
                for batch in importer.batches(rows):
                    status = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
                    if status != ImportStatus.RUNNING:  # cancelled meanwhile
                        job.refresh_from_db()
                        return job
                    _run_batch(job, importer, batch)
                    if progress is not None:
                        progress(job)
            if not job.dry_run:  # after a kill: the records committed before it, not yet indexed
                search_index.index_missing(rt, created_by=user, since=job.started_at)
    except PermissionDenied as error:
        return _fail(job, str(error))
    except ValidationError as error:  # a file that no longer reads
        return _fail(job, " ".join(error.messages))
    except DatabaseError as error:
        log.exception("import %s failed", job.pk)
        return _fail(
            job,
            _("A database error stopped the import after %(rows)d rows; run it again to go on: %(error)s")
            % {"rows": job.processed_rows, "error": error},
        )
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    job.refresh_from_db()
    if progress is not None:
        progress(job)
    return job


def _run_batch(job: ImportJob, importer: GenericImporter, batch: list[tuple[int, list[Any]]]) -> None:
    """One batch: its rows prepared, then in one transaction its records, rejected rows and the
    job's checkpoint."""
    from kehu.dataio.imports.services import ROW_PURPOSE

    rows = importer.prepare(batch)
    with transaction.atomic():
        outcome = importer.run_batch(rows)
        if outcome.rejected:
            ImportRejectedRow.objects.bulk_create(
                [
                    ImportRejectedRow(
                        job=job,
                        line=row.line,
                        row=crypto.encrypt_json([convert.text(c) for c in row.cells], purpose=ROW_PURPOSE),
                        errors=row.errors,
                    )
                    for row in outcome.rejected
                ],
                batch_size=500,
            )
        job.summary = _merge_summary(job.summary, outcome)
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=F("processed_rows") + len(batch),
            created_count=F("created_count") + outcome.created,
            updated_count=F("updated_count") + outcome.updated,
            skipped_count=F("skipped_count") + outcome.skipped,
            rejected_count=F("rejected_count") + len(outcome.rejected),
            summary=job.summary,
            heartbeat_at=timezone.now(),
        )
    job.refresh_from_db(
        fields=[
            "processed_rows",
            "created_count",
            "updated_count",
            "skipped_count",
            "rejected_count",
            "summary",
            "status",
        ]
    )


def reasons(job: ImportJob) -> Iterable[tuple[str, str, int]]:
    """(kind, reason, count) of the job's summary, most frequent first."""
    for kind in ("rejected", "skipped"):
        for reason, count in sorted((job.summary.get(kind) or {}).items(), key=lambda item: -item[1]):
            yield kind, reason, count
