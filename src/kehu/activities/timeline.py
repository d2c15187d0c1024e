"""What interactions and tasks put on their customer's timeline. Titles are data (subjects,
task titles), never translated text: the kind's label says what an entry is."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from kehu.platform import timeline


def _interaction_data(interaction: Any) -> dict[str, Any]:
    return {
        "kind": interaction.kind,
        "direction": interaction.direction,
        "duration_minutes": interaction.duration_minutes,
        "outcome": interaction.outcome,
        "next_step": interaction.next_step,
    }


def _task_data(task: Any) -> dict[str, Any]:
    return {
        "status": task.status,
        "priority": task.priority,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "owner": str(task.owner) if task.owner_id else "",
    }


timeline.register(
    timeline.Source(
        record_type="interaction",
        kind="interaction",
        label=_("Interactions"),
        icon="ti-messages",
        subjects=lambda interaction: [("customer", interaction.customer_id)],
        occurred_at=lambda interaction: interaction.occurred_at,
        title=lambda interaction: interaction.subject,
        summary=lambda interaction: interaction.content[:300],
        data=_interaction_data,
    )
)

timeline.register(
    timeline.Source(
        record_type="task",
        kind="task",
        label=_("Tasks"),
        icon="ti-checklist",
        subjects=lambda task: [("customer", task.customer_id)] if task.customer_id else [],
        # an open task sits where it was created; a completed one where it was done
        occurred_at=lambda task: task.completed_at or task.created_at,
        title=lambda task: task.title,
        summary=lambda task: task.description[:300],
        data=_task_data,
        select_related=("owner",),
    )
)
