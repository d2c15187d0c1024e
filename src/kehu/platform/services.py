"""The generic write path every record type shares: create, update, delete, restore and the
bulk forms of update and delete. Each validates, checks access, writes the audit entry and
publishes its event after commit, so no caller can skip any of it (DESIGN.md, "The spine")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform import customfields
from kehu.platform import tags as record_tags
from kehu.platform.access import can_reassign, require, visible_to
from kehu.platform.bulk_insert import bulk_insert
from kehu.platform.context import Context, Source
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.events import WRITTEN, Event, publish, publish_many
from kehu.platform.fields import sync_blind_indexes
from kehu.platform.instances import unsaved
from kehu.platform.models import AuditAction, AuditEntry
from kehu.platform.numbering import next_number, next_numbers
from kehu.platform.records import RecordType, registry, related_model

Data = Mapping[str, Any]


def _resolve_foreign_key(ctx: Context, field: models.ForeignKey, value: Any) -> models.Model | None:
    """A related record from an instance or a primary key, seen through the caller's eyes."""
    if value in (None, ""):
        return None
    target = related_model(field)
    key = field.target_field.attname  # the primary key, or the ``to_field`` (a stage's key)
    pk = getattr(value, key) if isinstance(value, models.Model) else value
    queryset = target._default_manager.all()
    target_type = registry.for_model_or_none(target)
    if target_type is not None:
        queryset = visible_to(ctx.user, queryset, target_type)
    elif target._meta.label == "accounts.User":
        queryset = queryset.filter(is_active=True)
    try:
        return queryset.get(**{key: pk})
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise ValidationError(
            {field.name: _("Select a valid %(type)s.") % {"type": target._meta.verbose_name}}
        ) from None


def _resolve_many(ctx: Context, field: models.ManyToManyField, value: Any) -> list[models.Model]:
    """Related records from instances or primary keys, each seen through the caller's eyes
    like a foreign key (``_resolve_foreign_key``); in the order given, without repeats."""
    if value in (None, ""):
        return []
    if isinstance(value, str | int | models.Model):
        value = [value]
    target = related_model(field)
    pks: dict[Any, None] = {}
    for item in value:
        pk = item.pk if isinstance(item, models.Model) else item
        if isinstance(pk, bool) or not isinstance(pk, int | str):
            raise ValidationError({field.name: _("Give a list of ids.")})
        pks[pk] = None
    queryset = target._default_manager.all()
    target_type = registry.for_model_or_none(target)
    if target_type is not None:
        queryset = visible_to(ctx.user, queryset, target_type)
    elif target._meta.label == "accounts.User":
        queryset = queryset.filter(is_active=True)
    try:
        found = {str(obj.pk): obj for obj in queryset.filter(pk__in=list(pks))}
    except (ValueError, TypeError):
        found = {}
    missing = [str(pk) for pk in pks if str(pk) not in found]
    if missing:
        raise ValidationError(
            {
                field.name: _("Select valid %(type)s (not found: %(ids)s).")
                % {"type": target._meta.verbose_name_plural, "ids": ", ".join(missing)}
            }
        )
    return [found[str(pk)] for pk in pks]


def m2m_values(obj: Any, name: str) -> list[Any]:
    """The related records of many-to-many field ``name`` as they will be once the write in
    progress is saved (for a record type's ``prepare`` hook): the ones being set, else the
    stored ones."""
    pending = getattr(obj, "_kehu_m2m", {})
    if name in pending:
        return list(pending[name])
    return list(getattr(obj, name).all()) if obj.pk is not None else []


def _save_m2m(obj: Any) -> None:
    """Set the many-to-many values ``_assign`` resolved, once the row exists."""
    for name, items in getattr(obj, "_kehu_m2m", {}).items():
        getattr(obj, name).set(items)
    obj._kehu_m2m = {}


def _assign(rt: RecordType, ctx: Context, obj: models.Model, data: Data, *, creating: bool = False) -> None:
    writable = [*rt.fields, *rt.create_only] if creating else rt.fields
    unknown = [name for name in data if name not in writable and name != "custom"]
    if unknown:
        raise ValidationError(
            {
                name: _("This field is set when the record is created; it cannot be changed here.")
                if name in rt.create_only
                else _("This field cannot be set.")
                for name in unknown
            }
        )
    pending: dict[str, list[models.Model]] = {}
    obj._kehu_m2m = pending  # type: ignore[attr-defined]
    for name, value in data.items():
        if name == "custom":
            continue  # custom field values: set and validated in _validate
        field = rt.model_field(name)
        if isinstance(field, models.ManyToManyField):
            pending[name] = _resolve_many(ctx, field, value)  # set after the row is saved
        elif isinstance(field, models.ForeignKey):
            setattr(obj, name, _resolve_foreign_key(ctx, field, value))
        elif value is None and not field.null:
            setattr(obj, name, field.get_default() if field.has_default() else "")
        elif isinstance(value, str) and "\x00" in value:  # PostgreSQL cannot store NUL in text
            raise ValidationError({name: ProhibitNullCharactersValidator.message})
        else:
            setattr(obj, name, value)


def _apply_ownership(rt: RecordType, ctx: Context, obj: Any, data: Data, *, is_new: bool) -> None:
    """Owner defaults to the actor and team to the owner's team; only users who may reassign
    records can give them to someone else or another team."""
    if rt.visibility_via:
        return  # follows its parent (set in the record type's ``prepare``)
    if is_new and obj.owner_id is None:
        obj.owner = ctx.user
    if obj.owner_id is not None and (("owner" in data and "team" not in data) or (is_new and "team" not in data)):
        obj.team_id = obj.owner.team_id  # no owner (a PATCH of null) is refused by full_clean
    if not can_reassign(ctx) and ctx.source != Source.SYSTEM:  # system: a rule keeps a record's owner
        original = getattr(obj, "_kehu_original_owner", None) if not is_new else ctx.user.pk
        if obj.owner_id != original and obj.owner_id != ctx.user.pk:
            raise ValidationError({"owner": _("You can only assign records to yourself.")})
        if "team" in data and obj.team_id not in (obj.owner.team_id, getattr(obj, "_kehu_original_team", None)):
            raise ValidationError({"team": _("You cannot move records to another team.")})


def _validate(rt: RecordType, ctx: Context, obj: Any, data: Data, *, is_new: bool, checked: Sequence[str] = ()) -> None:
    """The rules of every write: ownership, the type's ``prepare`` hook, custom fields and the
    model's own validation. ``checked``: foreign keys the caller already resolved through
    ``visible_to`` (the import resolves a batch's in one query), not looked up again."""
    _apply_ownership(rt, ctx, obj, data, is_new=is_new)
    if rt.prepare is not None:
        rt.prepare(obj, ctx, is_new)
    exclude = ["number", *(name for name in checked if getattr(obj, rt.model_field(name).attname) is not None)]
    with customfields.values_applied(rt, ctx.user, obj, data, is_new=is_new):  # errors of both together
        obj.full_clean(exclude=exclude, validate_unique=_unique_checks_apply(obj, exclude))


_unique_checks: dict[tuple[type[models.Model], tuple[str, ...]], tuple[list[Any], list[Any]]] = {}


def _unique_checks_apply(obj: models.Model, exclude: Sequence[str]) -> bool:
    """Whether ``full_clean`` has uniqueness to check: not when the only check is the primary
    key's and the record is new (Django skips a check of a missing value, after working the
    model's checks out again for each instance: a few percent of an import's time)."""
    key = (type(obj), tuple(exclude))
    checks = _unique_checks.get(key)
    if checks is None:
        checks = _unique_checks[key] = obj._get_unique_checks(exclude=set(exclude), include_meta_constraints=True)  # type: ignore[attr-defined]
    unique, dates = checks
    primary = (obj._meta.pk.name,)  # type: ignore[union-attr]
    return bool(dates) or any(fields != primary or obj.pk is not None for _model, fields in unique)


def record_validate(
    rt: RecordType, *, ctx: Context, obj: Any, data: Data, is_new: bool = True, checked: Sequence[str] = ()
) -> None:
    """Check ``obj`` (its plain fields already set from ``data``) with the same rules as
    ``record_create``/``record_update``, without writing: for bulk writers such as the import,
    which then hand the valid records to ``record_bulk_create``. ``data`` holds the names the
    caller sets (``owner``, ``team``, ``custom``); ``checked`` the foreign keys it resolved
    through ``visible_to`` itself. Raises ValidationError."""
    _validate(rt, ctx, obj, data, is_new=is_new, checked=checked)


def _event(name: str, rt: RecordType, obj: Any, ctx: Context, **data: Any) -> Event:
    return Event(
        type=name,
        record_type=rt.key,
        record_id=obj.pk,
        data={"number": obj.number, **data},
        actor_id=ctx.user.pk,
        source=ctx.source,
    )


def record_create(rt: RecordType, *, ctx: Context, data: Data) -> Any:
    """Create a record. Raises PermissionDenied, ValidationError."""
    require(ctx, rt, "add")
    data, tags = record_tags.split_data(data)  # names or Tag objects; None: not given
    audited = [*rt.fields, *rt.create_only, *rt.system_fields]
    if tags is not None:
        audited.append("tags")
    obj = rt.model()
    with transaction.atomic():
        _assign(rt, ctx, obj, data, creating=True)
        _validate(rt, ctx, obj, data, is_new=True)
        obj.number = next_number(rt.number_prefix)
        obj.created_by = obj.updated_by = ctx.user
        obj.created_at = obj.updated_at = timezone.now()
        obj.save(force_insert=True)
        _save_m2m(obj)
        if tags is not None:
            record_tags.apply_to_record(rt, ctx, obj, tags)
        audit_log.audit(ctx, AuditAction.CREATE, obj, changes=_created_changes(audit_log.snapshot(obj, audited)))
        if rt.after_save is not None:
            rt.after_save(obj, ctx, True)
        publish(_event("record.created", rt, obj, ctx))
    return obj


def record_update(rt: RecordType, *, ctx: Context, obj: Any, data: Data, version: int | None = None) -> Any:
    """Apply ``data`` to a record the caller can see. Raises PermissionDenied, ValidationError,
    StaleVersion (when ``version`` is not the stored one; nothing is written)."""
    require(ctx, rt, "change")
    if obj.is_deleted:
        raise NotVisible
    expected = obj.version if version is None else int(version)
    if expected != obj.version:
        raise StaleVersion(obj.version)
    data, tags = record_tags.split_data(data)  # names or Tag objects; None: not given
    audited = [*rt.fields, *rt.system_fields] if tags is None else [*rt.fields, *rt.system_fields, "tags"]
    with transaction.atomic():
        before = audit_log.snapshot(obj, audited)
        obj._kehu_original_owner = obj.owner_id
        obj._kehu_original_team = obj.team_id
        _assign(rt, ctx, obj, data)
        _validate(rt, ctx, obj, data, is_new=False)
        if tags is not None:  # rolled back with the rest on a stale version
            record_tags.apply_to_record(rt, ctx, obj, tags)
        _save_m2m(obj)  # rolled back with the rest on a stale version
        changes = audit_log.diff(before, audit_log.snapshot(obj, audited))
        if not changes:
            return obj
        obj.updated_at = timezone.now()
        obj.updated_by = ctx.user
        # "custom.<name>" changes are written to the custom column; many-to-many ones are set
        columns = {
            field.attname: None
            for field in (rt.model_field(name.partition(".")[0]) for name in changes if name != "tags")
            if not field.many_to_many
        }
        columns.update(dict.fromkeys(sync_blind_indexes(obj, changes)))  # encrypted fields' index columns
        values = {attname: getattr(obj, attname) for attname in [*columns, "updated_at", "updated_by_id"]}
        written = rt.model.all_objects.filter(pk=obj.pk, version=expected).update(**values, version=expected + 1)
        if not written:
            current = rt.model.all_objects.filter(pk=obj.pk).values_list("version", flat=True).first()
            raise StaleVersion(current or expected)
        obj.version = expected + 1
        audit_log.audit(ctx, AuditAction.UPDATE, obj, changes=changes)
        if rt.after_save is not None:
            rt.after_save(obj, ctx, False)
        publish(_event("record.updated", rt, obj, ctx, changed=sorted(changes)))
    return obj


def _set_deleted(
    rt: RecordType, ctx: Context, objs: Sequence[Any], *, deleted_at: Any, action: str
) -> list[AuditEntry]:
    """Move ``objs`` into (``deleted_at`` set) or out of (``None``) the trash with their
    children; returns the audit entries for the caller to write in one go."""
    if not objs:
        return []
    previous = {obj.deleted_at for obj in objs if obj.deleted_at is not None}
    now = timezone.now()
    entries: list[AuditEntry] = []
    for obj in objs:
        changes = {"deleted_at": [audit_log.json_value(obj, "deleted_at"), None]}
        obj.deleted_at = deleted_at
        obj.deleted_by = ctx.user if deleted_at is not None else None
        obj.version += 1
        obj.updated_at, obj.updated_by = now, ctx.user
        changes["deleted_at"][1] = audit_log.json_value(obj, "deleted_at")
        entries.append(audit_log.entry_for(ctx, action, obj, changes=changes))
    rt.model.all_objects.bulk_update(objs, ["deleted_at", "deleted_by", "version", "updated_at", "updated_by"])
    event = "record.deleted" if deleted_at is not None else "record.restored"
    publish_many([_event(event, rt, obj, ctx) for obj in objs])
    ids = [obj.pk for obj in objs]
    for child in rt.children:
        child_rt = registry[child.key]
        children = child_rt.model.all_objects.filter(**{f"{child.fk}_id__in": ids})
        if deleted_at is not None:
            children = children.filter(deleted_at__isnull=True)
        else:  # bring back only the children that went to the trash together with the parent
            children = children.filter(deleted_at__in=previous)
        entries.extend(_set_deleted(child_rt, ctx, list(children), deleted_at=deleted_at, action=action))
    return entries


def record_delete(rt: RecordType, *, ctx: Context, obj: Any, version: int | None = None) -> None:
    """Move a record (and its children) to the trash. Raises PermissionDenied, StaleVersion."""
    if version is not None and int(version) != obj.version:
        raise StaleVersion(obj.version)
    record_bulk_delete(rt, ctx=ctx, objs=[obj])


def record_bulk_delete(rt: RecordType, *, ctx: Context, objs: Iterable[Any]) -> int:
    """Move records the caller can see to the trash in one transaction; returns how many."""
    require(ctx, rt, "delete")
    with transaction.atomic():
        ids = [obj.pk for obj in objs]
        queryset = rt.model.all_objects.select_for_update(of=("self",)).filter(pk__in=ids, deleted_at__isnull=True)
        targets = list(visible_to(ctx.user, queryset, rt))
        if rt.before_delete is not None and targets:
            rt.before_delete(targets, ctx)
        entries = _set_deleted(rt, ctx, targets, deleted_at=timezone.now(), action=AuditAction.DELETE)
        AuditEntry.objects.bulk_create(entries)
    return len(targets)


def record_restore(rt: RecordType, *, ctx: Context, obj: Any) -> Any:
    """Bring a record back from the trash with the children deleted along with it. Raises
    ValidationError for a child whose parent is still in the trash (restore the parent)."""
    require(ctx, rt, "delete")
    if not obj.is_deleted:
        return obj
    for parent_rt in registry:
        for child in parent_rt.children:
            parent = getattr(obj, child.fk) if child.key == rt.key else None
            if parent is not None and parent.is_deleted:
                raise ValidationError(
                    {
                        child.fk: _("%(record)s is in the trash: restore it first.")
                        % {"record": capfirst(f"{parent_rt.label} {parent}")}
                    }
                )
    with transaction.atomic():
        entries = _set_deleted(rt, ctx, [obj], deleted_at=None, action=AuditAction.RESTORE)
        AuditEntry.objects.bulk_create(entries)
    return obj


def record_bulk_update(rt: RecordType, *, ctx: Context, objs: Iterable[Any], data: Data) -> int:
    """Set the same values on many records in one transaction: every record is validated
    first and nothing is written unless all are valid. Raises PermissionDenied,
    ValidationError (naming the first record that failed)."""
    require(ctx, rt, "change")
    bad = [name for name in data if name not in rt.bulk_fields]
    if bad:
        raise ValidationError({name: _("This field cannot be changed in bulk.") for name in bad})
    objs = list(objs)
    visible_qs = visible_to(ctx.user, rt.model.objects.filter(pk__in=[obj.pk for obj in objs]), rt)
    visible = set(visible_qs.values_list("pk", flat=True))
    objs = [obj for obj in objs if obj.pk in visible]
    now = timezone.now()
    entries: list[AuditEntry] = []
    changed_objs: list[Any] = []
    changed_fields: set[str] = set()
    with transaction.atomic():
        for obj in objs:
            before = audit_log.snapshot(obj, [*rt.fields, *rt.system_fields])
            obj._kehu_original_owner = obj.owner_id
            obj._kehu_original_team = obj.team_id
            _assign(rt, ctx, obj, data)
            try:
                _validate(rt, ctx, obj, data, is_new=False)
            except ValidationError as error:
                raise ValidationError(
                    _("%(record)s: %(error)s") % {"record": obj.number, "error": "; ".join(error.messages)}
                ) from error
            changes = audit_log.diff(before, audit_log.snapshot(obj, [*rt.fields, *rt.system_fields]))
            if not changes:
                continue
            obj.updated_at, obj.updated_by, obj.version = now, ctx.user, obj.version + 1
            changed_objs.append(obj)
            changed_fields.update(changes)
            entries.append(audit_log.entry_for(ctx, AuditAction.UPDATE, obj, changes=changes))
        if changed_objs:
            indexes = dict.fromkeys(name for obj in changed_objs for name in sync_blind_indexes(obj, changed_fields))
            columns = [*sorted(changed_fields), *indexes, "updated_at", "updated_by", "version"]
            rt.model.all_objects.bulk_update(changed_objs, columns, batch_size=500)
            AuditEntry.objects.bulk_create(entries, batch_size=500)
            if rt.after_save is not None:
                for obj in changed_objs:
                    rt.after_save(obj, ctx, False)
            publish_many(
                [
                    _event("record.updated", rt, obj, ctx, changed=sorted(entry.changes))
                    for obj, entry in zip(changed_objs, entries, strict=True)
                ]
            )
    return len(changed_objs)


def _created_changes(values: dict[str, Any]) -> dict[str, list[Any]]:
    """A created record's audit changes: ``[None, value]`` for each value but the empty ones
    (None, "", [], {}; 0 and False stay)."""
    return {
        name: [None, value]
        for name, value in values.items()
        if value or not (value is None or value == "" or value == [] or value == {})
    }


def _cache_related(rt: RecordType, objs: Sequence[Any], names: Iterable[str]) -> None:
    """Load the foreign keys among ``names`` that ``objs`` hold only as ids, one query per
    relation (for the audit snapshot's ``repr``, without a query per record)."""
    for name in names:
        field = rt.model_field(name)
        if not isinstance(field, models.ForeignKey):
            continue
        wanted = {getattr(obj, field.attname) for obj in objs if not field.is_cached(obj)} - {None}
        if not wanted:
            continue
        key = field.target_field.attname
        found = related_model(field)._base_manager.in_bulk(list(wanted), field_name=key)
        for obj in objs:
            value = getattr(obj, field.attname)
            if not field.is_cached(obj) and value in found:
                setattr(obj, name, found[value])


def record_bulk_create(
    rt: RecordType,
    *,
    ctx: Context,
    objs_or_data: Sequence[Any],
    tags: Sequence[Any] | None = None,
    audit_extra: dict[str, Any] | None = None,
) -> list[Any]:
    """Create many records in one transaction: the bulk form of ``record_create``.

    Each item is either a data dictionary (assigned and validated like ``record_create``;
    nothing is written unless every item is valid, the ValidationError names the first bad
    one) or an unsaved instance the caller already checked with ``record_validate`` (the
    import, which validates row by row and keeps the good rows). ``tags``: per item, tag
    names or ``Tag`` objects (``None``: none), used when the item's data has no ``tags``.
    Numbers are reserved in one query, the rows written with ``bulk_insert``, many-to-many
    values, tags and audit entries in one query each; the ``after_bulk_create`` hook (else
    ``after_save`` for each record) runs, and one ``record.created`` event is published per
    record. Search documents and timeline entries are written in the transaction from the
    instances when the type allows (``search.index_created``, ``timeline.write_created``;
    an ``after_bulk_create`` hook must leave the records' rows as the instances hold them),
    else by the batch subscribers after the commit. Raises PermissionDenied,
    ValidationError. Returns the saved records in the order given."""
    require(ctx, rt, "add")
    items = list(objs_or_data)
    if not items:
        return []
    tag_items: list[Any] = list(tags) if tags is not None else [None] * len(items)
    if len(tag_items) != len(items):
        raise ValueError("tags must hold one entry per item")
    objs: list[Any] = []
    with transaction.atomic():
        for index, item in enumerate(items):
            if isinstance(item, models.Model):
                objs.append(item)
                continue
            data, item_tags = record_tags.split_data(item)
            if item_tags is not None:
                tag_items[index] = item_tags
            obj = rt.model()
            try:
                _assign(rt, ctx, obj, data, creating=True)
                _validate(rt, ctx, obj, data, is_new=True)
            except ValidationError as error:
                raise ValidationError(
                    _("Item %(index)d: %(error)s") % {"index": index + 1, "error": "; ".join(error.messages)}
                ) from error
            objs.append(obj)
        resolved = [record_tags.resolve_tags(rt, ctx, item) if item else [] for item in tag_items]
        now = timezone.now()
        for obj, number in zip(objs, next_numbers(rt.number_prefix, len(objs)), strict=True):
            obj.number = number
            obj.created_by = obj.updated_by = ctx.user
            obj.created_at = obj.updated_at = now
        bulk_insert(rt.model, objs)
        if any(obj.pk is None for obj in objs):  # a database that returns no ids from a bulk insert
            ids = dict(rt.model.all_objects.filter(number__in=[o.number for o in objs]).values_list("number", "pk"))
            for obj in objs:
                obj.pk = ids[obj.number]
        audited = [*rt.fields, *rt.create_only, *rt.system_fields]
        plain = [name for name in audited if not rt.model_field(name).many_to_many]
        _cache_related(rt, objs, plain)
        links: dict[Any, list[Any]] = {}
        entries: list[AuditEntry] = []
        names: dict[int, str] = {}  # of the related records the records share (their owner, stage)
        for obj, obj_tags in zip(objs, resolved, strict=True):
            related: dict[str, list[Any]] = dict(getattr(obj, "_kehu_m2m", {}) or {})
            obj._kehu_m2m = {}
            if obj_tags:
                related["tags"] = obj_tags
            values = audit_log.snapshot(obj, plain, names)
            for name, targets in related.items():
                field = rt.model_field(name)
                through = field.remote_field.through  # type: ignore[union-attr]
                source, target = field.m2m_field_name(), field.m2m_reverse_field_name()  # type: ignore[attr-defined]
                rows = links.setdefault(through, [])
                rows.extend(unsaved(through, **{f"{source}_id": obj.pk, f"{target}_id": item.pk}) for item in targets)
                values[name] = audit_log.sorted_names(targets)
            changes = _created_changes(values)
            entries.append(
                audit_log.entry_for(ctx, AuditAction.CREATE, obj, changes=changes, extra=audit_extra, at=now)
            )
        for through, rows in links.items():
            bulk_insert(through, rows)
        bulk_insert(AuditEntry, entries)
        if rt.after_bulk_create is not None:
            rt.after_bulk_create(objs, ctx)
        elif rt.after_save is not None:
            for obj in objs:
                rt.after_save(obj, ctx, True)
        # Search documents and timeline entries from the instances in hand, in this
        # transaction, when the hooks cannot have changed the rows behind them (a bulk hook
        # leaves the records as they are in memory): the subscribers then skip these events.
        written = []
        if rt.after_save is None or rt.after_bulk_create is not None:
            from kehu.platform import timeline
            from kehu.platform.search import index as search_index

            if search_index.index_created(rt, objs):
                written.append("search")
            if timeline.write_created(rt.key, objs):
                written.append("timeline")
        extra = {WRITTEN: written} if written else {}
        publish_many([_event("record.created", rt, obj, ctx, **extra) for obj in objs])
    return objs
