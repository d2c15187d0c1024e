"""``POST /api/v1/customers/reassign/``: many customers to a new owner in one request.

No ``from __future__ import annotations`` here: django-ninja reads the endpoint annotations."""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kehu.customers import reassign
from kehu.platform.api import api_context, json_response

router = Router(tags=["customers"])


class ReassignIn(Schema):
    ids: list[int] = Field(
        ...,
        min_length=1,
        max_length=reassign.MAX_IDS,
        description=f"The customers' ids (at most {reassign.MAX_IDS}); ids you cannot see are skipped.",
    )
    owner: int = Field(..., description="The new owner: an active user's id.")
    team: int | None = Field(None, description="The new team's id; the new owner's team when left out.")
    include_related: bool = Field(
        True, description="Also move their open records to the new owner (open tasks, later opportunities)."
    )


class ReassignOut(Schema):
    reassigned: int = Field(..., description="Customers given to the new owner or team.")
    unchanged: int = Field(..., description="Customers that already had this owner and team.")
    skipped: int = Field(..., description="Ids not found, in the trash or not visible to you.")
    related: dict[str, int] = Field(..., description='Open records moved along, by kind: {"tasks": 120}.')
    owner: int
    team: int | None


@router.post(
    "/",
    response=ReassignOut,
    summary="Reassign customers",
    description=(
        "Give customers (with their contacts and, unless `include_related` is false, their open tasks) "
        "to a new owner and team in one transaction: one audit entry and one `record.updated` event per "
        "customer. Needs the reassign permission and change on customers (a token with `write` or "
        "`customers:write`)."
    ),
    operation_id="customer_reassign",
)
def reassign_customers(request: HttpRequest, payload: ReassignIn) -> Any:
    result = reassign.customers_reassign(
        api_context(request),
        payload.ids,
        payload.owner,
        team=payload.team,
        include_related=payload.include_related,
    )
    body = {
        "reassigned": result.reassigned,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "related": result.related,
        "owner": result.owner.pk,
        "team": result.team.pk if result.team is not None else None,
    }
    return json_response(200, body)
