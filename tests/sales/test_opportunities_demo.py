"""Demo opportunities: both pipelines and every stage, won ones closed with a consistent stage
history (and only for customers the lifecycle shows as won), lost ones with a reason, lines
adding up, quotas for the sales users, on the timelines and in the search."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from kehu.accounts.models import Role, User
from kehu.platform.models import SearchDocument, TimelineEntry
from kehu.sales.opportunities.models import (
    Opportunity,
    OpportunityLine,
    OpportunityStageChange,
    PipelineStage,
    Quota,
)

pytestmark = pytest.mark.django_db


def test_demo_adds_consistent_opportunities_and_quotas() -> None:
    out = io.StringIO()
    call_command("demo", "--customers", "60", "--password", "Demo-pass-2026", stdout=out, stderr=io.StringIO())
    assert "opportunities" in out.getvalue()
    opportunities = list(Opportunity.objects.select_related("stage", "customer__stage"))
    assert len(opportunities) >= 50
    assert {opp.pipeline.key for opp in opportunities} == {"new_business", "renewal"}
    assert {opp.status for opp in opportunities} == {"open", "won", "lost"}
    open_stages = {opp.stage.key for opp in opportunities if opp.status == "open"}
    assert {"lead", "qualified", "proposal", "negotiation"} <= open_stages
    assert {opp.currency for opp in opportunities} == {"CNY", "USD"}

    history = {
        row["opportunity"]: row["n"]
        for row in OpportunityStageChange.objects.values("opportunity").annotate(n=Count("id"))
    }
    for opp in opportunities:
        assert opp.stage.kind == opp.status if opp.status != "open" else opp.stage.kind == "open"
        assert history[opp.pk] == opp.version  # created at the first stage, then one row per move
        last = OpportunityStageChange.objects.filter(opportunity=opp).order_by("-at", "-id").first()
        assert last is not None
        assert last.to_stage_id == opp.stage_id
        assert opp.probability == opp.stage.probability
        for requirement in ("amount", "expected_close_date"):
            if opp.status == "open" and requirement in opp.stage.requirements:
                assert getattr(opp, requirement) is not None
        if opp.status == "won":
            assert opp.closed_at is not None
            assert opp.amount is not None
            assert opp.customer.stage.key in {"active", "at_risk", "churned"}
        elif opp.status == "lost":
            assert opp.closed_at is not None
            assert opp.lost_reason
        else:
            assert opp.closed_at is None
            assert not opp.lost_reason
    with_lines = Opportunity.objects.annotate(total=Sum("lines__amount")).filter(total__isnull=False)
    assert with_lines.exists()
    for opp in with_lines:
        assert opp.amount == opp.total
    assert OpportunityLine.objects.filter(product__isnull=False).count() == OpportunityLine.objects.count()
    assert PipelineStage.objects.filter(pk__in=[o.stage_id for o in opportunities], kind="won").exists()

    sales_users = User.objects.filter(role__key=Role.SALES)
    assert Quota.objects.count() == 16 * sales_users.count()
    assert all(quota.amount > Decimal(0) for quota in Quota.objects.all())
    assert TimelineEntry.objects.filter(kind="opportunity").count() == len(opportunities)
    assert SearchDocument.objects.filter(record_type="opportunity").count() == len(opportunities)
