"""Pipelines and their stages: the defaults a new installation starts with, reading them, and
the settings admins change (``pipeline_create/update``, ``stage_create/update/move``). Every
change is checked, validated and audited here; the settings page only calls these."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform.context import Context
from kehu.platform.i18n import kept_default
from kehu.platform.models import AuditAction
from kehu.sales.opportunities.models import (
    DEFAULT_PIPELINES,
    DEFAULT_STAGE_NAMES,
    REQUIREMENT_FIELDS,
    ForecastCategory,
    Opportunity,
    Pipeline,
    PipelineStage,
    StageKind,
)

SETTINGS_PERMISSION = "opportunities.change_pipeline"

# key → [(stage key, probability, kind, forecast category, requirements)]
DEFAULT_LAYOUT: dict[str, list[tuple[str, str, str, str, list[str]]]] = {
    "new_business": [
        ("lead", "10", StageKind.OPEN, ForecastCategory.PIPELINE, []),
        ("qualified", "20", StageKind.OPEN, ForecastCategory.PIPELINE, []),
        ("proposal", "40", StageKind.OPEN, ForecastCategory.BEST_CASE, ["amount", "expected_close_date"]),
        ("negotiation", "70", StageKind.OPEN, ForecastCategory.COMMIT, []),
        ("won", "100", StageKind.WON, ForecastCategory.CLOSED, []),
        ("lost", "0", StageKind.LOST, ForecastCategory.OMITTED, []),
    ],
    "renewal": [
        ("renewal_due", "50", StageKind.OPEN, ForecastCategory.BEST_CASE, []),
        ("quoted", "75", StageKind.OPEN, ForecastCategory.COMMIT, []),
        ("renewed", "100", StageKind.WON, ForecastCategory.CLOSED, []),
        ("lost", "0", StageKind.LOST, ForecastCategory.OMITTED, []),
    ],
}

PIPELINE_FIELDS = ["name", "is_default", "active"]
STAGE_FIELDS = ["name", "probability", "kind", "forecast_category", "requirements", "active"]


def seed_default_pipelines(pipeline_model: Any = Pipeline, stage_model: Any = PipelineStage) -> None:
    """Create the default pipelines with their stages (when there is no pipeline)."""
    if pipeline_model.objects.exists():
        return
    for index, (key, name) in enumerate(DEFAULT_PIPELINES.items()):
        pipeline = pipeline_model.objects.create(key=key, name=name, is_default=index == 0, order=(index + 1) * 10)
        stage_model.objects.bulk_create(
            stage_model(
                pipeline=pipeline,
                key=stage_key,
                name=DEFAULT_STAGE_NAMES[stage_key],
                order=(position + 1) * 10,
                probability=Decimal(probability),
                kind=kind,
                forecast_category=category,
                requirements=requirements,
            )
            for position, (stage_key, probability, kind, category, requirements) in enumerate(DEFAULT_LAYOUT[key])
        )


def ensure_default_pipelines(using: str = "default", **_: Any) -> None:
    """post_migrate: a database without pipelines (a test database after a flush) gets the
    defaults, so a new opportunity always has a pipeline to start in."""
    from django.db import connections

    if Pipeline._meta.db_table in connections[using].introspection.table_names():
        seed_default_pipelines()


# ---------------------------------------------------------------- reading


def pipelines(*, active_only: bool = True) -> QuerySet[Pipeline]:
    queryset = Pipeline.objects.order_by("order", "id")
    return queryset.filter(active=True) if active_only else queryset


def default_pipeline() -> Pipeline | None:
    active = pipelines()
    return active.filter(is_default=True).first() or active.first()


def stages_of(pipeline: Pipeline, *, active_only: bool = True) -> list[PipelineStage]:
    queryset = PipelineStage.objects.filter(pipeline=pipeline).order_by("order", "id")
    return list(queryset.filter(active=True) if active_only else queryset)


def first_open_stage(pipeline: Pipeline) -> PipelineStage | None:
    return next((stage for stage in stages_of(pipeline) if stage.kind == StageKind.OPEN), None)


def requirement_labels(names: list[str]) -> list[str]:
    return [str(REQUIREMENT_FIELDS.get(name, name)) for name in names]


# ---------------------------------------------------------------- settings


def can_configure(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(SETTINGS_PERMISSION))


def _require(ctx: Context) -> None:
    if not ctx.user.has_perm(SETTINGS_PERMISSION) or (
        ctx.token is not None and not ctx.token.allows("sales", write=True)
    ):
        raise PermissionDenied(_("Only administrators may change pipelines."))


def _write(ctx: Context, obj: Any, data: Mapping[str, Any], fields: list[str], *, is_new: bool) -> Any:
    before = {} if is_new else audit_log.snapshot(obj, fields)
    for name, value in data.items():
        if name not in fields:
            raise ValidationError({name: _("This field cannot be set.")})
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError({name: _("Null characters are not allowed.")})
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    changes = audit_log.diff(before, audit_log.snapshot(obj, fields))
    if changes:
        audit_log.audit(ctx, AuditAction.CREATE if is_new else AuditAction.UPDATE, obj, changes=changes)
    return obj


def pipeline_create(ctx: Context, data: Mapping[str, Any]) -> Pipeline:
    """A new pipeline with a won and a lost stage to start from. Raises PermissionDenied,
    ValidationError."""
    _require(ctx)
    top = Pipeline.objects.aggregate(top=Max("order"))["top"] or 0
    with transaction.atomic():
        pipeline = _write(ctx, Pipeline(order=top + 10), data, PIPELINE_FIELDS, is_new=True)
        _one_default(pipeline)
        for position, (name, probability, kind, category) in enumerate(
            [
                (_("New"), "10", StageKind.OPEN, ForecastCategory.PIPELINE),
                (_("Won"), "100", StageKind.WON, ForecastCategory.CLOSED),
                (_("Lost"), "0", StageKind.LOST, ForecastCategory.OMITTED),
            ]
        ):
            PipelineStage.objects.create(
                pipeline=pipeline,
                name=name,
                order=(position + 1) * 10,
                probability=Decimal(probability),
                kind=kind,
                forecast_category=category,
            )
    return pipeline


def pipeline_update(ctx: Context, pipeline: Pipeline, data: Mapping[str, Any]) -> Pipeline:
    """Rename, make default, (de)activate. A default pipeline's name sent back as shown (in
    the user's language) keeps its stored English name. Raises PermissionDenied,
    ValidationError."""
    _require(ctx)
    if isinstance(data.get("name"), str):
        data = {**data, "name": kept_default(data["name"], pipeline.name, DEFAULT_PIPELINES, pipeline.key)}
    with transaction.atomic():
        if data.get("active") is False and pipeline.is_default and data.get("is_default") is not True:
            others = Pipeline.objects.filter(active=True).exclude(pk=pipeline.pk)
            if not others.exists():
                raise ValidationError({"active": _("At least one pipeline must stay active.")})
        _write(ctx, pipeline, data, PIPELINE_FIELDS, is_new=False)
        _one_default(pipeline)
    return pipeline


def _one_default(pipeline: Pipeline) -> None:
    if pipeline.is_default:
        Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(is_default=False)
    elif not Pipeline.objects.filter(is_default=True).exists():
        first = Pipeline.objects.filter(active=True).order_by("order", "id").first()
        if first is not None:
            Pipeline.objects.filter(pk=first.pk).update(is_default=True)


def _check_stage(stage: PipelineStage, data: Mapping[str, Any]) -> None:
    requirements = data.get("requirements", stage.requirements) or []
    if not isinstance(requirements, list) or any(name not in REQUIREMENT_FIELDS for name in requirements):
        raise ValidationError(
            {"requirements": _("Choose among: %(fields)s.") % {"fields": ", ".join(REQUIREMENT_FIELDS)}}
        )
    if stage.pk is None:
        return
    kind = data.get("kind", stage.kind)
    used = Opportunity.all_objects.filter(stage=stage).exists()
    if kind != stage.kind and used:
        raise ValidationError({"kind": _("Opportunities are at this stage: its kind cannot change.")})
    if data.get("active") is False:
        same_kind = PipelineStage.objects.filter(pipeline=stage.pipeline, active=True, kind=stage.kind).exclude(
            pk=stage.pk
        )
        if stage.kind != StageKind.LOST and not same_kind.exists():
            raise ValidationError({"active": _("A pipeline needs at least one active open and one won stage.")})
        if Opportunity.objects.filter(stage=stage, status="open").exists():
            raise ValidationError({"active": _("Open opportunities are at this stage: move them first.")})


def stage_create(ctx: Context, pipeline: Pipeline, data: Mapping[str, Any]) -> PipelineStage:
    """Add a stage before the pipeline's won and lost stages (open) or at the end."""
    _require(ctx)
    top = PipelineStage.objects.filter(pipeline=pipeline).aggregate(top=Max("order"))["top"] or 0
    stage = PipelineStage(pipeline=pipeline, order=top + 10)
    with transaction.atomic():
        _check_stage(stage, data)
        _write(ctx, stage, data, STAGE_FIELDS, is_new=True)
        if stage.kind == StageKind.OPEN:
            _renumber(pipeline, place_before_closed=stage)
        return stage


def _renumber(pipeline: Pipeline, *, place_before_closed: PipelineStage) -> None:
    """Put a new open stage after the last open stage (before the won and lost ones) and
    renumber the pipeline's stages 10, 20, …"""
    items = [
        item
        for item in PipelineStage.objects.select_for_update().filter(pipeline=pipeline).order_by("order", "id")
        if item.pk != place_before_closed.pk
    ]
    last_open = max((i for i, item in enumerate(items) if item.kind == StageKind.OPEN), default=-1)
    items.insert(last_open + 1, place_before_closed)
    changed = []
    for position, item in enumerate(items, start=1):
        if item.order != position * 10:
            item.order = position * 10
            changed.append(item)
    PipelineStage.objects.bulk_update(changed, ["order"])


def stage_update(ctx: Context, stage: PipelineStage, data: Mapping[str, Any]) -> PipelineStage:
    """Rename a stage, set its probability, forecast category, requirements, kind (when no
    opportunity is at it) or deactivate it (when no open opportunity is at it). A default
    stage's name sent back as shown (in the user's language) keeps its stored English name."""
    _require(ctx)
    if isinstance(data.get("name"), str):
        data = {**data, "name": kept_default(data["name"], stage.name, DEFAULT_STAGE_NAMES, stage.key)}
    with transaction.atomic():
        _check_stage(stage, data)
        return _write(ctx, stage, data, STAGE_FIELDS, is_new=False)


def stage_move(ctx: Context, stage: PipelineStage, offset: int) -> None:
    """Move a stage up (-1) or down (+1) within its pipeline; renumbers 10, 20, …"""
    _require(ctx)
    with transaction.atomic():
        items = list(PipelineStage.objects.select_for_update().filter(pipeline=stage.pipeline).order_by("order", "id"))
        index = next(i for i, item in enumerate(items) if item.pk == stage.pk)
        target = max(0, min(len(items) - 1, index + offset))
        if target == index:
            return
        items.insert(target, items.pop(index))
        changed = []
        for position, item in enumerate(items, start=1):
            if item.order != position * 10:
                item.order = position * 10
                changed.append(item)
        PipelineStage.objects.bulk_update(changed, ["order"])
        audit_log.audit(ctx, AuditAction.UPDATE, stage, changes={"order": [index + 1, target + 1]})
