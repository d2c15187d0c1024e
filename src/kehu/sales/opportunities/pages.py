"""The opportunity page's extra context: the stage bar, the move/win/lose buttons, the product
lines and the stage history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import NoReverseMatch, reverse

from kehu.platform.access import can
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
    }


def _order_from_url(request: Any, obj: Any) -> str:
    """Where a won opportunity becomes an order (the orders module's page), if the user may."""
    order_type = registry.get("order")
    if obj.status != "won" or order_type is None or not can(request.user, order_type, "add"):
        return ""
    try:
        return reverse("order_from_opportunity", args=[obj.pk])
    except NoReverseMatch:
        return ""
