"""``{% lifecycle_state customer user as lc %}``: what the lifecycle box shows, so the
partial needs nothing but the customer and the user."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.customers import lifecycle
from kehu.customers.records import CUSTOMER
from kehu.platform.access import can

register = template.Library()

HISTORY_SHOWN = 50


@register.simple_tag
def lifecycle_state(customer: Any, user: Any) -> dict[str, Any]:
    active = list(lifecycle.stages())
    current = customer.stage
    position = next((index for index, stage in enumerate(active) if stage.pk == current.pk), None)
    steps = [
        {
            "stage": stage,
            "state": "current" if index == position else ("done" if position is not None and index < position else ""),
        }
        for index, stage in enumerate(active)
    ]
    may_change = can(user, CUSTOMER, "change")
    following = lifecycle.next_stages(customer) if may_change else []
    history = list(lifecycle.history(customer)[: HISTORY_SHOWN + 1])
    return {
        "current": current,
        "steps": steps,
        "off_track": position is None,  # at a stage no longer in use
        "may_change": may_change,
        "next": [stage for stage in following if not stage.is_lost],
        "lost": next((stage for stage in following if stage.is_lost), None),
        "history": history[:HISTORY_SHOWN],
        "more_history": len(history) > HISTORY_SHOWN,
    }
