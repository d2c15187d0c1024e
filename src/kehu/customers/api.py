"""The customer lifecycle in the API: ``GET /customers/{id}/lifecycle/`` (the history of
stage changes) and ``POST /customers/{id}/lifecycle/`` (move to another stage). Thin: the rules
are ``customers.lifecycle.change_stage``'s; errors are problem+json like everywhere else
(422 a transition that is not allowed or a missing reason, 409 a stale version, 404 a customer
the caller cannot see, 403 no permission).

No ``from __future__ import annotations``: django-ninja reads the annotations."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kehu.customers import lifecycle
from kehu.customers.models import LifecycleTransition
from kehu.platform.api import MAX_LIMIT, api_context, json_response

router = Router(tags=["customers"])


class TransitionOut(Schema):
    id: int
    from_stage: str | None = Field(None, description="The stage's key; null for the first stage.")
    to_stage: str = Field(..., description="The stage's key.")
    actor: int | None = Field(None, description="The user who made the change.")
    actor_name: str = ""
    at: datetime.datetime
    reason: str = ""
    source: str = Field(..., description="web, api, import, automation, cli or system.")


class LifecycleOut(Schema):
    id: int
    number: str
    stage: str = Field(..., description="The current stage's key.")
    version: int
    items: list[TransitionOut] = Field(..., description="The stage changes, newest first.")
    count: int


class StageChangeIn(Schema):
    stage: str = Field(..., description="The key of the stage to move to.", max_length=32)
    reason: str = Field("", description="Why; required when moving to a lost stage (churned).")
    version: int | None = Field(None, description="The customer's version you read; a stale one answers 409.")


class StageChangeOut(Schema):
    id: int
    number: str
    stage: str = Field(..., description="The new stage's key.")
    version: int
    transition: TransitionOut


class HistoryPage(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Page size.")
    offset: int = Field(0, ge=0, description="Rows to skip.")


def _transition(move: LifecycleTransition) -> dict[str, Any]:
    actor = move.actor
    return {
        "id": move.pk,
        "from_stage": move.from_stage_id,
        "to_stage": move.to_stage_id,
        "actor": move.actor_id,
        "actor_name": (actor.get_full_name() or actor.get_username()) if actor is not None else "",
        "at": move.at.isoformat(),
        "reason": move.reason,
        "source": move.source,
    }


@router.get(
    "/{int:pk}/lifecycle/",
    response=LifecycleOut,
    summary="A customer's lifecycle history",
    operation_id="customer_lifecycle_history",
)
def lifecycle_history(request: HttpRequest, pk: int, page: Query[HistoryPage]) -> Any:
    customer, moves = lifecycle.history_for(api_context(request), pk)
    rows = moves[page.offset : page.offset + page.limit]
    return json_response(
        200,
        {
            "id": customer.pk,
            "number": customer.number,
            "stage": customer.stage_id,
            "version": customer.version,
            "items": [_transition(move) for move in rows],
            "count": moves.count(),
        },
    )


@router.post(
    "/{int:pk}/lifecycle/",
    response=StageChangeOut,
    summary="Move a customer to another lifecycle stage",
    operation_id="customer_lifecycle_change",
)
def lifecycle_change(request: HttpRequest, pk: int, payload: StageChangeIn) -> Any:
    ctx = api_context(request)
    customer, _moves = lifecycle.history_for(ctx, pk)
    move = lifecycle.move_stage(ctx, customer, payload.stage, payload.reason, version=payload.version)
    moved = move.customer
    return json_response(
        200,
        {
            "id": moved.pk,
            "number": moved.number,
            "stage": moved.stage_id,
            "version": moved.version,
            "transition": _transition(move.transition),
        },
    )
