"""The pipeline board, moves (from the board's drag and drop and the opportunity page), the
forecast, quotas, the customer page's panel and the pipeline settings. Thin: reads through
selectors, writes through services."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.platform import money
from kehu.platform.access import can, visible_to
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.views import safe_next
from kehu.sales.opportunities import pipelines as pipeline_config
from kehu.sales.opportunities import quotas as quota_services
from kehu.sales.opportunities import selectors, services
from kehu.sales.opportunities.models import (
    REQUIREMENT_FIELDS,
    ForecastCategory,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    StageKind,
)
from kehu.sales.opportunities.records import OPPORTUNITY

OPPORTUNITIES_CHANGED = "kehu:opportunities-changed"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _filters(data: Any) -> selectors.Filters:
    return selectors.Filters(
        owner=_int(data.get("owner")),
        team=_int(data.get("team")),
        close_from=_date(data.get("close_from")),
        close_to=_date(data.get("close_to")),
    )


def _pipeline(data: Any) -> Pipeline | None:
    pk = _int(data.get("pipeline"))
    if pk is not None:
        found = pipeline_config.pipelines().filter(pk=pk).first()
        if found is not None:
            return found
    return pipeline_config.default_pipeline()


def _totals_json(column: selectors.Column, currency: str) -> dict[str, Any]:
    return {
        "count": column.count,
        "amount": str(column.amount),
        "weighted": str(column.weighted),
        "amount_display": money.fmt_number(column.amount, currency),
        "weighted_display": money.fmt_number(column.weighted, currency),
        "unconverted": {code: money.fmt(amount, code) for code, amount in column.unconverted.items()},
    }


# ---------------------------------------------------------------- board


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """The open opportunities of a pipeline by stage, with drag and drop for those who may
    change them."""
    if not can(request.user, OPPORTUNITY, "view"):
        raise PermissionDenied
    filters = _filters(request.GET)
    result = selectors.board(request.user, _pipeline(request.GET), filters)
    from kehu.accounts.models import Team

    query = {
        key: value
        for key, value in {
            "owner": filters.owner,
            "team": filters.team,
            "close_from": filters.close_from.isoformat() if filters.close_from else None,
            "close_to": filters.close_to.isoformat() if filters.close_to else None,
        }.items()
        if value is not None
    }
    list_url = reverse("opportunities_list")
    columns = []
    for column in result.columns:
        params = {**query, "status": "open", "stage": column.stage.pk}
        if result.pipeline is not None:
            params["pipeline"] = result.pipeline.pk
        columns.append({"column": column, "list_url": f"{list_url}?{urlencode(params)}"})
    context = {
        "board": result,
        "columns": columns,
        "pipelines": pipeline_config.pipelines(),
        "owners": selectors.owners_for_filter(request.user),
        "teams": Team.objects.order_by("name"),
        "filters": filters,
        "can_change": can(request.user, OPPORTUNITY, "change"),
        "can_add": can(request.user, OPPORTUNITY, "add"),
        "move_url": reverse("opportunity_move", args=[0]).replace("/0/", "/{id}/"),
    }
    return render(request, "opportunities/board.html", context)


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an opportunity to ``stage`` (posting its ``version``; ``lost_reason`` for a lost
    stage). From the board (``Accept: application/json``): 200 with the new version and both
    columns' totals, 422 with the message when the move is refused (nothing written), 409 on a
    stale version. From a form: back to ``next`` with a message."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    if not can(request.user, OPPORTUNITY, "change"):
        if wants_json:
            return JsonResponse({"ok": False, "message": _("You may not change opportunities.")}, status=403)
        raise PermissionDenied
    try:
        opp = services.opportunity_get(request.user, pk)
    except NotVisible:
        raise Http404 from None
    ctx = Context.from_request(request)
    previous_stage = opp.stage
    action = request.POST.get("action", "move")
    version = _int(request.POST.get("version"))
    status, message = 200, ""
    try:
        if action == "win":
            services.opportunity_win(ctx, opp, version)
        elif action == "lose":
            services.opportunity_lose(ctx, opp, request.POST.get("lost_reason", ""), version)
        elif action == "reopen":
            services.opportunity_reopen(ctx, opp, version)
        else:
            stage = _int(request.POST.get("stage"))
            services.opportunity_move(ctx, opp, stage or "", version, lost_reason=request.POST.get("lost_reason", ""))
    except StaleVersion:
        status, message = 409, str(StaleVersion.message)
    except ValidationError as error:
        status, message = 422, " ".join(error.messages)
    if not wants_json:
        if message:
            messages.error(request, message)
        else:
            messages.success(request, _("%(record)s moved to %(stage)s.") % {"record": opp, "stage": opp.stage})
        return HttpResponseRedirect(safe_next(request, opp.get_absolute_url()))
    if message:
        return JsonResponse({"ok": False, "message": message, "version": opp.version}, status=status)
    filters = _filters(request.POST)
    result = selectors.board(request.user, previous_stage.pipeline, filters, limit=0)
    touched = {previous_stage.pk, opp.stage_id}
    totals = {
        str(column.stage.pk): _totals_json(column, result.currency)
        for column in result.columns
        if column.stage.pk in touched
    }
    return JsonResponse(
        {
            "ok": True,
            "message": _("%(record)s moved to %(stage)s.") % {"record": opp, "stage": opp.stage},
            "version": opp.version,
            "stage": opp.stage_id,
            "status": opp.status,
            "totals": totals,
            "warnings": result.warnings,
        }
    )


# ---------------------------------------------------------------- the customer page


@login_required
def customer_opportunities(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's open opportunities with their amounts (a panel on the customer page)."""
    from kehu.customers.models import Customer

    if not can(request.user, OPPORTUNITY, "view"):
        raise PermissionDenied
    try:
        customer = visible_to(request.user, Customer.objects.all()).get(pk=customer_id)
    except Customer.DoesNotExist:
        raise Http404 from None
    rows = list(
        selectors.visible_opportunities(request.user)
        .filter(customer=customer, status=OpportunityStatus.OPEN)
        .select_related("stage")
        .order_by("expected_close_date", "id")[:20]
    )
    context = {
        "customer": customer,
        "opportunities": rows,
        "can_add": can(request.user, OPPORTUNITY, "add"),
        "new_url": f"{reverse('opportunities_create')}?{urlencode({'customer': customer.pk})}",
    }
    return render(request, "opportunities/_customer_opportunities.html", context)


# ---------------------------------------------------------------- forecast


@login_required
def forecast(request: HttpRequest) -> HttpResponse:
    if not can(request.user, OPPORTUNITY, "view"):
        raise PermissionDenied
    from kehu.accounts.models import Team

    year = _int(request.GET.get("year")) or timezone.localdate().year
    year = min(max(year, 2000), 2100)
    period = "month" if request.GET.get("period") == "month" else "quarter"
    owner, team = _int(request.GET.get("owner")), _int(request.GET.get("team"))
    result = selectors.forecast(request.user, year=year, period=period, owner=owner, team=team)
    context = {
        "forecast": result,
        "year": year,
        "period": period,
        "owner": owner,
        "team": team,
        "owners": selectors.owners_for_filter(request.user),
        "teams": Team.objects.order_by("name"),
        "years": list(range(year - 2, year + 3)),
        "categories": ForecastCategory,
        "can_edit_quotas": quota_services.can_edit(request.user),
    }
    return render(request, "opportunities/forecast.html", context)


# ---------------------------------------------------------------- quotas


@login_required
def quotas(request: HttpRequest) -> HttpResponse:
    """A grid of monthly quotas (users × months of a year) for managers."""
    if not quota_services.can_view(request.user):
        raise PermissionDenied
    year = _int(request.GET.get("year") or request.POST.get("year")) or timezone.localdate().year
    year = min(max(year, 2000), 2100)
    users = list(selectors.owners_for_filter(request.user))
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not quota_services.can_edit(request.user):
            raise PermissionDenied
        values: dict[tuple[int, int], str] = {}
        for user in users:
            for month in range(1, 13):
                values[(user.pk, month)] = request.POST.get(f"q-{user.pk}-{month}", "").strip()
        currency = request.POST.get("currency", money.reporting_currency())
        try:
            changed = quota_services.quotas_set_year(Context.from_request(request), year, values, currency)
        except ValidationError as error:
            errors = {key: " ".join(messages_) for key, messages_ in error.message_dict.items()}
            messages.error(request, _("Some quotas are not valid."))
        else:
            messages.success(request, _("%(count)d quotas saved.") % {"count": changed})
            return HttpResponseRedirect(f"{reverse('opportunity_quotas')}?year={year}")
    grid = quota_services.quota_grid(users, year)
    context = {
        "year": year,
        "rows": [
            {"user": user, "cells": [(month, grid.get((user.pk, month))) for month in range(1, 13)]} for user in users
        ],
        "months": range(1, 13),
        "errors": errors,
        "currency": money.reporting_currency(),
        "can_edit": quota_services.can_edit(request.user),
        "years": list(range(year - 2, year + 3)),
        "posted": request.POST if request.method == "POST" else None,
    }
    return render(request, "opportunities/quotas.html", context, status=422 if errors else 200)


# ---------------------------------------------------------------- pipeline settings


def _percent(value: str) -> Decimal | None:
    try:
        return Decimal(value.strip()) if value and value.strip() else None
    except InvalidOperation:
        return None


@login_required
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    """Pipelines and their stages: add, rename, make default, (de)activate, probability,
    kind, forecast category, entry requirements, order."""
    if not pipeline_config.can_configure(request.user):
        raise PermissionDenied
    ctx = Context.from_request(request)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            _settings_action(ctx, action, request.POST)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Pipelines saved."))
        return HttpResponseRedirect(reverse("pipeline_settings"))
    items = []
    for pipeline in pipeline_config.pipelines(active_only=False):
        items.append({"pipeline": pipeline, "stages": pipeline_config.stages_of(pipeline, active_only=False)})
    context = {
        "items": items,
        "kinds": StageKind.choices,
        "categories": ForecastCategory.choices,
        "requirement_fields": [(key, str(label)) for key, label in REQUIREMENT_FIELDS.items()],
    }
    return render(request, "opportunities/pipeline_settings.html", context)


def _settings_action(ctx: Context, action: str, data: Any) -> None:
    if action == "add_pipeline":
        pipeline_config.pipeline_create(ctx, {"name": data.get("name", "").strip()})
    elif action == "update_pipeline":
        pipeline = get_object_or_404(Pipeline, pk=_int(data.get("pipeline")))
        pipeline_config.pipeline_update(
            ctx,
            pipeline,
            {
                "name": data.get("name", "").strip(),
                "is_default": data.get("is_default") == "on",
                "active": data.get("active") == "on",
            },
        )
    elif action == "add_stage":
        pipeline = get_object_or_404(Pipeline, pk=_int(data.get("pipeline")))
        pipeline_config.stage_create(ctx, pipeline, _stage_data(data))
    elif action == "update_stage":
        stage = get_object_or_404(PipelineStage, pk=_int(data.get("stage")))
        pipeline_config.stage_update(ctx, stage, _stage_data(data))
    elif action in ("stage_up", "stage_down"):
        stage = get_object_or_404(PipelineStage, pk=_int(data.get("stage")))
        pipeline_config.stage_move(ctx, stage, -1 if action == "stage_up" else 1)
    else:
        raise ValidationError(_("Unknown action."))


def _stage_data(data: Any) -> dict[str, Any]:
    probability = _percent(data.get("probability", ""))
    if probability is None:
        raise ValidationError(_("Give the stage's probability (0–100)."))
    return {
        "name": data.get("name", "").strip(),
        "probability": probability,
        "kind": data.get("kind", StageKind.OPEN),
        "forecast_category": data.get("forecast_category", ForecastCategory.PIPELINE),
        "requirements": [name for name in data.getlist("requirements") if name],
        "active": data.get("active", "on") == "on",
    }
