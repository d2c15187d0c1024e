"""Tags: coloured labels on the records of every record type, shared by all types or kept
to one. The services here create, rename, recolour and delete tags and put them on records
one at a time or in bulk; each writes the audit log and publishes its events like every
other write of the spine. The selectors list the tags a record type or a user may use and
filter record lists by tags (any or all of them) for the web list, the export and the API.

A record's tags are set through ``services.record_create`` / ``record_update`` with a
``tags`` entry in the data (names or ``Tag`` objects), so forms, the API and imports share
the same validation, audit entry (``tags``: sorted names, before → after) and event."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform.access import can, require, visible_to
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.events import Event, publish
from kehu.platform.models import AuditAction, AuditEntry, Tag
from kehu.platform.records import RecordType, registry

NAME_MAX_LENGTH = 50
# Names and ids one request may give (a record's tags, a bulk action, a filter).
MAX_TAGS = 50
DEFAULT_COLOR = "#206bc4"
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")  # whole value: fullmatch
MATCH_ANY, MATCH_ALL = "any", "all"
TAG_ACTIONS = ("add", "change", "delete")
# Tags read in name order ignoring case, on every database (SQLite and PostgreSQL collate
# differently), like ``sorted_names``.
ORDER = (Lower("name"), "name", "id")

sorted_names = audit_log.sorted_names

# ---------------------------------------------------------------- permissions


def _token_allows(ctx_or_user: Any, record_type: str, *, write: bool) -> bool:
    """API tokens: a tag of one record type needs that type's area scope; a shared tag is
    read with any token and written only with the ``write`` scope (it spans every area)."""
    token = getattr(ctx_or_user, "token", None)
    if token is None:
        return True
    if record_type:
        rt = registry.get(record_type)
        return rt is not None and token.allows(rt.area, write=write)
    return "write" in token.scopes if write else True


def can_tag(ctx_or_user: Any, action: str, record_type: str = "") -> bool:
    """May this user (and token) ``action`` (add, change, delete) tags of ``record_type``
    (``""``: shared tags)? Needs the ``platform.<action>_tag`` permission."""
    user = getattr(ctx_or_user, "user", ctx_or_user)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not _token_allows(ctx_or_user, record_type, write=True):
        return False
    return bool(user.has_perm(f"platform.{action}_tag"))


def can_manage_tags(user: Any) -> bool:
    """Whether the tag settings page is open to ``user`` (any tag permission)."""
    return any(can_tag(user, action) for action in TAG_ACTIONS)


def _require_tag(ctx: Context, action: str, record_type: str = "") -> None:
    if not can_tag(ctx, action, record_type):
        messages = {
            "add": _("You do not have permission to create tags."),
            "change": _("You do not have permission to change tags."),
            "delete": _("You do not have permission to delete tags."),
        }
        raise PermissionDenied(messages[action])


# ---------------------------------------------------------------- validation


def clean_name(value: Any) -> str:
    """A tag name: trimmed, inner runs of spaces made one, 1–50 characters, no comma (the
    separator of tag lists in filters and forms). Raises ValidationError."""
    name = " ".join(str(value if value is not None else "").split())
    if not name:
        raise ValidationError(_("Give the tag a name."))
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("A tag name has at most %(max)d characters (“%(name)s…” has %(length)d).")
            % {"max": NAME_MAX_LENGTH, "name": name[:20], "length": len(name)}
        )
    if "," in name:
        raise ValidationError(_("A tag name cannot contain a comma (“%(name)s”).") % {"name": name})
    if any(ord(char) < 32 for char in name):
        raise ValidationError(_("A tag name cannot contain control characters."))
    return name


def clean_color(value: Any) -> str:
    """``#rrggbb`` (stored in lower case). Raises ValidationError."""
    color = str(value or "").strip()
    if not COLOR_RE.fullmatch(color):
        raise ValidationError(_("Give the colour as #rrggbb, for example #206bc4."))
    return color.lower()


def clean_record_type(value: Any) -> str:
    """A registered record type's key, or ``""`` for a shared tag. Raises ValidationError."""
    key = str(value or "").strip()
    if key and registry.get(key) is None:
        raise ValidationError(
            _("Unknown record type %(type)s (one of: %(known)s; empty for every type).")
            % {"type": key, "known": ", ".join(rt.key for rt in registry)}
        )
    return key


def safe_color(value: str) -> str:
    """The colour for a page: stored colours are checked on write, but a row written behind
    the services' back must not be able to inject CSS."""
    return value.lower() if COLOR_RE.fullmatch(value or "") else DEFAULT_COLOR


def text_color(background: str) -> str:
    """Black or white text, whichever reads better on ``background`` (WCAG luminance)."""
    color = safe_color(background)

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#1d273b" if luminance > 0.179 else "#ffffff"


def type_label(record_type: str) -> str:
    """``Customers``, or ``All record types`` for a shared tag."""
    rt = registry.get(record_type) if record_type else None
    if rt is None:
        return record_type or _("All record types")
    return capfirst(str(rt.label_plural))


# ---------------------------------------------------------------- selectors


def tags_for(rt: RecordType | str) -> QuerySet[Tag]:
    """The tags that may be put on records of ``rt``: its own and the shared ones."""
    key = rt if isinstance(rt, str) else rt.key
    return Tag.objects.filter(Q(record_type="") | Q(record_type=key)).order_by(*ORDER)


def tags_visible(
    ctx_or_user: Any, *, record_type: str | None = None, exact: bool = False, q: str = ""
) -> QuerySet[Tag]:
    """The tags a user (and token) may read: the shared ones and those of the record types
    they may view. ``record_type`` narrows to the tags usable on that type, or with
    ``exact`` to that type's own tags (``""``: the shared ones). Raises ValidationError
    naming ``record_type`` for an unknown type."""
    keys = [rt.key for rt in registry if can(ctx_or_user, rt, "view")]
    queryset = Tag.objects.filter(Q(record_type="") | Q(record_type__in=keys))
    if record_type is not None and (record_type or exact):
        try:
            key = clean_record_type(record_type)
        except ValidationError as error:
            raise ValidationError({"record_type": error.messages}) from None
        scope = Q(record_type=key) if exact else Q(record_type="") | Q(record_type=key)
        queryset = queryset.filter(scope)
    if "\x00" in q:  # PostgreSQL cannot compare text with NUL; refused on every database alike
        raise ValidationError({"q": ProhibitNullCharactersValidator.message})
    if q.strip():
        queryset = queryset.filter(name__icontains=q.strip())
    return queryset.order_by(*ORDER)


def tag_get(ctx_or_user: Any, pk: Any) -> Tag:
    """One tag the caller may read; raises NotVisible otherwise."""
    try:
        return tags_visible(ctx_or_user).get(pk=pk)
    except (Tag.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def through_table(rt: RecordType) -> tuple[Any, str]:
    """The table linking ``rt``'s records to tags, and its column naming the record."""
    field: Any = rt.model._meta.get_field("tags")
    return field.remote_field.through, f"{field.m2m_field_name()}_id"


def tags_on(rt: RecordType, objs: Iterable[Any]) -> QuerySet[Tag]:
    """The tags carried by at least one of ``objs`` (records or ids of ``rt``)."""
    through, column = through_table(rt)
    ids = [getattr(obj, "pk", obj) for obj in objs]
    return tags_for(rt).filter(pk__in=through.objects.filter(**{f"{column}__in": ids}).values("tag_id"))


def usage_counts(user: Any, tags: Iterable[Tag]) -> dict[int, dict[str, int]]:
    """``{tag id: {record type key: records}}`` counting the records (not in the trash) that
    ``user`` may see; one query per record type."""
    ids = [tag.pk for tag in tags]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if not ids:
        return counts
    for rt in registry:
        through, column = through_table(rt)
        records = visible_to(user, rt.model.objects.all(), rt).values("pk")
        rows = (
            through.objects.filter(tag_id__in=ids, **{f"{column}__in": records})
            .values("tag_id")
            .annotate(n=Count("pk"))
            .values_list("tag_id", "n")
        )
        for tag_id, n in rows:
            counts[tag_id][rt.key] = n
    return counts


def find_by_names(rt: RecordType, names: list[str]) -> dict[str, Tag]:
    """The tags usable on ``rt`` with these names (ignoring case), keyed by folded name;
    an exact match wins over a match that differs in case."""
    if not names:
        return {}
    condition = Q()
    for name in names:
        condition |= Q(name__iexact=name)
    found: dict[str, Tag] = {}
    exact = set(names)
    for tag in tags_for(rt).filter(condition):
        key = tag.name.casefold()
        if key not in found or tag.name in exact:
            found[key] = tag
    return found


def _split(items: Any) -> list[Any]:
    """A list of names or tags as given; one string is read as comma-separated names."""
    if items is None:
        return []
    if isinstance(items, Tag):
        return [items]
    if isinstance(items, str):
        return [part for part in items.split(",") if part.strip()]
    return list(items)


def resolve_tags(rt: RecordType, ctx: Context, items: Any, *, create: bool = True) -> list[Tag]:
    """The tags meant by ``items`` (names, a comma-separated string, or ``Tag`` objects) for
    records of ``rt``. Names match existing tags ignoring case; a new name creates a tag of
    this record type when ``create`` and the caller may add tags. Raises ValidationError
    naming ``tags``."""
    errors: list[str] = []
    given: list[Tag] = []
    names: list[str] = []
    for item in _split(items):
        if isinstance(item, Tag):
            if item.record_type not in ("", rt.key):
                errors.append(
                    _("The tag “%(name)s” belongs to %(other)s and cannot be put on %(type)s.")
                    % {"name": item.name, "other": type_label(item.record_type).lower(), "type": rt.label_plural}
                )
            else:
                given.append(item)
            continue
        try:
            name = clean_name(item)
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        if name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    if len(given) + len(names) > MAX_TAGS:
        errors.append(_("Give at most %(max)d tags.") % {"max": MAX_TAGS})
    if errors:
        raise ValidationError({"tags": errors})
    found = find_by_names(rt, names)
    missing = [name for name in names if name.casefold() not in found]
    if missing and not create:
        raise ValidationError(
            {"tags": _("Unknown tags: %(names)s.") % {"names": ", ".join(missing)}},
        )
    if missing and not can_tag(ctx, "add", rt.key):
        raise ValidationError(
            {
                "tags": _(
                    "Unknown tags: %(names)s. You may only use existing tags; ask an administrator to create new ones."
                )
                % {"names": ", ".join(missing)}
            }
        )
    for name in missing:
        found[name.casefold()] = _create_for_record(ctx, rt, name)
    result: dict[int, Tag] = {}
    for tag in [*given, *(found[name.casefold()] for name in names)]:
        result.setdefault(tag.pk, tag)
    return list(result.values())


def _create_for_record(ctx: Context, rt: RecordType, name: str) -> Tag:
    """A tag named on a record that does not exist yet: created for the record's type (an
    admin can share it with every type later). A parallel request creating the same name
    first is not an error."""
    try:
        with transaction.atomic():
            return tag_create(ctx, name=name, record_type=rt.key)
    except ValidationError:
        existing = find_by_names(rt, [name]).get(name.casefold())
        if existing is None:
            raise
        return existing


# ---------------------------------------------------------------- tag services


def tag_data(tag: Tag) -> dict[str, Any]:
    return {"id": tag.pk, "name": tag.name, "color": tag.color, "record_type": tag.record_type}


def _tag_event(kind: str, tag: Tag, ctx: Context, **extra: Any) -> Event:
    return Event(type=f"tag.{kind}", data={**tag_data(tag), **extra}, actor_id=ctx.user.pk, source=ctx.source)


def _clash(name: str, record_type: str, exclude: int | None = None) -> str | None:
    """Why ``name`` cannot be a tag of ``record_type``: among the tags usable on a type, a
    name is unique regardless of case (so a name always means one tag)."""
    queryset = Tag.objects.filter(name__iexact=name)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    if record_type:
        queryset = queryset.filter(Q(record_type="") | Q(record_type=record_type))
    other = queryset.order_by("record_type").first()
    if other is None:
        return None
    if other.record_type == record_type:
        return _("A tag named “%(name)s” already exists.") % {"name": other.name}
    if not other.record_type:
        return _("A tag named “%(name)s” already exists for every record type.") % {"name": other.name}
    return _("A tag named “%(name)s” already exists for %(type)s; a shared tag needs a name of its own.") % {
        "name": other.name,
        "type": type_label(other.record_type).lower(),
    }


def tag_create(ctx: Context, *, name: Any, color: Any = None, record_type: Any = "") -> Tag:
    """Create a tag (``record_type`` empty: for every record type). Raises PermissionDenied,
    ValidationError."""
    try:
        key = clean_record_type(record_type)
    except ValidationError as error:
        raise ValidationError({"record_type": error.messages}) from None
    _require_tag(ctx, "add", key)
    errors: dict[str, list[str]] = {}
    try:
        name = clean_name(name)
    except ValidationError as error:
        errors["name"] = error.messages
    try:
        color = clean_color(DEFAULT_COLOR if color in (None, "") else color)
    except ValidationError as error:
        errors["color"] = error.messages
    if "name" not in errors:
        clash = _clash(name, key)
        if clash:
            errors["name"] = [clash]
    if errors:
        raise ValidationError(errors)
    tag = Tag(name=name, color=color, record_type=key)
    try:
        with transaction.atomic():
            tag.save(force_insert=True)
            changes = {"name": [None, tag.name], "color": [None, tag.color]}
            if key:
                changes["record_type"] = [None, key]
            audit_log.audit(ctx, AuditAction.CREATE, tag, changes=changes)
            publish(_tag_event("created", tag, ctx))
    except IntegrityError:  # the same name raced in
        raise ValidationError({"name": _("A tag named “%(name)s” already exists.") % {"name": name}}) from None
    return tag


def _types_using(tag: Tag) -> dict[str, int]:
    """``{record type key: records}`` carrying ``tag`` (the trash included)."""
    used = {}
    for rt in registry:
        through, _column = through_table(rt)
        n = through.objects.filter(tag_id=tag.pk).count()
        if n:
            used[rt.key] = n
    return used


def tag_update(ctx: Context, tag: Tag, *, name: Any = None, color: Any = None, record_type: Any = None) -> Tag:
    """Rename, recolour, or share a tag with every record type / keep it to the one type it
    is used on. ``None`` leaves a value as it is. Raises PermissionDenied, ValidationError."""
    _require_tag(ctx, "change", tag.record_type)
    errors: dict[str, list[str]] = {}
    new = {"name": tag.name, "color": tag.color, "record_type": tag.record_type}
    if record_type is not None:
        try:
            new["record_type"] = clean_record_type(record_type)
        except ValidationError as error:
            errors["record_type"] = error.messages
    if name is not None:
        try:
            new["name"] = clean_name(name)
        except ValidationError as error:
            errors["name"] = error.messages
    if color is not None:
        try:
            new["color"] = clean_color(color)
        except ValidationError as error:
            errors["color"] = error.messages
    if "record_type" not in errors and new["record_type"] != tag.record_type:
        _require_tag(ctx, "change", new["record_type"])
        if new["record_type"]:
            elsewhere = {key: n for key, n in _types_using(tag).items() if key != new["record_type"]}
            if elsewhere:
                errors["record_type"] = [
                    _("The tag is on records of other types (%(types)s); remove it there first.")
                    % {"types": ", ".join(f"{type_label(key).lower()}: {n}" for key, n in elsewhere.items())}
                ]
    if "name" not in errors and "record_type" not in errors:
        clash = _clash(new["name"], new["record_type"], exclude=tag.pk)
        if clash:
            errors["name"] = [clash]
    if errors:
        raise ValidationError(errors)
    before = {"name": tag.name, "color": tag.color, "record_type": tag.record_type}
    changes = audit_log.diff(before, new)
    if not changes:
        return tag
    tag.name, tag.color, tag.record_type = new["name"], new["color"], new["record_type"]
    try:
        with transaction.atomic():
            tag.save(update_fields=list(changes))
            audit_log.audit(ctx, AuditAction.UPDATE, tag, changes=changes)
            publish(_tag_event("updated", tag, ctx, changed=sorted(changes)))
    except IntegrityError:
        tag.name, tag.color, tag.record_type = before["name"], before["color"], before["record_type"]
        raise ValidationError({"name": _("A tag named “%(name)s” already exists.") % {"name": new["name"]}}) from None
    return tag


def tag_delete(ctx: Context, tag: Tag) -> int:
    """Delete a tag and take it off every record carrying it (in the trash too): each such
    record gets an audit entry and a ``record.updated`` event, in one batch per record type.
    Returns how many records lost it. Raises PermissionDenied."""
    _require_tag(ctx, "delete", tag.record_type)
    removed = 0
    with transaction.atomic():
        for rt in registry:
            through, column = through_table(rt)
            ids = list(through.objects.filter(tag_id=tag.pk).values_list(column, flat=True))
            if ids:
                removed += _change_record_tags(rt, ctx, ids, remove={tag.pk})
        audit_log.audit(
            ctx,
            AuditAction.DELETE,
            tag,
            changes={"name": [tag.name, None]},
            extra={**tag_data(tag), "records": removed},
        )
        publish(_tag_event("deleted", tag, ctx, records=removed))
        tag.delete()
    return removed


# ---------------------------------------------------------------- tags on records


def split_data(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], Any]:
    """``data`` without its ``tags`` entry, and that entry (``None`` when there is none; an
    explicit null means no tags)."""
    if "tags" not in data:
        return data, None
    rest = {name: value for name, value in data.items() if name != "tags"}
    return rest, [] if data["tags"] is None else data["tags"]


def apply_to_record(rt: RecordType, ctx: Context, obj: Any, items: Any) -> None:
    """Give a saved record exactly the tags ``items`` means (inside the service's
    transaction; the service audits the change). Raises ValidationError naming ``tags``."""
    obj.tags.set(resolve_tags(rt, ctx, items))


def record_set_tags(rt: RecordType, ctx: Context, obj: Any, items: Any, *, version: int | None = None) -> Any:
    """Replace a record's tags (an update like any other: access check, optimistic locking,
    audit entry, ``record.updated`` event). Raises PermissionDenied, ValidationError,
    StaleVersion."""
    from kehu.platform import services

    return services.record_update(rt, ctx=ctx, obj=obj, data={"tags": items}, version=version)


def _targets(rt: RecordType, ctx: Context, objs: Iterable[Any]) -> list[int]:
    """The ids among ``objs`` (records or ids) that the caller can see and that are not in
    the trash, locked for the change."""
    ids = [getattr(obj, "pk", obj) for obj in objs]
    queryset = rt.model.all_objects.select_for_update(of=("self",)).filter(pk__in=ids, deleted_at__isnull=True)
    return list(visible_to(ctx.user, queryset, rt).values_list("pk", flat=True))


def records_add_tags(rt: RecordType, *, ctx: Context, objs: Iterable[Any], tags: Any) -> int:
    """Put ``tags`` (names or tags; new names create tags when the caller may) on every
    record among ``objs`` the caller can see, in a few queries whatever their number.
    Returns how many records changed. Raises PermissionDenied, ValidationError."""
    require(ctx, rt, "change")
    with transaction.atomic():
        chosen = resolve_tags(rt, ctx, tags)
        if not chosen:
            raise ValidationError({"tags": _("Choose at least one tag.")})
        return _change_record_tags(rt, ctx, _targets(rt, ctx, objs), add={tag.pk for tag in chosen})


def records_remove_tags(rt: RecordType, *, ctx: Context, objs: Iterable[Any], tags: Any) -> int:
    """Take ``tags`` (existing ones) off every record among ``objs`` the caller can see.
    Returns how many records changed. Raises PermissionDenied, ValidationError."""
    require(ctx, rt, "change")
    with transaction.atomic():
        chosen = resolve_tags(rt, ctx, tags, create=False)
        if not chosen:
            raise ValidationError({"tags": _("Choose at least one tag.")})
        return _change_record_tags(rt, ctx, _targets(rt, ctx, objs), remove={tag.pk for tag in chosen})


def _change_record_tags(
    rt: RecordType, ctx: Context, ids: list[int], *, add: set[int] | None = None, remove: set[int] | None = None
) -> int:
    """Add and remove tags on the records ``ids`` (already checked) with one query per step,
    whatever the number of records: bump their version, write the audit entries in one go
    and publish ``record.updated`` with ``tags`` changed."""
    add, remove = add or set(), remove or set()
    if not ids:
        return 0
    through, column = through_table(rt)
    current: dict[int, set[int]] = {pk: set() for pk in ids}
    for record_id, tag_id in through.objects.filter(**{f"{column}__in": ids}).values_list(column, "tag_id"):
        current[record_id].add(tag_id)
    after = {pk: (tag_ids | add) - remove for pk, tag_ids in current.items()}
    changed = [pk for pk in ids if after[pk] != current[pk]]
    if not changed:
        return 0
    names = dict(Tag.objects.filter(pk__in=set().union(*current.values(), add)).values_list("pk", "name"))
    if add:
        rows = [through(**{column: pk, "tag_id": tag_id}) for pk in changed for tag_id in add - current[pk]]
        through.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    if remove:
        through.objects.filter(**{f"{column}__in": changed}, tag_id__in=remove).delete()
    now = timezone.now()
    rt.model.all_objects.filter(pk__in=changed).update(version=F("version") + 1, updated_at=now, updated_by=ctx.user)
    entries: list[AuditEntry] = []
    for obj in rt.model.all_objects.filter(pk__in=changed):
        before = sorted_names(names[tag_id] for tag_id in current[obj.pk])
        later = sorted_names(names[tag_id] for tag_id in after[obj.pk])
        entries.append(audit_log.entry_for(ctx, AuditAction.UPDATE, obj, changes={"tags": [before, later]}))
        publish(
            Event(
                type="record.updated",
                record_type=rt.key,
                record_id=obj.pk,
                data={"number": obj.number, "changed": ["tags"]},
                actor_id=ctx.user.pk,
                source=ctx.source,
            )
        )
    AuditEntry.objects.bulk_create(entries, batch_size=500)
    return len(changed)
