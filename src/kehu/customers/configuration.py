"""What admins configure for customers: lifecycle stages (add, rename, reorder, deactivate,
allowed next stages) and grades (add, rename, rule thresholds, delete when unused). Every
change is checked, validated and audited here; the settings pages only call these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kehu.customers.models import Grade, LifecycleStage
from kehu.platform import audit as audit_log
from kehu.platform.context import Context
from kehu.platform.models import AuditAction

STAGE_PERMISSION = "customers.change_lifecyclestage"
GRADE_PERMISSION = "customers.change_grade"

STAGE_FIELDS = ["key", "name", "is_active", "is_lead", "is_won", "is_lost", "allowed_next"]
GRADE_FIELDS = ["key", "name", "description", "min_amount", "min_orders", "max_days_since_last"]


def can_configure_stages(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(STAGE_PERMISSION))


def can_configure_grades(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(GRADE_PERMISSION))


def _require(ctx: Context, permission: str) -> None:
    if not ctx.user.has_perm(permission) or (ctx.token is not None and not ctx.token.allows("customers", write=True)):
        raise PermissionDenied(_("Only administrators may change this setting."))


def _next_order(model: type[models.Model]) -> int:
    top = model._default_manager.aggregate(top=Max("order"))["top"]
    return (top or 0) + 10


def _write(ctx: Context, obj: Any, data: Mapping[str, Any], fields: list[str], *, is_new: bool) -> Any:
    """Assign, validate (model rules and uniqueness), save and audit ``obj``."""
    many = {name: data[name] for name in data if name == "allowed_next"}
    before = {} if is_new else audit_log.snapshot(obj, fields)
    for name, value in data.items():
        if name in many:
            continue
        if name not in fields and name != "order":
            raise ValidationError({name: _("This field cannot be set.")})
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError({name: _("Null characters are not allowed.")})
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    if "allowed_next" in many:
        obj.allowed_next.set([stage for stage in many["allowed_next"] or [] if stage.pk != obj.pk])
    after = audit_log.snapshot(obj, fields)
    changes = audit_log.diff(before, after)
    if changes:
        audit_log.audit(ctx, AuditAction.CREATE if is_new else AuditAction.UPDATE, obj, changes=changes)
    return obj


# ---------------------------------------------------------------- stages


def _check_stage(stage: LifecycleStage, data: Mapping[str, Any]) -> None:
    if "is_active" in data and not data["is_active"] and stage.pk is not None:
        others = LifecycleStage.objects.filter(is_active=True).exclude(pk=stage.pk)
        if not others.exists():
            raise ValidationError({"is_active": _("At least one stage must stay active.")})
    flags = [name for name in ("is_lead", "is_won", "is_lost") if data.get(name, getattr(stage, name))]
    if len(flags) > 1:
        raise ValidationError(_("A stage is a lead stage, a won stage or a lost stage, not several of them."))


def stage_create(ctx: Context, data: Mapping[str, Any]) -> LifecycleStage:
    """Add a stage at the end. Raises PermissionDenied, ValidationError."""
    _require(ctx, STAGE_PERMISSION)
    stage = LifecycleStage(order=_next_order(LifecycleStage))
    with transaction.atomic():
        _check_stage(stage, data)
        return _write(ctx, stage, data, STAGE_FIELDS, is_new=True)


def stage_update(ctx: Context, stage: LifecycleStage, data: Mapping[str, Any]) -> LifecycleStage:
    """Rename, (de)activate, set the flags and the allowed next stages; the key never
    changes. Raises PermissionDenied, ValidationError."""
    _require(ctx, STAGE_PERMISSION)
    if "key" in data and data["key"] != stage.key:
        raise ValidationError({"key": _("The key of a stage cannot change.")})
    with transaction.atomic():
        _check_stage(stage, data)
        return _write(ctx, stage, data, STAGE_FIELDS, is_new=False)


def stage_move(ctx: Context, stage: LifecycleStage, offset: int) -> None:
    """Move a stage up (-1) or down (+1) the order; renumbers all stages 10, 20, …"""
    _require(ctx, STAGE_PERMISSION)
    _move_in_order(ctx, LifecycleStage, stage, offset)


def _move_in_order(ctx: Context, model: Any, obj: Any, offset: int) -> None:
    with transaction.atomic():
        items = list(model.objects.select_for_update().order_by("order", "id"))
        index = next(i for i, item in enumerate(items) if item.pk == obj.pk)
        target = max(0, min(len(items) - 1, index + offset))
        if target == index:
            return
        items.insert(target, items.pop(index))
        changed = []
        for position, item in enumerate(items, start=1):
            if item.order != position * 10:
                item.order = position * 10
                changed.append(item)
        model.objects.bulk_update(changed, ["order"])
        audit_log.audit(ctx, AuditAction.UPDATE, obj, changes={"order": [index + 1, target + 1]})


# ---------------------------------------------------------------- grades


def grade_create(ctx: Context, data: Mapping[str, Any]) -> Grade:
    _require(ctx, GRADE_PERMISSION)
    with transaction.atomic():
        return _write(ctx, Grade(order=_next_order(Grade)), data, GRADE_FIELDS, is_new=True)


def grade_update(ctx: Context, grade: Grade, data: Mapping[str, Any]) -> Grade:
    _require(ctx, GRADE_PERMISSION)
    if "key" in data and data["key"] != grade.key:
        raise ValidationError({"key": _("The key of a grade cannot change.")})
    with transaction.atomic():
        return _write(ctx, grade, data, GRADE_FIELDS, is_new=False)


def grade_move(ctx: Context, grade: Grade, offset: int) -> None:
    """Move a grade up or down: the rule tries grades in this order."""
    _require(ctx, GRADE_PERMISSION)
    _move_in_order(ctx, Grade, grade, offset)


def grade_delete(ctx: Context, grade: Grade) -> None:
    """Delete a grade no customer has (trash included). Raises ValidationError otherwise."""
    _require(ctx, GRADE_PERMISSION)
    from kehu.customers.models import Customer

    used = Customer.all_objects.filter(grade=grade).count()
    if used:
        raise ValidationError(
            ngettext(
                "%(count)d customer has the grade %(grade)s: give it another grade first.",
                "%(count)d customers have the grade %(grade)s: give them another grade first.",
                used,
            )
            % {"count": used, "grade": grade.name}
        )
    with transaction.atomic():
        audit_log.audit(ctx, AuditAction.DELETE, grade, changes={"key": [grade.key, None]})
        grade.delete()
