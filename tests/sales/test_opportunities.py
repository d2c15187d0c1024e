"""Opportunity rules: defaults from the pipeline and stage, stage requirements, moves with
history, audit and events, win (customer promoted) and lose (reason), reopen, product lines,
visibility, permissions, the API and the reassignment follower."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.models import AuditEntry
from kehu.sales.opportunities import services
from kehu.sales.opportunities.models import Opportunity, OpportunityLine, OpportunityStageChange, Pipeline
from tests.api.support import assert_problem
from tests.sales.opportunity_support import *  # noqa: F403
from tests.sales.opportunity_support import D, ctx_for

pytestmark = pytest.mark.django_db


def test_default_pipelines_are_seeded_with_their_stages(new_business: Pipeline) -> None:
    renewal = Pipeline.objects.get(key="renewal")
    assert new_business.is_default
    assert not renewal.is_default
    assert [(s.key, s.probability, s.kind) for s in new_business.stages.order_by("order")] == [
        ("lead", D("10.00"), "open"),
        ("qualified", D("20.00"), "open"),
        ("proposal", D("40.00"), "open"),
        ("negotiation", D("70.00"), "open"),
        ("won", D("100.00"), "won"),
        ("lost", D("0.00"), "lost"),
    ]
    assert new_business.stages.get(key="proposal").requirements == ["amount", "expected_close_date"]
    assert [s.key for s in renewal.stages.order_by("order")] == ["renewal_due", "quoted", "renewed", "lost"]


def test_default_names_are_translated_while_unchanged(new_business: Pipeline) -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        shown = new_business.display_name
    assert new_business.name == "New business"
    assert isinstance(shown, str)
    new_business.name = "Projects"
    with translation.override("zh-hans"):
        assert new_business.display_name == "Projects"


def test_new_opportunity_starts_in_the_default_pipeline_with_stage_defaults(rep: Any, make_opportunity: Any) -> None:
    opp = make_opportunity(rep, amount=D("1000.005"))
    assert opp.number.startswith("OPP-")
    assert opp.pipeline.key == "new_business"
    assert opp.stage.key == "lead"
    assert opp.probability == D("10.00")
    assert opp.forecast_category == "pipeline"
    assert opp.currency == "CNY"
    assert opp.amount == D("1000.01")
    assert opp.status == "open"
    assert opp.owner == rep
    first = OpportunityStageChange.objects.get(opportunity=opp)
    assert first.from_stage is None
    assert first.to_stage == opp.stage


def test_move_to_proposal_without_amount_is_refused_naming_the_fields(
    rep: Any, make_opportunity: Any, stage: Any
) -> None:
    opp = make_opportunity(rep)
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.opportunity_move(ctx_for(rep), opp, stage("proposal"), opp.version)
    assert refused.value.message_dict["stage"] == ["Moving to Proposal needs: Amount, Expected close date."]
    opp.refresh_from_db()
    assert opp.stage.key == "lead"
    assert opp.version == 1
    assert AuditEntry.objects.count() == audits
    assert OpportunityStageChange.objects.filter(opportunity=opp).count() == 1


@pytest.fixture
def published(monkeypatch: Any) -> list[Any]:
    """The events the opportunity services publish."""
    seen: list[Any] = []
    monkeypatch.setattr(services, "publish", seen.append)
    return seen


def test_move_writes_history_audit_and_events_and_follows_the_stage_probability(
    rep: Any, make_opportunity: Any, stage: Any, published: list[Any]
) -> None:
    opp = make_opportunity(rep, amount=D("5000"), expected_close_date=datetime.date(2026, 6, 30))
    moved = services.opportunity_move(ctx_for(rep), opp, stage("proposal"), opp.version)
    assert moved.stage.key == "proposal"
    assert moved.version == 2
    assert moved.probability == D("40.00")
    assert moved.forecast_category == "best_case"
    change = OpportunityStageChange.objects.filter(opportunity=opp).order_by("-id").first()
    assert change is not None
    assert change.from_stage == stage("lead")
    assert change.to_stage == stage("proposal")
    assert change.seconds_in_previous is not None
    assert change.seconds_in_previous >= 0
    entry = AuditEntry.objects.filter(object_id=opp.pk, action="update").latest("id")
    assert entry.changes["stage"][1]["repr"] == "Proposal"
    assert [event.type for event in published] == ["record.updated", "opportunity.stage_changed"]
    assert published[0].data["changed"] == ["forecast_category", "probability", "stage"]


def test_a_probability_set_by_hand_is_kept_on_a_move(rep: Any, make_opportunity: Any, stage: Any) -> None:
    opp = make_opportunity(rep, probability=D("33"))
    moved = services.opportunity_move(ctx_for(rep), opp, stage("qualified"))
    assert moved.probability == D("33.00")


def test_stage_cannot_be_changed_by_the_generic_update(rep: Any, make_opportunity: Any, stage: Any) -> None:
    from kehu.platform.services import record_update
    from kehu.sales.opportunities.records import OPPORTUNITY

    opp = make_opportunity(rep)
    with pytest.raises(ValidationError) as refused:
        record_update(OPPORTUNITY, ctx=ctx_for(rep), obj=opp, data={"stage": stage("won").pk})
    assert "stage" in refused.value.message_dict


def test_win_marks_won_publishes_and_promotes_the_lead_customer(
    rep: Any, make_customer: Any, make_opportunity: Any, published: list[Any]
) -> None:
    customer = make_customer(rep, name="Lead Co")
    assert customer.stage.key == "lead"
    opp = make_opportunity(rep, customer, amount=D("800"))
    won = services.opportunity_win(ctx_for(rep), opp, opp.version)
    assert won.status == "won"
    assert won.closed_at is not None
    assert won.probability == D("100.00")
    assert won.forecast_category == "closed"
    customer.refresh_from_db()
    assert customer.stage.key == "active"
    assert [event.type for event in published if event.type == "opportunity.won"] == ["opportunity.won"]


def test_lose_needs_a_reason(rep: Any, make_opportunity: Any) -> None:
    opp = make_opportunity(rep)
    with pytest.raises(ValidationError) as refused:
        services.opportunity_lose(ctx_for(rep), opp, "  ")
    assert "lost_reason" in refused.value.message_dict
    lost = services.opportunity_lose(ctx_for(rep), opp, "Price too high")
    assert lost.status == "lost"
    assert lost.lost_reason == "Price too high"
    assert lost.probability == D("0.00")


def test_reopen_returns_to_the_stage_it_was_closed_from(rep: Any, make_opportunity: Any, stage: Any) -> None:
    opp = make_opportunity(rep)
    services.opportunity_move(ctx_for(rep), opp, stage("qualified"))
    services.opportunity_lose(ctx_for(rep), opp, "No budget")
    reopened = services.opportunity_reopen(ctx_for(rep), opp)
    assert reopened.status == "open"
    assert reopened.stage.key == "qualified"
    assert reopened.lost_reason == ""
    assert reopened.closed_at is None
    assert reopened.probability == D("20.00")


def test_stale_version_writes_nothing(rep: Any, make_opportunity: Any, stage: Any) -> None:
    opp = make_opportunity(rep)
    with pytest.raises(StaleVersion):
        services.opportunity_move(ctx_for(rep), opp, stage("qualified"), version=7)
    opp.refresh_from_db()
    assert opp.stage.key == "lead"


def test_rep_cannot_see_or_move_other_teams_opportunities(
    rep: Any, other_rep: Any, make_opportunity: Any, stage: Any
) -> None:
    opp = make_opportunity(other_rep)
    with pytest.raises(NotVisible):
        services.opportunity_move(ctx_for(rep), opp, stage("qualified"))


def test_reader_cannot_move(reader: Any, rep: Any, make_opportunity: Any, stage: Any) -> None:
    opp = make_opportunity(rep)
    with pytest.raises(PermissionDenied):
        services.opportunity_move(ctx_for(reader), opp, stage("qualified"))


def test_contact_must_belong_to_the_customer(
    rep: Any, make_customer: Any, make_contact: Any, make_opportunity: Any
) -> None:
    other = make_customer(rep, name="Other Co")
    stranger = make_contact(rep, other, name="Wang Wu")
    with pytest.raises(ValidationError) as refused:
        make_opportunity(rep, contact=stranger)
    assert "contact" in refused.value.message_dict


def test_unknown_currency_is_refused(rep: Any, make_opportunity: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        make_opportunity(rep, currency="XYZ")
    assert "currency" in refused.value.message_dict


# ---------------------------------------------------------------- lines


@pytest.fixture
def product(admin_user: Any) -> Any:
    from kehu.platform.services import record_create
    from kehu.sales.products.models import ProductPrice
    from kehu.sales.products.records import PRODUCT

    made = record_create(
        PRODUCT,
        ctx=ctx_for(admin_user),
        data={"code": "LIC-1", "name": "Licence", "kind": "product", "tax_rate": D("13.00")},
    )
    ProductPrice.objects.create(product=made, currency_id="CNY", unit_price=D("99.9950"))
    return made


def test_lines_set_the_amount_exactly_with_list_price_defaults(rep: Any, make_opportunity: Any, product: Any) -> None:
    opp = make_opportunity(rep, amount=D("1"))
    services.opportunity_set_lines(
        ctx_for(rep),
        opp,
        [
            {"product": product.pk, "quantity": "3"},  # 3 × 99.995 = 299.985 → 299.99
            {"description": "Installation", "quantity": "1.5", "unit_price": "100.01", "discount_percent": "10"},
        ],
    )
    lines = list(OpportunityLine.objects.filter(opportunity=opp).order_by("position"))
    assert [line.amount for line in lines] == [D("299.99"), D("135.01")]  # 1.5 × 100.01 × 0.9 = 135.0135
    assert lines[0].tax_rate == D("13.00")
    assert lines[0].tax_amount == D("39.00")
    opp.refresh_from_db()
    assert opp.amount == D("435.00")
    from kehu.platform.services import record_update
    from kehu.sales.opportunities.records import OPPORTUNITY

    with pytest.raises(ValidationError) as refused:
        record_update(OPPORTUNITY, ctx=ctx_for(rep), obj=opp, data={"amount": D("1")})
    assert "amount" in refused.value.message_dict


def test_bad_lines_name_their_index_and_write_nothing(rep: Any, make_opportunity: Any, product: Any) -> None:
    opp = make_opportunity(rep, currency="USD")
    with pytest.raises(ValidationError) as refused:
        services.opportunity_set_lines(
            ctx_for(rep), opp, [{"product": product.pk}, {"description": "x", "unit_price": "1", "quantity": "0"}]
        )
    errors = refused.value.message_dict
    assert "no list price in USD" in errors["lines.0.unit_price"][0]
    assert "lines.1.quantity" in errors
    assert not OpportunityLine.objects.filter(opportunity=opp).exists()


# ---------------------------------------------------------------- API


def test_api_move_refused_answers_422_naming_the_missing_fields(
    rep: Any, api_as: Any, make_opportunity: Any, stage: Any
) -> None:
    opp = make_opportunity(rep)
    api = api_as(rep)
    body = assert_problem(api.post(f"/opportunities/{opp.pk}/move/", {"stage": stage("proposal").pk}), 422)
    assert body["errors"][0]["message"] == "Moving to Proposal needs: Amount, Expected close date."
    ok = api.post(f"/opportunities/{opp.pk}/move/", {"stage": stage("qualified").pk, "version": 1})
    assert ok.status_code == 200, ok.content
    assert ok.json()["stage"] == stage("qualified").pk
    assert ok.json()["version"] == 2
    assert_problem(api.post(f"/opportunities/{opp.pk}/move/", {"stage": stage("lead").pk, "version": 1}), 409)


def test_api_win_lose_lines_and_pipelines(rep: Any, api_as: Any, make_opportunity: Any, product: Any) -> None:
    opp = make_opportunity(rep)
    api = api_as(rep)
    pipelines = api.get("/pipelines/").json()
    assert pipelines["count"] == 2
    assert pipelines["items"][0]["stages"][2]["requirements"] == [
        "amount",
        "expected_close_date",
    ]
    response = api.client.put(
        f"/api/v1/opportunities/{opp.pk}/lines/",
        json.dumps({"lines": [{"product": product.pk, "quantity": "2"}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["opportunity"]["amount"] == "199.99"
    assert response.json()["lines"][0]["amount"] == "199.99"
    assert_problem(api.post(f"/opportunities/{opp.pk}/lose/", {"lost_reason": ""}), 422)
    won = api.post(f"/opportunities/{opp.pk}/win/", {})
    assert won.status_code == 200
    assert won.json()["status"] == "won"


def test_api_other_team_opportunity_is_404(rep: Any, other_rep: Any, api_as: Any, make_opportunity: Any) -> None:
    opp = make_opportunity(other_rep)
    assert_problem(api_as(rep).post(f"/opportunities/{opp.pk}/win/", {}), 404)


# ---------------------------------------------------------------- reassignment


def test_open_opportunities_follow_their_customer_to_the_new_owner(
    rep: Any, make_user: Any, make_customer: Any, make_opportunity: Any, east: Any
) -> None:
    from kehu.customers.reassign import customers_reassign

    boss = make_user("chief2", "manager", "East sales")
    mate = make_user("mate2", "sales", "East sales")
    customer = make_customer(rep, name="Move Co")
    open_opp = make_opportunity(rep, customer, name="Open")
    closed = make_opportunity(rep, customer, name="Closed")
    services.opportunity_lose(ctx_for(rep), closed, "Gone")
    customers_reassign(ctx_for(boss), [customer.pk], owner=mate, include_related=True)
    assert Opportunity.objects.get(pk=open_opp.pk).owner == mate
    assert Opportunity.objects.get(pk=closed.pk).owner == rep


def test_a_product_quoted_on_an_opportunity_is_archived_not_deleted(
    rep: Any, admin_user: Any, make_opportunity: Any, product: Any
) -> None:
    from kehu.platform.services import record_delete
    from kehu.sales.products.records import PRODUCT

    opp = make_opportunity(rep, amount=D("1"))
    services.opportunity_set_lines(ctx_for(rep), opp, [{"product": product.pk, "quantity": "1"}])

    with pytest.raises(ValidationError, match="opportunity lines"):
        record_delete(PRODUCT, ctx=ctx_for(admin_user), obj=product)
    product.refresh_from_db()
    assert product.deleted_at is None


def test_tasks_of_an_opportunity_make_its_follow_up_plan(rep: Any, make_opportunity: Any, make_customer: Any) -> None:
    from django.test import Client

    from kehu.activities.services import task_create

    opp = make_opportunity(rep, amount=D("1"), next_step="Send the quote")
    due = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)
    task = task_create(ctx_for(rep), {"title": "Send the quote", "opportunity": opp, "due_at": due})
    assert task.customer_id == opp.customer_id  # the opportunity's customer

    other = make_customer(rep, name="Another customer")
    with pytest.raises(ValidationError) as refused:
        task_create(ctx_for(rep), {"title": "Wrong", "opportunity": opp, "customer": other, "due_at": due})
    assert "opportunity" in refused.value.message_dict

    client = Client()
    client.force_login(rep)
    page = client.get(f"/opportunities/{opp.pk}/").content.decode()
    assert 'data-testid="follow-up-plan"' in page
    assert "Send the quote" in page
    assert f"opportunity={opp.pk}" in page  # add a task to the plan
