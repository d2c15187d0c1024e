"""``POST /api/v1/interactions/log/`` (an interaction with its follow-up task in one request)
and ``POST /api/v1/tasks/{id}/complete/`` and ``/reopen/``; the rest of /interactions/ and
/tasks/ comes from the spine.

No ``from __future__ import annotations`` here: django-ninja reads the endpoint annotations."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kehu.activities import selectors, services
from kehu.activities.models import TaskKind, TaskPriority
from kehu.activities.records import INTERACTION, TASK
from kehu.platform.access import require
from kehu.platform.api import api_context, create_idempotent, json_response, python_type, schemas_for

router = Router(tags=["interactions"])
task_router = Router(tags=["tasks"])

_interaction = schemas_for(INTERACTION)
_task = schemas_for(TASK)
InteractionCreate, InteractionOut, TaskOut = _interaction.create, _interaction.out, _task.out


class FollowUpIn(Schema):
    title: str = Field(..., max_length=200, description="The task's title.")
    due_at: datetime.datetime = Field(..., description="When the task is due (ISO 8601 with a time zone).")
    remind_at: datetime.datetime | None = Field(None, description="When to remind the assignee; not after due_at.")
    priority: python_type(TASK.model_field("priority")) | None = Field(  # type: ignore[valid-type]
        None, description=f"One of {', '.join(TaskPriority.values)}; normal by default."
    )
    kind: python_type(TASK.model_field("kind")) | None = Field(  # type: ignore[valid-type]
        None, description=f"One of {', '.join(TaskKind.values)}; follow_up by default."
    )
    owner: int | None = Field(None, description="The assignee's user id; you by default.")
    description: str | None = None
    repeat_every_days: int | None = Field(None, description="Repeat: the next task this many days after completion.")


class LogIn(Schema):
    interaction: InteractionCreate  # type: ignore[valid-type]
    follow_up: FollowUpIn | None = Field(
        None, description="A task following the interaction up (its customer and first contact copied)."
    )


class LogOut(Schema):
    interaction: InteractionOut  # type: ignore[valid-type]
    follow_up: TaskOut | None = None  # type: ignore[valid-type]


@router.post(
    "/interactions/log/",
    response={201: LogOut},
    summary="Log an interaction with its follow-up task",
    description=(
        "Creates the interaction and, when `follow_up` is given, its follow-up task in one transaction: "
        "an invalid task value writes neither (422; the task's errors are named `follow_up.<field>`)."
    ),
    operation_id="interaction_log",
)
def log_interaction(request: HttpRequest, payload: LogIn) -> Any:
    ctx = api_context(request)
    data = payload.interaction.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    follow_up = payload.follow_up.model_dump(exclude_unset=True) if payload.follow_up is not None else None

    def create() -> dict[str, Any]:
        interaction = services.interaction_log(ctx, data, follow_up)
        task = interaction.follow_ups.order_by("id").first() if follow_up is not None else None
        return {
            "interaction": _interaction.dump(interaction),
            "follow_up": _task.dump(task) if task is not None else None,
        }

    key = request.headers.get("Idempotency-Key", "").strip()
    if key:
        return create_idempotent(request, key[:255], create)
    return json_response(201, create())


def _task_action(request: HttpRequest, pk: int, version: int | None, action: Any) -> Any:
    ctx = api_context(request)
    require(ctx, TASK, "change")
    task = selectors.task_get(ctx.user, pk)  # NotVisible: 404
    return json_response(200, _task.dump(action(ctx, task, version=version)))


@task_router.post(
    "/tasks/{int:pk}/complete/",
    response=_task.out,
    summary="Complete a task",
    description=(
        "Sets status done and completed_at; a recurring task (repeat_every_days) gets its next occurrence, "
        "due that many days after this one's due time. A task already done is answered as it is. "
        "`version` (optional): the version you read; a stale one answers 409."
    ),
    operation_id="task_complete",
)
def complete_task(request: HttpRequest, pk: int, version: int | None = None) -> Any:
    return _task_action(request, pk, version, services.task_complete)


@task_router.post(
    "/tasks/{int:pk}/reopen/",
    response=_task.out,
    summary="Reopen a task",
    description="Sets status open and clears completed_at. `version` as for complete.",
    operation_id="task_reopen",
)
def reopen_task(request: HttpRequest, pk: int, version: int | None = None) -> Any:
    return _task_action(request, pk, version, services.task_reopen)
