"""Managing custom field definitions: create, change, reorder, deactivate and reactivate.

Definitions are never deleted (the values stay in the records); every change is audited. The
definition itself is validated: its key, choices, link target and default; a change that would
strand stored values (another kind or link target, a choice still in use) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact, IContains
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kehu.platform import audit as audit_log
from kehu.platform.context import Context
from kehu.platform.customfields.definitions import Kind, invalidate
from kehu.platform.customfields.filters import LOOKUP_NAMES
from kehu.platform.customfields.values import clean_value
from kehu.platform.models import AuditAction, CustomField
from kehu.platform.records import RecordType, registry

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,49}")
CHOICE_VALUE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,100}")
CHOICE_KINDS = (Kind.CHOICE, Kind.MULTI_CHOICE)
# Keys that would read badly next to the record's own fields and parameters.
RESERVED_NAMES = frozenset({"id", "pk", "custom", "tags", "version", "number", "q", "limit", "offset", "ordering"})
EDITABLE = ("label", "kind", "required", "default", "help_text", "choices", "target", "section", "order")
AUDITED = ("record_type", "name", *EDITABLE, "active")


def _require(ctx: Context, action: str) -> None:
    if not ctx.user.has_perm(f"platform.{action}_customfield"):
        raise PermissionDenied(_("Only administrators can manage custom fields."))


def can_manage(user: Any) -> bool:
    return bool(user.has_perm("platform.add_customfield") or user.has_perm("platform.change_customfield"))


def records_with_value(rt: RecordType, name: str) -> int:
    """How many records (the trash included) store a value for ``name``."""
    return int(rt.model.all_objects.filter(custom__has_key=name).count())


def _records_with_choice(rt: RecordType, definition: CustomField, value: str) -> int:
    text = KeyTextTransform(definition.name, "custom")
    # a multiple choice's JSON text contains the quoted value (values have no quotes)
    condition = Q(IContains(text, f'"{value}"')) if definition.kind == Kind.MULTI_CHOICE else Q(Exact(text, value))
    return int(rt.model.all_objects.filter(condition).count())


def _clean_choices(raw: Any) -> list[dict[str, str]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError({"choices": _("Send a list of choices, each with a value and a label.")})
    choices: list[dict[str, str]] = []
    seen: set[str] = set()
    problems: list[str] = []
    for item in raw:
        if isinstance(item, str):
            item = {"value": item, "label": item}
        if not isinstance(item, Mapping):
            problems.append(_("Each choice needs a value and a label."))
            continue
        value = str(item.get("value", "")).strip()
        label = str(item.get("label") or value).strip()
        if not CHOICE_VALUE_PATTERN.fullmatch(value):
            problems.append(
                _("“%(value)s”: a choice value is 1–100 letters, digits, “_” or “-”.") % {"value": value[:100]}
            )
            continue
        if value.casefold() in seen:
            problems.append(_("“%(value)s” is listed twice.") % {"value": value})
            continue
        if len(label) > 100:
            problems.append(_("“%(value)s”: the label is longer than 100 characters.") % {"value": value})
            continue
        seen.add(value.casefold())
        choices.append({"value": value, "label": label})
    if problems:
        raise ValidationError({"choices": problems})
    return choices


def _validate(field: CustomField, *, is_new: bool, ctx: Context, before: CustomField | None) -> None:
    """Check a definition before it is saved; raises ValidationError by form field."""
    errors: dict[str, list[str]] = {}
    rt = registry.get(field.record_type)
    if rt is None:
        errors["record_type"] = [_("Choose a record type.")]
    if not NAME_PATTERN.fullmatch(field.name or ""):
        errors["name"] = [_("Use lower-case letters (a–z), digits and “_”, starting with a letter; at most 50.")]
    elif field.name in RESERVED_NAMES or field.name in LOOKUP_NAMES:
        errors["name"] = [_("“%(name)s” is reserved; choose another key.") % {"name": field.name}]
    elif rt is not None:
        try:
            rt.model._meta.get_field(field.name)
        except FieldDoesNotExist:
            if any(f.attname == field.name for f in rt.model._meta.concrete_fields):
                errors["name"] = [_("The record type has a field with this name.")]
        else:
            errors["name"] = [_("The record type has a field with this name.")]
        if (
            "name" not in errors
            and CustomField.objects.filter(record_type=field.record_type, name=field.name).exclude(pk=field.pk).exists()
        ):
            errors["name"] = [_("This record type already has a custom field with this key.")]
    field.label = (field.label or "").strip()
    if not field.label:
        errors["label"] = [_("This field is required.")]
    if field.kind not in CustomField.Kind.values:
        errors["kind"] = [_("Choose a type.")]
    try:
        field.choices = _clean_choices(field.choices) if field.kind in CHOICE_KINDS else []
    except ValidationError as error:
        errors.update(error.message_dict)
    if field.kind in CHOICE_KINDS and not field.choices and "choices" not in errors:
        errors["choices"] = [_("List at least one choice.")]
    if field.kind == Kind.LINK:
        if registry.get(field.target) is None:
            errors["target"] = [_("Choose the record type this field links to.")]
    else:
        field.target = ""
    if field.kind == Kind.LINK and field.default not in (None, ""):
        errors["default"] = [_("A link cannot have a default: who may see the record depends on the user.")]
    elif not errors.get("kind") and not errors.get("choices") and field.default is not None:
        try:
            field.default = clean_value(field, field.default, user=ctx.user)
        except ValidationError as error:
            errors["default"] = error.messages
    field.help_text = (field.help_text or "").strip()
    field.section = (field.section or "").strip()
    if before is not None and rt is not None:
        _check_stored_values(rt, field, before, errors)
    if errors:
        raise ValidationError(errors)


def _check_stored_values(rt: RecordType, field: CustomField, before: CustomField, errors: dict[str, Any]) -> None:
    """Refuse a change that would leave stored values that no longer fit."""
    changed_kind = field.kind != before.kind
    changed_target = field.kind == Kind.LINK and field.target != before.target
    if changed_kind or changed_target:
        count = records_with_value(rt, field.name)
        if count:
            message = ngettext(
                "%(count)d record has a value in this field, so its type cannot change. "
                "Add a new field instead (and deactivate this one).",
                "%(count)d records have a value in this field, so its type cannot change. "
                "Add a new field instead (and deactivate this one).",
                count,
            ) % {"count": count}
            errors.setdefault("kind" if changed_kind else "target", []).append(message)
    if field.kind in CHOICE_KINDS and before.kind in CHOICE_KINDS and not changed_kind:
        kept = {str(choice["value"]) for choice in field.choices}
        for choice in before.choices or []:
            value = str(choice["value"])
            if value in kept:
                continue
            count = _records_with_choice(rt, before, value)
            if count:
                errors.setdefault("choices", []).append(
                    ngettext(
                        "“%(value)s” is used by %(count)d record; keep it.",
                        "“%(value)s” is used by %(count)d records; keep it.",
                        count,
                    )
                    % {"value": value, "count": count}
                )


def _values(field: CustomField) -> dict[str, Any]:
    return {name: getattr(field, name) for name in AUDITED}


def customfield_create(*, ctx: Context, data: Mapping[str, Any]) -> CustomField:
    """Add a custom field to a record type. Raises PermissionDenied, ValidationError."""
    _require(ctx, "add")
    unknown = set(data) - {"record_type", "name", "active", *EDITABLE}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), _("This field cannot be set.")))
    field = CustomField(**{"active": True, **data})
    if "order" not in data:
        last = CustomField.objects.filter(record_type=field.record_type).order_by("-order").first()
        field.order = (last.order + 10) if last is not None else 10
    with transaction.atomic():
        _validate(field, is_new=True, ctx=ctx, before=None)
        field.created_at = field.updated_at = timezone.now()
        field.save()
        changes = {name: [None, value] for name, value in _values(field).items() if value not in (None, "", [], False)}
        audit_log.audit(ctx, AuditAction.CREATE, field, changes=changes)
    invalidate()
    return field


def customfield_update(*, ctx: Context, field: CustomField, data: Mapping[str, Any]) -> CustomField:
    """Change a definition's label, type, flags, choices, target, section or order; its record
    type and key stay. Raises PermissionDenied, ValidationError."""
    _require(ctx, "change")
    fixed = {"record_type", "name"} & {key for key in data if data[key] != getattr(field, key)}
    if fixed:
        raise ValidationError(dict.fromkeys(sorted(fixed), _("This cannot be changed once the field exists.")))
    unknown = set(data) - {"record_type", "name", *EDITABLE}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), _("This field cannot be set.")))
    before = CustomField.objects.get(pk=field.pk)
    for name, value in data.items():
        setattr(field, name, value)
    with transaction.atomic():
        _validate(field, is_new=False, ctx=ctx, before=before)
        changes = audit_log.diff(_values(before), _values(field))
        if not changes:
            return field
        field.updated_at = timezone.now()
        field.save()
        audit_log.audit(ctx, AuditAction.UPDATE, field, changes=changes)
    invalidate()
    return field


def customfield_set_active(*, ctx: Context, field: CustomField, active: bool) -> CustomField:
    """Deactivate a field (its values stay in the records, hidden and read-only) or bring it
    back. Raises PermissionDenied."""
    _require(ctx, "change")
    if field.active == active:
        return field
    with transaction.atomic():
        field.active = active
        field.updated_at = timezone.now()
        field.save(update_fields=["active", "updated_at"])
        audit_log.audit(ctx, AuditAction.UPDATE, field, changes={"active": [not active, active]})
    invalidate()
    return field


def customfield_move(*, ctx: Context, field: CustomField, step: int) -> CustomField:
    """Move a field up (``step`` −1) or down (+1) among its record type's fields; the order is
    renumbered 10, 20, 30… Raises PermissionDenied."""
    _require(ctx, "change")
    with transaction.atomic():
        siblings = list(
            CustomField.objects.select_for_update().filter(record_type=field.record_type).order_by("order", "id")
        )
        index = next(i for i, sibling in enumerate(siblings) if sibling.pk == field.pk)
        target = min(max(index + step, 0), len(siblings) - 1)
        siblings.insert(target, siblings.pop(index))
        now = timezone.now()
        moved = []
        for position, sibling in enumerate(siblings, start=1):
            if sibling.order != position * 10:
                moved.append((sibling, sibling.order, position * 10))
                sibling.order, sibling.updated_at = position * 10, now
        if moved:
            CustomField.objects.bulk_update([m[0] for m in moved], ["order", "updated_at"])
            from kehu.platform.models import AuditEntry

            AuditEntry.objects.bulk_create(
                audit_log.entry_for(ctx, AuditAction.UPDATE, sibling, changes={"order": [old, new]})
                for sibling, old, new in moved
            )
        field.refresh_from_db()
    invalidate()
    return field
