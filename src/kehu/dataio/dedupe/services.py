"""Merging two records of one type into one, undoing a merge, and reviewing the finder's pairs.

A merge is one transaction: the survivor gets the chosen field values through the update path
(version check, validation, audit, event), every related record of the loser moves to the
survivor (found from the model's reverse relations, one UPDATE per relation, with their audit
entries and ``record.updated`` events so the search index and the timeline follow), the
loser's timeline facts move too, and the loser goes to the trash. The ``Merge`` row keeps what
is needed to undo all of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.dataio.dedupe.models import CandidateStatus, DuplicateCandidate, Merge
from kehu.platform import audit as audit_log
from kehu.platform import services as record_services
from kehu.platform.access import require, visible_to
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.events import Event, publish_many
from kehu.platform.fields import encrypted_fields, open_custom, open_value
from kehu.platform.models import AuditAction, AuditEntry, BaseRecord, Tag, TimelineEntry
from kehu.platform.records import RecordType, registry

SURVIVOR, LOSER = "survivor", "loser"
# Fields a merge never takes from the loser: the survivor keeps its owner and team.
NOT_MERGED = frozenset({"owner", "team"})


# ---------------------------------------------------------------- relations


@dataclass(frozen=True)
class Relation:
    """A relation pointing at a record type's model: a foreign key (or one-to-one) on
    ``model``, or a many-to-many field of ``model``."""

    model: type[models.Model]
    field: Any

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    @property
    def many(self) -> bool:
        return bool(self.field.many_to_many)

    @property
    def verbose_name(self) -> str:
        return str(self.model._meta.verbose_name_plural)


def _append_only(model: type[models.Model]) -> bool:
    """A history table whose rows refuse updates (a customer's lifecycle transitions): its rows
    stay with the record they describe."""
    return type(model._default_manager.get_queryset()).update is not models.QuerySet.update


def relations(model: type[models.Model]) -> list[Relation]:
    """Every foreign key, one-to-one and many-to-many field pointing at ``model`` (hidden ones
    included), except the automatic tables of many-to-many fields and append-only histories."""
    found = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete or not rel.is_relation:
            continue
        related = cast("type[models.Model] | None", rel.related_model)
        if related is None or related._meta.auto_created or _append_only(related):
            continue
        found.append(Relation(model=related, field=rel.field))  # type: ignore[union-attr]
    return sorted(found, key=lambda r: r.label)


def relation_by_label(label: str) -> Relation:
    app_model, _dot, field_name = label.rpartition(".")
    model = apps.get_model(app_model)
    return Relation(model=model, field=model._meta.get_field(field_name))


def related_counts(rt: RecordType, obj: Any) -> list[tuple[str, int]]:
    """How many related records of each kind would move with ``obj`` (trash included), for the
    pair page: ``[(verbose name plural, count)]``, the empty ones left out."""
    counts = []
    for relation in relations(rt.model):
        if relation.many:
            through = relation.field.remote_field.through
            target = relation.field.m2m_reverse_field_name()
            n = through.objects.filter(**{f"{target}_id": obj.pk}).count()
        else:
            queryset = relation.model._base_manager.filter(**{relation.field.attname: _key(relation.field, obj)})
            if relation.model is rt.model:
                queryset = queryset.exclude(pk=obj.pk)
            n = queryset.count()
        if n:
            counts.append((relation.verbose_name, n))
    return counts


def _key(field: Any, obj: Any) -> Any:
    """The value a foreign key holds for ``obj`` (its primary key, or the ``to_field``)."""
    return getattr(obj, field.target_field.attname)


# ---------------------------------------------------------------- field choices


def _is_blank(value: Any) -> bool:
    return value in (None, "", [], {})


def merge_fields(rt: RecordType) -> list[str]:
    """The fields whose value the person merging picks (the survivor keeps owner and team)."""
    return [name for name in rt.fields if name not in NOT_MERGED]


def _value(rt: RecordType, obj: Any, name: str) -> Any:
    field = rt.model_field(name)
    if field.many_to_many:
        return sorted(getattr(obj, name).values_list("pk", flat=True))
    return getattr(obj, field.attname)


@dataclass
class FieldChoice:
    """One field on which the two records differ: both values and the default pick."""

    name: str
    label: str
    survivor: Any
    loser: Any
    default: str  # SURVIVOR or LOSER

    @property
    def is_custom(self) -> bool:
        return self.name.startswith("custom.")


def differing_fields(rt: RecordType, survivor: Any, loser: Any) -> list[FieldChoice]:
    """The fields (custom ones as ``custom.<key>``) on which the two records differ, with the
    default pick: the survivor's value, or the loser's when the survivor's is blank."""
    from kehu.platform.customfields.definitions import all_definitions

    found = []
    for name in merge_fields(rt):
        field = rt.model_field(name)
        left, right = _value(rt, survivor, name), _value(rt, loser, name)
        if left == right:
            continue
        default = LOSER if _is_blank(left) and not _is_blank(right) else SURVIVOR
        found.append(FieldChoice(name, str(field.verbose_name), left, right, default))
    labels = {d.name: str(d.label) for d in all_definitions(rt.key)}
    for key in sorted(set(survivor.custom or {}) | set(loser.custom or {})):
        left, right = (survivor.custom or {}).get(key), (loser.custom or {}).get(key)
        if left == right or key not in labels:
            continue
        default = LOSER if _is_blank(left) and not _is_blank(right) else SURVIVOR
        found.append(FieldChoice(f"custom.{key}", labels[key], left, right, default))
    return found


def _merge_data(rt: RecordType, survivor: Any, loser: Any, choices: Mapping[str, str]) -> dict[str, Any]:
    """The data ``record_update`` gives the survivor: the loser's values where chosen (or by
    default), many-to-many values joined, the loser's tags added."""
    from kehu.platform.customfields.definitions import all_definitions

    differing = {choice.name: choice for choice in differing_fields(rt, survivor, loser)}
    known = {*merge_fields(rt), *(f"custom.{definition.name}" for definition in all_definitions(rt.key))}
    errors: dict[str, str] = {}
    for name, pick in choices.items():
        if name not in known:
            errors[name] = _("There is no such field to choose a value for.")
        elif pick not in (SURVIVOR, LOSER):
            errors[name] = _("Choose %(survivor)s or %(loser)s.") % {"survivor": SURVIVOR, "loser": LOSER}
    if errors:
        raise ValidationError(errors)
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, choice in differing.items():
        pick = choices.get(name, choice.default)
        if choice.is_custom:
            if pick == LOSER:
                custom[name.removeprefix("custom.")] = choice.loser
            continue
        field = rt.model_field(name)
        if field.many_to_many:
            data[name] = sorted(set(choice.survivor) | set(choice.loser)) if pick == SURVIVOR else choice.loser
        elif pick == LOSER:
            if field.is_relation and choice.loser == survivor.pk and field.related_model is rt.model:
                continue  # the loser's parent is the survivor: a record is never its own parent
            data[name] = choice.loser
    for name in merge_fields(rt):
        field = rt.model_field(name)
        if field.many_to_one and field.related_model is rt.model and _value(rt, survivor, name) == loser.pk:
            # the survivor belonged to the loser's group: it takes the loser's place in it
            parent = _value(rt, loser, name)
            data[name] = None if parent == survivor.pk else parent
    if custom:
        data["custom"] = custom
    loser_tags = list(loser.tags.all())
    if {tag.pk for tag in loser_tags} - set(survivor.tags.values_list("pk", flat=True)):
        data["tags"] = [*survivor.tags.all(), *loser_tags]
    return data


def _before(rt: RecordType, survivor: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The survivor's values of the fields ``data`` changes, sealed like audit values."""
    before: dict[str, Any] = {}
    for name in data:
        if name == "custom":
            for key in data["custom"]:
                before[f"custom.{key}"] = (survivor.custom or {}).get(key)
        elif name == "tags" or rt.model_field(name).many_to_many:
            before[name] = sorted(getattr(survivor, name).values_list("pk", flat=True))
        else:
            before[name] = audit_log.json_value(survivor, name)
    return audit_log.seal_changes(rt.model, before)


def _restore_data(rt: RecordType, before: Mapping[str, Any]) -> dict[str, Any]:
    """``record_update`` data that puts back the values ``_before`` kept."""
    encrypted = {field.name: field for field in encrypted_fields(rt.model)}
    data: dict[str, Any] = {}
    for name, value in before.items():
        if name.startswith("custom."):
            data.setdefault("custom", {})[name.removeprefix("custom.")] = open_custom(value)
        elif name == "tags":
            data["tags"] = list(Tag.objects.filter(pk__in=value))
        elif name in encrypted:
            data[name] = open_value(encrypted[name], value) or ""
        elif isinstance(value, dict) and "id" in value:
            data[name] = value["id"]
        elif rt.model_field(name).many_to_many:
            data[name] = list(value)
        else:
            data[name] = value
    return data


# ---------------------------------------------------------------- moving related records


def _publish_updated(model: type[models.Model], objs: Iterable[Any], ctx: Context, changed: list[str]) -> None:
    rt = registry.for_model_or_none(model)
    if rt is None:
        return
    publish_many(
        [
            Event(
                type="record.updated",
                record_type=rt.key,
                record_id=obj.pk,
                data={"number": getattr(obj, "number", ""), "changed": changed},
                actor_id=ctx.user.pk,
                source=ctx.source,
            )
            for obj in objs
        ]
    )


def _move_foreign_keys(
    rt: RecordType, ctx: Context, relation: Relation, ids: Sequence[int], source: Any, target: Any, merge: Merge
) -> list[int]:
    """Point ``relation`` of the rows ``ids`` (those still pointing at ``source``) at
    ``target`` in one UPDATE, with an audit entry and an event per row; returns the ids moved."""
    model, field = relation.model, relation.field
    manager = model._base_manager
    rows = manager.filter(pk__in=ids, **{field.attname: _key(field, source)})
    moved = list(rows.values_list("pk", flat=True))
    if not moved:
        return []
    values: dict[str, Any] = {field.attname: _key(field, target)}
    is_record = issubclass(model, BaseRecord)
    if is_record:
        values.update(version=F("version") + 1, updated_at=timezone.now(), updated_by=ctx.user)
        related_rt = registry.for_model_or_none(model)
        if related_rt is not None and related_rt.visibility_via == field.name:
            values.update(owner_id=target.owner_id, team_id=target.team_id)  # they follow their parent
    manager.filter(pk__in=moved).update(**values)
    if is_record:
        objs = list(manager.filter(pk__in=moved))
        change = {field.name: [{"id": source.pk, "repr": str(source)}, {"id": target.pk, "repr": str(target)}]}
        AuditEntry.objects.bulk_create(
            [
                audit_log.entry_for(ctx, AuditAction.UPDATE, obj, changes=change, extra={"merge": merge.pk})
                for obj in objs
            ],
            batch_size=500,
        )
        _publish_updated(model, objs, ctx, [field.name])
    return moved


def _link_names(relation: Relation, owners: Sequence[int]) -> dict[int, list[Any]]:
    through = relation.field.remote_field.through
    source, target = relation.field.m2m_field_name(), relation.field.m2m_reverse_field_name()
    found: dict[int, list[Any]] = {owner: [] for owner in owners}
    for link in through.objects.filter(**{f"{source}_id__in": owners}).select_related(target):
        found[getattr(link, f"{source}_id")].append(getattr(link, target))
    return found


def _audit_links(
    ctx: Context, relation: Relation, owners: Sequence[int], before: Mapping[int, list[Any]], merge: Merge
) -> None:
    """Audit entries and events for the records whose many-to-many links a merge changed."""
    if not owners or not issubclass(relation.model, BaseRecord):
        return
    after = _link_names(relation, owners)
    objs = list(relation.model._base_manager.filter(pk__in=owners))
    name = relation.field.name
    AuditEntry.objects.bulk_create(
        [
            audit_log.entry_for(
                ctx,
                AuditAction.UPDATE,
                obj,
                changes={name: [audit_log.sorted_names(before[obj.pk]), audit_log.sorted_names(after[obj.pk])]},
                extra={"merge": merge.pk},
            )
            for obj in objs
        ],
        batch_size=500,
    )
    _publish_updated(relation.model, objs, ctx, [name])


def _move_links(ctx: Context, relation: Relation, survivor: Any, loser: Any, merge: Merge) -> dict[str, list[int]]:
    """Many-to-many links to the loser (an interaction's contacts) move to the survivor; a
    record linked to both keeps its link to the survivor and drops the loser's."""
    through = relation.field.remote_field.through
    source, target = relation.field.m2m_field_name(), relation.field.m2m_reverse_field_name()
    owners = list(through.objects.filter(**{f"{target}_id": loser.pk}).values_list(f"{source}_id", flat=True))
    if not owners:
        return {"moved": [], "dropped": []}
    before = _link_names(relation, owners)
    both = set(
        through.objects.filter(**{f"{target}_id": survivor.pk, f"{source}_id__in": owners}).values_list(
            f"{source}_id", flat=True
        )
    )
    moved = sorted(owner for owner in owners if owner not in both)
    dropped = sorted(both)
    through.objects.filter(**{f"{target}_id": loser.pk, f"{source}_id__in": moved}).update(
        **{f"{target}_id": survivor.pk}
    )
    through.objects.filter(**{f"{target}_id": loser.pk, f"{source}_id__in": dropped}).delete()
    _audit_links(ctx, relation, sorted(owners), before, merge)
    return {"moved": moved, "dropped": dropped}


def _unmove_links(
    ctx: Context, relation: Relation, survivor: Any, loser: Any, links: Mapping[str, list[int]], merge: Merge
) -> None:
    through = relation.field.remote_field.through
    source, target = relation.field.m2m_field_name(), relation.field.m2m_reverse_field_name()
    owners = sorted({*links.get("moved", []), *links.get("dropped", [])})
    existing = set(relation.model._base_manager.filter(pk__in=owners).values_list("pk", flat=True))
    owners = [owner for owner in owners if owner in existing]
    if not owners:
        return
    before = _link_names(relation, owners)
    through.objects.filter(**{f"{target}_id": survivor.pk, f"{source}_id__in": links.get("moved", [])}).update(
        **{f"{target}_id": loser.pk}
    )
    linked = set(
        through.objects.filter(**{f"{target}_id": loser.pk, f"{source}_id__in": owners}).values_list(
            f"{source}_id", flat=True
        )
    )
    through.objects.bulk_create(
        [
            through(**{f"{source}_id": owner, f"{target}_id": loser.pk})
            for owner in links.get("dropped", [])
            if owner in existing and owner not in linked
        ]
    )
    _audit_links(ctx, relation, owners, before, merge)


def _demote_primaries(relation: Relation, ctx: Context, moved: Sequence[int], survivor: Any, merge: Merge) -> list[int]:
    """One primary per parent (a customer's primary contact): moved rows flagged primary stop
    being so when the survivor already has one."""
    model, field = relation.model, relation.field
    names = {f.name for f in model._meta.concrete_fields}
    if "is_primary" not in names or not moved:
        return []
    manager = model._base_manager
    has_own = manager.filter(**{field.attname: survivor.pk, "is_primary": True, "deleted_at__isnull": True}).exclude(
        pk__in=moved
    )
    if not has_own.exists():
        return []
    demoted = list(manager.filter(pk__in=moved, is_primary=True).values_list("pk", flat=True))
    _set_primary(relation, ctx, demoted, False, merge)
    return demoted


def _set_primary(relation: Relation, ctx: Context, ids: Sequence[int], value: bool, merge: Merge) -> None:
    if not ids:
        return
    manager = relation.model._base_manager
    manager.filter(pk__in=ids).update(
        is_primary=value, version=F("version") + 1, updated_at=timezone.now(), updated_by=ctx.user
    )
    objs = list(manager.filter(pk__in=ids))
    AuditEntry.objects.bulk_create(
        audit_log.entry_for(
            ctx, AuditAction.UPDATE, obj, changes={"is_primary": [not value, value]}, extra={"merge": merge.pk}
        )
        for obj in objs
    )
    _publish_updated(relation.model, objs, ctx, ["is_primary"])


# ---------------------------------------------------------------- merge and undo


def _visible_pair(rt: RecordType, ctx: Context, pks: Sequence[int], *, trash: bool = False) -> dict[int, Any]:
    manager: Any = rt.model.all_objects if trash else rt.model.objects
    queryset = visible_to(ctx.user, manager.filter(pk__in=list(pks)), rt).select_for_update(of=("self",))
    return {obj.pk: obj for obj in queryset}


def merge_records(
    rt: RecordType,
    *,
    ctx: Context,
    survivor: Any,
    loser: Any,
    choices: Mapping[str, str] | None = None,
    candidate: DuplicateCandidate | None = None,
) -> Merge:
    """Merge ``loser`` into ``survivor`` in one transaction and return the ``Merge`` that can
    undo it. ``choices``: ``{field name or "custom.<key>": "survivor" | "loser"}`` for the fields
    whose values differ (default: the survivor's, or the loser's where the survivor's is blank);
    tags are joined. Raises PermissionDenied (needs "change" and "delete" on the type),
    NotVisible (either record is not visible to the caller or in the trash), ValidationError
    (the same record twice, a bad choice, the survivor's new values invalid), StaleVersion."""
    require(ctx, rt, "change")
    require(ctx, rt, "delete")
    if survivor.pk == loser.pk:
        raise ValidationError(_("A record cannot be merged with itself."))
    with transaction.atomic():
        found = _visible_pair(rt, ctx, [survivor.pk, loser.pk])
        if len(found) != 2:
            raise NotVisible
        survivor, loser = found[survivor.pk], found[loser.pk]
        merge = Merge.objects.create(
            record_type=rt.key,
            survivor_id=survivor.pk,
            loser_id=loser.pk,
            survivor_number=survivor.number,
            loser_number=loser.number,
            candidate=candidate,
            survivor_version=survivor.version,
            created_by=ctx.user,
        )
        data = _merge_data(rt, survivor, loser, choices or {})
        merge.survivor_before = _before(rt, survivor, data)
        if data:
            survivor = record_services.record_update(rt, ctx=ctx, obj=survivor, data=data, version=survivor.version)
        for relation in relations(rt.model):
            if relation.many:
                links = _move_links(ctx, relation, survivor, loser, merge)
                if links["moved"] or links["dropped"]:
                    merge.links[relation.label] = links
                continue
            queryset = relation.model._base_manager.filter(**{relation.field.attname: _key(relation.field, loser)})
            if relation.model is rt.model:
                queryset = queryset.exclude(pk=survivor.pk)
            if (
                relation.field.one_to_one
                and relation.model._base_manager.filter(
                    **{relation.field.attname: _key(relation.field, survivor)}
                ).exists()
            ):
                continue  # the survivor has its own: the loser's stays with it
            moved = _move_foreign_keys(
                rt, ctx, relation, list(queryset.values_list("pk", flat=True)), loser, survivor, merge
            )
            if moved:
                merge.moved[relation.label] = moved
                demoted = _demote_primaries(relation, ctx, moved, survivor, merge)
                if demoted:
                    merge.demoted[relation.label] = demoted
        facts = TimelineEntry.objects.filter(subject_type=rt.key, subject_id=loser.pk, origin=TimelineEntry.Origin.FACT)
        merge.facts = list(facts.values_list("pk", flat=True))
        facts.update(subject_id=survivor.pk)
        record_services.record_bulk_delete(rt, ctx=ctx, objs=[loser])
        survivor.refresh_from_db(fields=["version"])
        merge.survivor_version = survivor.version
        merge.save()
        summary = {"merge": merge.pk, "survivor": survivor.number, "merged": loser.number, "moved": merge.moved_count}
        audit_log.audit(ctx, AuditAction.MERGE, survivor, extra=summary)
        audit_log.audit(ctx, AuditAction.MERGE, loser, extra={**summary, "merged_into": survivor.number})
        if candidate is None:
            left, right = sorted((survivor.pk, loser.pk))
            candidate = DuplicateCandidate.objects.filter(record_type=rt.key, left_id=left, right_id=right).first()
        if candidate is not None:
            candidate.status, candidate.reviewed_by, candidate.reviewed_at = (
                CandidateStatus.MERGED,
                ctx.user,
                timezone.now(),
            )
            candidate.save(update_fields=["status", "reviewed_by", "reviewed_at"])
            if merge.candidate_id is None:
                merge.candidate = candidate
                merge.save(update_fields=["candidate"])
        # pairs of the loser with third records point at a record in the trash now
        DuplicateCandidate.objects.filter(record_type=rt.key, status=CandidateStatus.OPEN).filter(
            models.Q(left_id=loser.pk) | models.Q(right_id=loser.pk)
        ).delete()
    return merge


def merge_undo(*, ctx: Context, merge: Merge, force: bool = False) -> Merge:
    """Undo ``merge``: restore the merged record from the trash, move back exactly the records
    the merge moved (those still at the survivor), put back the survivor's previous values.
    Raises PermissionDenied, NotVisible, ValidationError (already undone; the survivor changed
    since the merge and ``force`` is not given: undoing would overwrite those changes)."""
    rt = registry[merge.record_type]
    require(ctx, rt, "change")
    require(ctx, rt, "delete")
    if merge.undone_at is not None:
        raise ValidationError(_("This merge has already been undone."))
    with transaction.atomic():
        found = _visible_pair(rt, ctx, [merge.survivor_id, merge.loser_id], trash=True)
        if len(found) != 2 or found[merge.survivor_id].is_deleted:
            raise NotVisible
        survivor, loser = found[merge.survivor_id], found[merge.loser_id]
        if survivor.version != merge.survivor_version and not force:
            raise ValidationError(
                _(
                    "%(record)s was changed after the merge; undoing it would overwrite those changes. "
                    "Undo anyway with the force option."
                )
                % {"record": survivor},
                code="survivor_changed",
            )
        if loser.is_deleted:
            record_services.record_restore(rt, ctx=ctx, obj=loser)
        for label, ids in merge.moved.items():
            relation = relation_by_label(label)
            demoted = merge.demoted.get(label, [])
            _move_foreign_keys(rt, ctx, relation, ids, survivor, loser, merge)
            _set_primary(relation, ctx, demoted, True, merge)
        for label, links in merge.links.items():
            _unmove_links(ctx, relation_by_label(label), survivor, loser, links, merge)
        TimelineEntry.objects.filter(pk__in=merge.facts, subject_type=rt.key, subject_id=survivor.pk).update(
            subject_id=loser.pk
        )
        data = _restore_data(rt, merge.survivor_before)
        if data:
            survivor.refresh_from_db()
            record_services.record_update(rt, ctx=ctx, obj=survivor, data=data, version=survivor.version)
        merge.undone_at, merge.undone_by = timezone.now(), ctx.user
        merge.save(update_fields=["undone_at", "undone_by"])
        summary = {"merge": merge.pk, "survivor": survivor.number, "merged": loser.number}
        audit_log.audit(ctx, AuditAction.UNMERGE, survivor, extra=summary)
        audit_log.audit(ctx, AuditAction.UNMERGE, loser, extra=summary)
        if merge.candidate_id is not None:
            DuplicateCandidate.objects.filter(pk=merge.candidate_id).update(
                status=CandidateStatus.OPEN, reviewed_by=ctx.user, reviewed_at=timezone.now()
            )
    return merge


# ---------------------------------------------------------------- the review queue


def _candidate_records(ctx: Context, candidate: DuplicateCandidate) -> tuple[RecordType, Any, Any]:
    rt = registry[candidate.record_type]
    records = {
        obj.pk: obj
        for obj in visible_to(ctx.user, rt.model.objects.filter(pk__in=[candidate.left_id, candidate.right_id]), rt)
    }
    if len(records) != 2:
        raise NotVisible
    return rt, records[candidate.left_id], records[candidate.right_id]


def older_first(left: Any, right: Any) -> tuple[Any, Any]:
    """(survivor, loser) by default: the older record survives."""
    return (left, right) if (left.created_at, left.pk) <= (right.created_at, right.pk) else (right, left)


def candidate_merge(
    *,
    ctx: Context,
    candidate: DuplicateCandidate,
    survivor_id: int | None = None,
    choices: Mapping[str, str] | None = None,
) -> Merge:
    """Merge an open pair: ``survivor_id`` (one of the two; default the older record) survives.
    Raises what ``merge_records`` raises, and ValidationError for a pair already reviewed or a
    survivor that is not one of the two."""
    if candidate.status != CandidateStatus.OPEN:
        raise ValidationError(_("This pair has already been reviewed."))
    rt, left, right = _candidate_records(ctx, candidate)
    if survivor_id is None:
        survivor, loser = older_first(left, right)
    elif int(survivor_id) in (left.pk, right.pk):
        survivor, loser = (left, right) if int(survivor_id) == left.pk else (right, left)
    else:
        raise ValidationError({"survivor": _("Choose one of the two records.")})
    return merge_records(rt, ctx=ctx, survivor=survivor, loser=loser, choices=choices, candidate=candidate)


def candidate_dismiss(*, ctx: Context, candidate: DuplicateCandidate) -> DuplicateCandidate:
    """Mark a pair "not duplicates": later scans keep it so. Raises PermissionDenied,
    NotVisible."""
    rt = registry[candidate.record_type]
    require(ctx, rt, "change")
    _candidate_records(ctx, candidate)
    candidate.status, candidate.reviewed_by, candidate.reviewed_at = CandidateStatus.DISMISSED, ctx.user, timezone.now()
    candidate.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return candidate


@dataclass
class BulkResult:
    merged: list[Merge]
    failed: list[tuple[DuplicateCandidate, str]]


def candidates_merge(*, ctx: Context, candidates: Iterable[DuplicateCandidate]) -> BulkResult:
    """Merge many confirmed pairs with the default choices (the older record survives, its
    blank fields filled from the other), each in its own transaction: a pair that fails (a
    record merged away by an earlier pair, no permission) is reported and the rest go on."""
    result = BulkResult(merged=[], failed=[])
    for candidate in candidates:
        try:
            candidate.refresh_from_db()
            result.merged.append(candidate_merge(ctx=ctx, candidate=candidate))
        except (ValidationError, PermissionDenied, NotVisible, DuplicateCandidate.DoesNotExist) as error:
            message = (
                "; ".join(error.messages)
                if isinstance(error, ValidationError)
                else str(getattr(error, "message", "") or error or _("Not found."))
            )
            result.failed.append((candidate, message))
    return result
