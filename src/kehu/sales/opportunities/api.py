"""Pipelines, opportunity moves, product lines, the forecast and quotas in the API; the rest of
/opportunities/ comes from the spine. Thin: the rules are the services'; errors are
problem+json (422 a refused move naming the missing fields, 409 a stale version, 404 an
opportunity the caller cannot see, 403 no permission).

No ``from __future__ import annotations``: django-ninja reads the annotations."""

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from kehu.platform.access import require
from kehu.platform.api import api_context, json_response, schemas_for
from kehu.sales.opportunities import pipelines as pipeline_config
from kehu.sales.opportunities import quotas as quota_services
from kehu.sales.opportunities import selectors, services
from kehu.sales.opportunities.models import Opportunity, Quota
from kehu.sales.opportunities.records import OPPORTUNITY

pipeline_router = Router(tags=["pipelines"])
router = Router(tags=["opportunities"])
forecast_router = Router(tags=["forecast"])
quota_router = Router(tags=["quotas"])

_opportunity = schemas_for(OPPORTUNITY)
OpportunityOut = _opportunity.out


class StageOut(Schema):
    id: int
    key: str = Field("", description="Set for the default stages.")
    name: str = Field(..., description="As stored (defaults in English).")
    display_name: str = Field(..., description="In the request's language while unchanged.")
    order: int
    probability: Decimal = Field(..., description="Default probability (%), a decimal string.")
    kind: str = Field(..., description="open, won or lost.")
    forecast_category: str = Field(..., description="pipeline, best_case, commit, closed or omitted.")
    requirements: list[str] = Field(..., description="Fields required to enter the stage.")
    active: bool


class PipelineOut(Schema):
    id: int
    key: str = ""
    name: str
    display_name: str
    is_default: bool
    order: int
    active: bool
    stages: list[StageOut]


class PipelineList(Schema):
    items: list[PipelineOut]
    count: int


def _pipeline_json(pipeline: Any, stages: list[Any]) -> dict[str, Any]:
    return {
        "id": pipeline.pk,
        "key": pipeline.key,
        "name": pipeline.name,
        "display_name": pipeline.display_name,
        "is_default": pipeline.is_default,
        "order": pipeline.order,
        "active": pipeline.active,
        "stages": [
            {
                "id": stage.pk,
                "key": stage.key,
                "name": stage.name,
                "display_name": stage.display_name,
                "order": stage.order,
                "probability": str(stage.probability),
                "kind": stage.kind,
                "forecast_category": stage.forecast_category,
                "requirements": list(stage.requirements or []),
                "active": stage.active,
            }
            for stage in stages
        ],
    }


@pipeline_router.get(
    "/", response=PipelineList, summary="List pipelines with their stages", operation_id="pipeline_list"
)
def list_pipelines(request: HttpRequest, active: bool | None = None) -> Any:
    ctx = api_context(request)
    require(ctx, OPPORTUNITY, "view")
    from kehu.sales.opportunities.models import PipelineStage

    found = list(pipeline_config.pipelines(active_only=False))
    if active is not None:
        found = [pipeline for pipeline in found if pipeline.active == active]
    stages: dict[int, list[Any]] = {}
    for stage in PipelineStage.objects.filter(pipeline__in=found).order_by("order", "id"):
        stages.setdefault(stage.pipeline_id, []).append(stage)
    items = [_pipeline_json(pipeline, stages.get(pipeline.pk, [])) for pipeline in found]
    return json_response(200, {"items": items, "count": len(items)})


# ---------------------------------------------------------------- moves and lines


class MoveIn(Schema):
    stage: int = Field(..., description="The id of the stage to move to.")
    version: int | None = Field(None, description="The version you read; a stale one answers 409.")
    lost_reason: str = Field("", max_length=500, description="Required when the stage is a lost stage.")


class WinIn(Schema):
    version: int | None = None
    stage: int | None = Field(None, description="A won stage of the pipeline; its first by default.")


class LoseIn(Schema):
    lost_reason: str = Field(..., max_length=500, description="Why it was lost (required).")
    version: int | None = None
    stage: int | None = Field(None, description="A lost stage of the pipeline; its first by default.")


class ReopenIn(Schema):
    version: int | None = None
    stage: int | None = Field(None, description="An open stage; the one it was closed from by default.")


class LineIn(Schema):
    product: int | None = Field(None, description="A product id.")
    description: str = Field("", max_length=255)
    quantity: Decimal | None = Field(None, description="1 by default; a decimal string.")
    unit_price: Decimal | None = Field(
        None, description="The product's list price in the opportunity's currency by default."
    )
    discount_percent: Decimal | None = Field(None, description="0 by default.")
    tax_rate: Decimal | None = Field(None, description="The product's tax rate (%) by default.")


class LinesIn(Schema):
    lines: list[LineIn] = Field(..., description="The new lines, replacing all current ones.")
    version: int | None = None


class LineOut(Schema):
    id: int
    position: int
    product: int | None = Field(None, validation_alias="product_id")
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    amount: Decimal = Field(..., description="quantity × unit price × (1 − discount %), rounded to the currency.")
    tax_amount: Decimal


class LinesOut(Schema):
    opportunity: OpportunityOut  # type: ignore[valid-type]
    lines: list[LineOut]
    tax_total: Decimal


def _get(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    require(ctx, OPPORTUNITY, "change")
    return ctx, services.opportunity_get(ctx, pk)


def _answer(opp: Opportunity) -> Any:
    fresh = Opportunity.objects.get(pk=opp.pk)
    return json_response(200, _opportunity.dump(fresh))


@router.post(
    "/{int:pk}/move/",
    response=OpportunityOut,
    summary="Move an opportunity to another stage",
    description=(
        "Checks the stage's requirements (422 naming the missing fields, e.g. "
        "`Moving to Proposal needs: Amount, Expected close date.`), writes the stage history and the audit "
        "entry; a won stage marks it won, a lost stage needs `lost_reason`, an open stage reopens a closed one."
    ),
    operation_id="opportunity_move",
)
def move_opportunity(request: HttpRequest, pk: int, payload: MoveIn) -> Any:
    ctx, opp = _get(request, pk)
    return _answer(services.opportunity_move(ctx, opp, payload.stage, payload.version, lost_reason=payload.lost_reason))


@router.post(
    "/{int:pk}/win/", response=OpportunityOut, summary="Mark an opportunity won", operation_id="opportunity_win"
)
def win_opportunity(request: HttpRequest, pk: int, payload: WinIn) -> Any:
    ctx, opp = _get(request, pk)
    return _answer(services.opportunity_win(ctx, opp, payload.version, stage=payload.stage))


@router.post(
    "/{int:pk}/lose/", response=OpportunityOut, summary="Mark an opportunity lost", operation_id="opportunity_lose"
)
def lose_opportunity(request: HttpRequest, pk: int, payload: LoseIn) -> Any:
    ctx, opp = _get(request, pk)
    return _answer(services.opportunity_lose(ctx, opp, payload.lost_reason, payload.version, stage=payload.stage))


@router.post(
    "/{int:pk}/reopen/",
    response=OpportunityOut,
    summary="Reopen a won or lost opportunity",
    operation_id="opportunity_reopen",
)
def reopen_opportunity(request: HttpRequest, pk: int, payload: ReopenIn) -> Any:
    ctx, opp = _get(request, pk)
    return _answer(services.opportunity_reopen(ctx, opp, payload.version, stage=payload.stage))


def _lines_json(opp: Opportunity) -> dict[str, Any]:
    fresh = Opportunity.objects.get(pk=opp.pk)
    lines = list(fresh.lines.all())  # type: ignore[attr-defined]
    return {
        "opportunity": _opportunity.dump(fresh),
        "lines": [LineOut.model_validate(line, from_attributes=True).model_dump(mode="json") for line in lines],
        "tax_total": str(sum((line.tax_amount for line in lines), Decimal(0))),
    }


@router.get(
    "/{int:pk}/lines/", response=LinesOut, summary="An opportunity's product lines", operation_id="opportunity_lines"
)
def get_lines(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    require(ctx, OPPORTUNITY, "view")
    return json_response(200, _lines_json(services.opportunity_get(ctx, pk)))


@router.put(
    "/{int:pk}/lines/",
    response=LinesOut,
    summary="Replace an opportunity's product lines",
    description="The amount becomes the lines' total. Errors name `lines.<index>.<field>`.",
    operation_id="opportunity_set_lines",
)
def put_lines(request: HttpRequest, pk: int, payload: LinesIn) -> Any:
    ctx, opp = _get(request, pk)
    lines = [line.model_dump(exclude_none=True) for line in payload.lines]
    services.opportunity_set_lines(ctx, opp, lines, payload.version)
    return json_response(200, _lines_json(opp))


# ---------------------------------------------------------------- forecast and quotas


class ForecastQuery(Schema):
    period: str = Field("quarter", pattern="^(month|quarter)$", description="month or quarter.")
    year: int | None = Field(None, ge=2000, le=2100, description="The current year by default.")
    owner: int | None = Field(None, description="One owner's opportunities.")
    team: int | None = Field(None, description="One team's opportunities.")


@forecast_router.get(
    "/",
    summary="Forecast per period and owner",
    description=(
        "Per period and owner (and the total), in the reporting currency, amounts as decimal strings: "
        "`weighted` (Σ amount × probability / 100 of open opportunities expected to close in the period), "
        "`pipeline`, `best_case`, `commit` (Σ amount of open ones by forecast category), `closed` (won in the "
        "period), `quota`. Amounts are converted at the rate of the expected close date (won: the day won); "
        "amounts without a rate are listed in `unconverted`."
    ),
    operation_id="forecast_get",
)
def get_forecast(request: HttpRequest, filters: Query[ForecastQuery]) -> Any:
    ctx = api_context(request)
    require(ctx, OPPORTUNITY, "view")
    year = filters.year or timezone.localdate().year
    result = selectors.forecast(ctx.user, year=year, period=filters.period, owner=filters.owner, team=filters.team)
    return json_response(200, result.as_json())


class QuotaIn(Schema):
    user: int
    month: str = Field(..., pattern=r"^\d{4}-\d{2}$", description="YYYY-MM.")
    amount: Decimal | None = Field(None, description="A decimal string; null clears the quota.")
    currency: str | None = Field(None, max_length=3, description="The reporting currency by default.")


class QuotasIn(Schema):
    items: list[QuotaIn]


class QuotaQuery(Schema):
    year: int | None = Field(None, ge=2000, le=2100)
    user: int | None = None


def _quota_json(quota: Quota) -> dict[str, Any]:
    return {
        "user": quota.user_id,
        "month": quota.period_start.strftime("%Y-%m"),
        "amount": str(quota.amount),
        "currency": quota.currency,
    }


@quota_router.get("/", summary="List quotas", operation_id="quota_list")
def list_quotas(request: HttpRequest, filters: Query[QuotaQuery]) -> Any:
    ctx = api_context(request)
    if not quota_services.can_view(ctx.user) or (ctx.token is not None and not ctx.token.allows("sales", write=False)):
        raise PermissionDenied
    year = filters.year or timezone.localdate().year
    users = selectors.owners_for_filter(ctx.user)
    if filters.user is not None:
        users = users.filter(pk=filters.user)
    rows = Quota.objects.filter(
        user__in=users, period_start__gte=datetime.date(year, 1, 1), period_start__lte=datetime.date(year, 12, 1)
    ).order_by("user_id", "period_start")
    items = [_quota_json(quota) for quota in rows]
    return json_response(200, {"items": items, "count": len(items)})


@quota_router.put(
    "/", summary="Set quotas", description="Set or clear (amount null) monthly quotas.", operation_id="quota_set"
)
def set_quotas(request: HttpRequest, payload: QuotasIn) -> Any:
    ctx = api_context(request)
    changed = quota_services.quotas_set(ctx, [item.model_dump() for item in payload.items])
    return json_response(200, {"changed": changed})
