"""Pipeline settings (pipelines and stages: create, rename, reorder, requirements, what may not
change while opportunities use a stage), default names kept when saved unchanged from another
language, the quota grid and the quotas API (managers only), and the links that lead to the
board, the forecast, the quotas and the settings."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation

from kehu.platform.models import AuditEntry
from kehu.sales.opportunities import pipelines as config
from kehu.sales.opportunities import services
from kehu.sales.opportunities.models import Pipeline, PipelineStage, Quota
from tests.sales.opportunity_support import *  # noqa: F403
from tests.sales.opportunity_support import D, ctx_for

pytestmark = pytest.mark.django_db


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chief(make_user: Any, east: Any, south: Any) -> Any:
    """A manager of the parent team of East and South sales."""
    return make_user("chief", "manager", "Head office")


def _stage_form(stage: PipelineStage, **changes: Any) -> dict[str, Any]:
    data = {
        "action": "update_stage",
        "stage": stage.pk,
        "name": stage.display_name,
        "probability": str(stage.probability),
        "kind": stage.kind,
        "forecast_category": stage.forecast_category,
        "requirements": list(stage.requirements),
        "active": "on" if stage.active else "off",
    }
    return {**data, **changes}


# ---------------------------------------------------------------- pipelines and stages


def test_admin_creates_a_pipeline_with_open_won_and_lost_stages(admin_user: Any) -> None:
    pipeline = config.pipeline_create(ctx_for(admin_user), {"name": "Projects"})

    stages = config.stages_of(pipeline)
    assert [(s.name, s.kind, s.order) for s in stages] == [
        ("New", "open", 10),
        ("Won", "won", 20),
        ("Lost", "lost", 30),
    ]
    assert pipeline.order > Pipeline.objects.get(key="renewal").order
    assert AuditEntry.objects.filter(object_id=pipeline.pk, action="create").exists()


def test_a_sales_rep_may_not_change_pipelines(rep: Any, new_business: Pipeline, stage: Any) -> None:
    with pytest.raises(PermissionDenied):
        config.pipeline_create(ctx_for(rep), {"name": "Mine"})
    with pytest.raises(PermissionDenied):
        config.stage_update(ctx_for(rep), stage("lead"), {"probability": D("15")})
    assert _login(rep).post("/settings/pipelines/", {"action": "add_pipeline", "name": "X"}).status_code == 403


def test_making_a_pipeline_default_unsets_the_other(admin_user: Any, new_business: Pipeline) -> None:
    renewal = Pipeline.objects.get(key="renewal")
    config.pipeline_update(ctx_for(admin_user), renewal, {"is_default": True})
    assert list(Pipeline.objects.filter(is_default=True)) == [renewal]
    assert config.default_pipeline() == renewal


def test_the_last_active_pipeline_stays_active(admin_user: Any, new_business: Pipeline) -> None:
    renewal = Pipeline.objects.get(key="renewal")
    config.pipeline_update(ctx_for(admin_user), renewal, {"active": False})
    with pytest.raises(ValidationError, match="At least one pipeline must stay active"):
        config.pipeline_update(ctx_for(admin_user), new_business, {"active": False})


def test_admin_adds_renames_and_reorders_stages(admin_user: Any, new_business: Pipeline, stage: Any) -> None:
    ctx = ctx_for(admin_user)
    demo = config.stage_create(ctx, new_business, {"name": "Demo", "probability": D("30"), "requirements": ["contact"]})
    keys = [s.key or s.name for s in config.stages_of(new_business)]
    assert keys == ["lead", "qualified", "proposal", "negotiation", "Demo", "won", "lost"]  # before won and lost
    closing = config.stage_create(ctx, new_business, {"name": "Shelved", "probability": D("0"), "kind": "lost"})
    assert config.stages_of(new_business)[-1] == closing

    config.stage_move(ctx, demo, -1)
    config.stage_move(ctx, demo, -1)
    keys = [s.key or s.name for s in config.stages_of(new_business)]
    assert keys == ["lead", "qualified", "Demo", "proposal", "negotiation", "won", "lost", "Shelved"]
    assert [s.order for s in config.stages_of(new_business)] == [10, 20, 30, 40, 50, 60, 70, 80]
    config.stage_move(ctx, stage("lead"), -1)  # already first: nothing changes
    assert config.stages_of(new_business)[0].key == "lead"

    config.stage_update(ctx, stage("qualified"), {"name": "Discovery", "probability": D("25")})
    renamed = stage("qualified")
    assert (renamed.name, renamed.display_name, renamed.probability) == ("Discovery", "Discovery", D("25.00"))
    entry = AuditEntry.objects.filter(object_id=renamed.pk, action="update").latest("id")
    assert entry.changes["name"] == ["Qualified", "Discovery"]


def test_stage_requirements_are_checked_and_enforced(
    admin_user: Any, rep: Any, new_business: Pipeline, stage: Any, make_opportunity: Any
) -> None:
    ctx = ctx_for(admin_user)
    with pytest.raises(ValidationError, match="Choose among"):
        config.stage_update(ctx, stage("qualified"), {"requirements": ["amount", "colour"]})
    config.stage_update(ctx, stage("qualified"), {"requirements": ["next_step", "lines"]})

    opp = make_opportunity(rep, amount=D("10"))
    with pytest.raises(ValidationError) as refused:
        services.opportunity_move(ctx_for(rep), opp, stage("qualified"))
    assert refused.value.message_dict["stage"] == ["Moving to Qualified needs: Next step, Product lines."]


def test_a_stage_in_use_keeps_its_kind_and_stays_active_while_open_deals_sit_there(
    admin_user: Any, rep: Any, new_business: Pipeline, stage: Any, make_opportunity: Any
) -> None:
    ctx = ctx_for(admin_user)
    make_opportunity(rep)  # at Lead
    with pytest.raises(ValidationError, match="its kind cannot change"):
        config.stage_update(ctx, stage("lead"), {"kind": "won"})
    with pytest.raises(ValidationError, match="move them first"):
        config.stage_update(ctx, stage("lead"), {"active": False})
    assert stage("lead").active
    assert stage("lead").kind == "open"
    # an unused stage may be switched off
    config.stage_update(ctx, stage("negotiation"), {"active": False})
    assert not stage("negotiation").active
    # the only won stage may not
    with pytest.raises(ValidationError, match="at least one active open and one won stage"):
        config.stage_update(ctx, stage("won"), {"active": False})


def test_the_settings_page_saves_a_stage_and_reports_errors(admin_user: Any, stage: Any) -> None:
    client = _login(admin_user)
    response = client.post("/settings/pipelines/", _stage_form(stage("negotiation"), probability="65"), follow=True)
    assert stage("negotiation").probability == D("65.00")
    assert "Pipelines saved." in response.content.decode()

    response = client.post("/settings/pipelines/", _stage_form(stage("negotiation"), probability=""), follow=True)
    assert "Give the stage&#x27;s probability (0–100)." in response.content.decode()
    response = client.post("/settings/pipelines/", _stage_form(stage("negotiation"), probability="120"), follow=True)
    assert stage("negotiation").probability == D("65.00")
    assert "Ensure this value is less than or equal to 100." in response.content.decode()


# ---------------------------------------------------------------- default names and languages


def test_saving_an_unchanged_default_stage_from_chinese_keeps_the_english_name(admin_user: Any, stage: Any) -> None:
    client = _login(admin_user)
    with translation.override("zh-hans"):
        shown = stage("lead").display_name
        assert shown == "线索"  # the form shows the translated default
        client.post(
            "/settings/pipelines/", _stage_form(stage("lead"), probability="12"), HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    lead = stage("lead")
    assert (lead.name, lead.probability) == ("Lead", D("12.00"))
    with translation.override("zh-hans"):
        assert lead.display_name == "线索"
    assert "name" not in AuditEntry.objects.filter(object_id=lead.pk, action="update").latest("id").changes

    # a real rename is kept as typed, also in Chinese
    client.post("/settings/pipelines/", _stage_form(lead, name="初步接触"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert stage("lead").name == "初步接触"


def test_saving_an_unchanged_default_pipeline_from_another_language_keeps_its_name(
    admin_user: Any, new_business: Pipeline, monkeypatch: Any
) -> None:
    import kehu.platform.i18n as i18n

    monkeypatch.setattr(i18n, "gettext", lambda text: {"New business": "新业务"}.get(text, text))
    assert new_business.display_name == "新业务"
    config.pipeline_update(ctx_for(admin_user), new_business, {"name": "新业务", "is_default": True, "active": True})
    new_business.refresh_from_db()
    assert new_business.name == "New business"
    config.pipeline_update(ctx_for(admin_user), new_business, {"name": "新客户业务"})
    new_business.refresh_from_db()
    assert new_business.name == "新客户业务"


# ---------------------------------------------------------------- quotas


def test_manager_saves_the_quota_grid(chief: Any, rep: Any, other_rep: Any) -> None:
    Quota.objects.create(user=rep, period_start=datetime.date(2026, 3, 1), amount=D("1"), currency="CNY")
    client = _login(chief)
    page = client.get("/opportunities/quotas/?year=2026")
    assert page.status_code == 200
    assert f'name="q-{rep.pk}-1"' in page.content.decode()

    response = client.post(
        "/opportunities/quotas/",
        {"year": "2026", f"q-{rep.pk}-1": "50,000", f"q-{other_rep.pk}-2": "12000.5", f"q-{rep.pk}-3": ""},
    )

    assert response.status_code == 302
    stored = {(q.user_id, q.period_start.month): q.amount for q in Quota.objects.all()}
    assert stored == {(rep.pk, 1): D("50000.00"), (other_rep.pk, 2): D("12000.50")}  # March cleared


def test_a_bad_quota_cell_is_named_and_nothing_is_saved(chief: Any, rep: Any) -> None:
    response = _login(chief).post(
        "/opportunities/quotas/", {"year": "2026", f"q-{rep.pk}-1": "lots", f"q-{rep.pk}-2": "100"}
    )
    assert response.status_code == 422
    assert "Enter a number." in response.content.decode()
    assert not Quota.objects.exists()


def test_sales_reps_may_not_see_or_set_quotas(rep: Any) -> None:
    client = _login(rep)
    assert client.get("/opportunities/quotas/").status_code == 403
    assert client.post("/opportunities/quotas/", {"year": "2026", f"q-{rep.pk}-1": "1"}).status_code == 403
    assert not Quota.objects.exists()


def _put(api: Any, data: Any) -> Any:
    return api.client.put(
        "/api/v1/quotas/", json.dumps(data), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}"
    )


def test_quotas_api_is_for_managers(chief: Any, rep: Any, reader: Any, api_as: Any) -> None:
    item = {"user": rep.pk, "month": "2026-05", "amount": "30000"}
    for user in (rep, reader):
        api = api_as(user)
        assert api.get("/quotas/").status_code == 403
        assert _put(api, {"items": [item]}).status_code == 403
    assert _put(api_as(chief, "read"), {"items": [item]}).status_code == 403
    assert not Quota.objects.exists()

    api = api_as(chief)
    response = _put(api, {"items": [item, {"user": rep.pk, "month": "2026-06", "amount": "1.005", "currency": "USD"}]})
    assert response.status_code == 200, response.content
    assert response.json() == {"changed": 2}
    listed = api.get("/quotas/", {"year": 2026}).json()
    assert listed["items"] == [
        {"user": rep.pk, "month": "2026-05", "amount": "30000.00", "currency": "CNY"},
        {"user": rep.pk, "month": "2026-06", "amount": "1.01", "currency": "USD"},
    ]
    assert _put(api, {"items": [{"user": rep.pk, "month": "2026-05", "amount": None}]}).json() == {"changed": 1}
    assert Quota.objects.count() == 1


def test_quotas_api_refuses_bad_items_with_named_fields(chief: Any, rep: Any, make_user: Any, api_as: Any) -> None:
    stranger = make_user("far", "sales", "Far away")
    response = _put(
        api_as(chief),
        {
            "items": [
                {"user": stranger.pk, "month": "2026-05", "amount": "1"},
                {"user": rep.pk, "month": "2026-05", "amount": "-1"},
                {"user": rep.pk, "month": "2026-05", "amount": "1", "currency": "XXX"},
            ]
        },
    )
    assert response.status_code == 422
    assert {error["field"]: error["message"] for error in response.json()["errors"]} == {
        "0.user": "Select a user you manage.",
        "1.amount": "Enter an amount of 0 or more.",
        "2.currency": "XXX is not an active currency.",
    }
    assert not Quota.objects.exists()


# ---------------------------------------------------------------- navigation


def test_the_board_forecast_quotas_and_settings_are_linked(chief: Any, rep: Any, admin_user: Any) -> None:
    listing = _login(rep).get("/opportunities/").content.decode()
    assert 'href="/opportunities/board/"' in listing
    assert 'href="/opportunities/forecast/"' in listing
    assert 'href="/settings/pipelines/"' not in listing
    assert 'href="/opportunities/quotas/' not in _login(rep).get("/opportunities/forecast/").content.decode()
    assert 'href="/opportunities/quotas/' in _login(chief).get("/opportunities/forecast/").content.decode()
    assert 'href="/settings/pipelines/"' in _login(admin_user).get("/opportunities/").content.decode()
