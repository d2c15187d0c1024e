"""The opportunity page's extra context: the stage bar, the move/win/lose buttons, the product
lines and the stage history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Case, When
from django.urls import NoReverseMatch, reverse

from kehu.platform.access import can, visible_to
from kehu.platform.records import registry
from kehu.sales.opportunities import pipelines as pipeline_config
from kehu.sales.opportunities.models import OpportunityStageChange, StageKind


def opportunity_page_context(request: Any, obj: Any) -> dict[str, Any]:
    stages = pipeline_config.stages_of(obj.pipeline)
    lines = list(obj.lines.select_related("product"))
    history = list(
        OpportunityStageChange.objects.filter(opportunity=obj).select_related("from_stage", "to_stage", "actor")[:50]
    )
    return {
        "stages": stages,
        "open_stages": [stage for stage in stages if stage.kind == StageKind.OPEN],
        "lines": lines,
        "tax_total": sum((line.tax_amount for line in lines), Decimal(0)),
        "stage_history": history,
        "can_move": can(request.user, registry["opportunity"], "change"),
        "order_from_url": _order_from_url(request, obj),
        **_follow_up_plan(request, obj),
    }


def _follow_up_plan(request: Any, obj: Any) -> dict[str, Any]:
    """The opportunity's tasks (open first, the most recent done ones after) and where to add
    one, when the tasks module is there and the user may see tasks."""
    task_type = registry.get("task")
    if task_type is None or not can(request.user, task_type, "view"):
        return {"plan_tasks": None}
    tasks = visible_to(request.user, task_type.model.objects.filter(opportunity=obj), task_type)
    ordered = tasks.select_related("owner").order_by(Case(When(status="open", then=0), default=1), "due_at", "-id")
    add_url = ""
    if can(request.user, task_type, "add"):
        add_url = f"{reverse(f'{task_type.plural}_create')}?opportunity={obj.pk}&customer={obj.customer_id}"
    return {"plan_tasks": list(ordered[:20]), "plan_task_add_url": add_url}


def _order_from_url(request: Any, obj: Any) -> str:
    """Where a won opportunity becomes an order (the orders module's page), if the user may."""
    order_type = registry.get("order")
    if obj.status != "won" or order_type is None or not can(request.user, order_type, "add"):
        return ""
    try:
        return reverse("order_from_opportunity", args=[obj.pk])
    except NoReverseMatch:
        return ""
