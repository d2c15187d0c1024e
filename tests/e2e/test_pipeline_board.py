"""The pipeline board in a browser: dragging a card to the next stage moves the opportunity
(history, audit, column totals updated without a reload); dragging a card without an amount
into Proposal is refused with the stage's message and the card goes back to its column."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.services import customer_create
from kehu.platform import money
from kehu.platform.context import Context
from kehu.platform.models import AuditAction, AuditEntry, Currency
from kehu.sales.opportunities import services
from kehu.sales.opportunities.models import Opportunity, OpportunityStageChange, Pipeline, PipelineStage
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    # the migrations' currencies are gone after an earlier browser test's flush
    Currency.objects.get_or_create(code="CNY", defaults={"name": "Chinese Yuan", "decimal_places": 2})
    money.clear_cache()
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


@pytest.fixture
def pipeline(transactional_db: Any) -> Pipeline:
    return Pipeline.objects.get(key="new_business")


def stage(pipeline: Pipeline, key: str) -> PipelineStage:
    return PipelineStage.objects.get(pipeline=pipeline, key=key)


@pytest.fixture
def deals(rep: Any, pipeline: Pipeline) -> tuple[Opportunity, Opportunity]:
    ctx = Context(user=rep)
    firm = customer_create(ctx=ctx, data={"name": "宁波海天贸易"})
    priced = services.opportunity_create(
        ctx,
        {
            "customer": firm,
            "name": "Injection moulds",
            "amount": Decimal("12500.00"),
            "currency": "CNY",
            "expected_close_date": datetime.date.today() + datetime.timedelta(days=30),
            "pipeline": pipeline,
            "stage": stage(pipeline, "lead"),
        },
    )
    unpriced = services.opportunity_create(
        ctx, {"customer": firm, "name": "Spare parts", "pipeline": pipeline, "stage": stage(pipeline, "qualified")}
    )
    return priced, unpriced


def drag(page: Any, card: Any, target: Any) -> None:
    """SortableJS (forceFallback) follows real pointer moves: press, nudge, glide, release."""
    card.scroll_into_view_if_needed()
    start, end = card.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=4)
    tx, ty = end["x"] + end["width"] / 2, end["y"] + min(40, end["height"] / 2)
    page.mouse.move(tx, ty, steps=20)
    page.mouse.move(tx + 2, ty + 2, steps=4)
    page.mouse.up()


def totals(page: Any, stage_pk: int) -> tuple[str, str]:
    box = page.locator(f"[data-testid=totals-{stage_pk}]")
    return box.locator("[data-total=count]").inner_text(), box.locator("[data-total=amount]").inner_text()


def test_dragging_a_card_to_the_next_stage_moves_the_opportunity(
    page: Any, rep: Any, pipeline: Pipeline, deals: tuple[Opportunity, Opportunity]
) -> None:
    priced, _unpriced = deals
    lead, qualified = stage(pipeline, "lead"), stage(pipeline, "qualified")
    log_in(page, "rep", PASSWORD)
    page.goto(f"/opportunities/board/?pipeline={pipeline.pk}")
    expect(page.locator("#kehu-board")).to_have_attribute("data-ready", "1")
    assert totals(page, lead.pk) == ("1", "12,500.00")
    assert totals(page, qualified.pk) == ("1", "0.00")

    drag(
        page,
        page.locator(f"[data-testid=card-{priced.pk}]"),
        page.locator(f"[data-testid=column-{qualified.pk}] .kehu-board-cards"),
    )

    expect(page.locator("[data-testid=board-message]")).to_have_class("alert alert-success")
    expect(page.locator(f"[data-testid=totals-{qualified.pk}] [data-total=count]")).to_have_text("2")
    assert totals(page, qualified.pk) == ("2", "12,500.00")
    assert totals(page, lead.pk) == ("0", "0.00")
    expect(page.locator(f"[data-testid=column-{qualified.pk}] [data-testid=card-{priced.pk}]")).to_be_visible()
    priced.refresh_from_db()
    assert (priced.stage_id, priced.probability, priced.version) == (qualified.pk, Decimal("20.00"), 2)
    change = OpportunityStageChange.objects.get(opportunity=priced, from_stage__isnull=False)
    assert (change.from_stage_id, change.to_stage_id, change.actor_id) == (lead.pk, qualified.pk, rep.pk)
    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Opportunity), object_id=priced.pk, action=AuditAction.UPDATE
    )
    assert entry.actor_id == rep.pk
    assert "stage" in entry.changes
    assert page.console_errors == []


def test_a_refused_move_shows_the_message_and_puts_the_card_back(
    page: Any, rep: Any, pipeline: Pipeline, deals: tuple[Opportunity, Opportunity]
) -> None:
    _priced, unpriced = deals
    qualified, proposal = stage(pipeline, "qualified"), stage(pipeline, "proposal")
    audited = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Opportunity), object_id=unpriced.pk
    )
    audit_before = audited.count()
    log_in(page, "rep", PASSWORD)
    page.goto(f"/opportunities/board/?pipeline={pipeline.pk}")
    expect(page.locator("#kehu-board")).to_have_attribute("data-ready", "1")

    drag(
        page,
        page.locator(f"[data-testid=card-{unpriced.pk}]"),
        page.locator(f"[data-testid=column-{proposal.pk}] .kehu-board-cards"),
    )

    message = page.locator("[data-testid=board-message]")
    expect(message).to_have_class("alert alert-danger")
    expect(message).to_have_text("Moving to Proposal needs: Amount, Expected close date.")
    expect(page.locator(f"[data-testid=column-{qualified.pk}] [data-testid=card-{unpriced.pk}]")).to_be_visible()
    expect(page.locator(f"[data-testid=column-{proposal.pk}] .kehu-card")).to_have_count(0)
    assert totals(page, qualified.pk) == ("1", "0.00")
    unpriced.refresh_from_db()
    assert (unpriced.stage_id, unpriced.version) == (qualified.pk, 1)
    assert OpportunityStageChange.objects.filter(opportunity=unpriced).count() == 1  # its creation only
    assert audited.count() == audit_before
