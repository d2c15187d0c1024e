"""The opportunity page's extra context: the stage bar, the move/win/lose buttons, the product
lines and the stage history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
    }
