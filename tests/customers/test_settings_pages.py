"""The settings pages for lifecycle stages and grades: admins only; add, rename, reorder,
deactivate, allowed next stages; grades with rule thresholds, deleted only when unused."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.customers import lifecycle
from kehu.customers.models import Grade, LifecycleStage
from kehu.platform.context import Context
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_user(make_user: Any, east: Any) -> Any:
    return make_user("chief", "manager", "Head office")


@pytest.mark.parametrize("url", ["/settings/lifecycle/", "/settings/grades/"])
def test_only_admins_may_open_the_settings(web_as: Any, rep: Any, manager_user: Any, admin_user: Any, url: str) -> None:
    assert web_as(rep).get(url).status_code == 403
    assert web_as(manager_user).get(url).status_code == 403
    assert web_as(rep).post(url, {"key": "x", "name": "X"}).status_code == 403
    assert web_as(admin_user).get(url).status_code == 200


def test_admin_adds_a_stage_at_the_end_audited(web_as: Any, admin_user: Any) -> None:
    response = web_as(admin_user).post(
        "/settings/lifecycle/", {"key": "qualified", "name": "Qualified", "is_active": "on"}
    )

    assert response.status_code == 302
    stage = LifecycleStage.objects.get(key="qualified")
    assert stage.order > LifecycleStage.objects.get(key="churned").order
    assert AuditEntry.objects.filter(object_id=stage.pk, action="create").exists()


def test_duplicate_keys_and_several_flags_are_refused(web_as: Any, admin_user: Any) -> None:
    client = web_as(admin_user)

    duplicate = client.post("/settings/lifecycle/", {"key": "lead", "name": "Again", "is_active": "on"})
    flags = client.post(
        "/settings/lifecycle/", {"key": "odd", "name": "Odd", "is_active": "on", "is_won": "on", "is_lost": "on"}
    )

    assert duplicate.status_code == 422
    assert "already exists" in duplicate.content.decode()
    assert flags.status_code == 422
    assert "not several of them" in flags.content.decode()


def test_admin_renames_deactivates_and_sets_allowed_next_stages(
    web_as: Any, admin_user: Any, rep: Any, make_customer: Any
) -> None:
    prospect = LifecycleStage.objects.get(key="prospect")
    active = LifecycleStage.objects.get(key="active")
    client = web_as(admin_user)

    response = client.post(
        f"/settings/lifecycle/{prospect.pk}/",
        {"key": "ignored", "name": "Qualified lead", "is_active": "on", "is_lead": "on", "allowed_next": [active.pk]},
    )

    assert response.status_code == 302, response.content.decode()
    prospect.refresh_from_db()
    assert (prospect.key, prospect.name, str(prospect)) == ("prospect", "Qualified lead", "Qualified lead")
    assert list(prospect.allowed_next.all()) == [active]
    customer = make_customer(rep, stage="prospect")
    with pytest.raises(Exception, match="cannot move"):
        lifecycle.change_stage(Context(user=rep), customer, "lead")

    client.post(f"/settings/lifecycle/{prospect.pk}/", {"name": "Qualified lead", "is_lead": "on"})
    prospect.refresh_from_db()
    assert not prospect.is_active


def test_the_last_active_stage_cannot_be_deactivated(admin_user: Any) -> None:
    from django.core.exceptions import ValidationError

    from kehu.customers import configuration

    ctx = Context(user=admin_user)
    for stage in LifecycleStage.objects.exclude(key="lead"):
        configuration.stage_update(ctx, stage, {"is_active": False})

    with pytest.raises(ValidationError) as error:
        configuration.stage_update(ctx, LifecycleStage.objects.get(key="lead"), {"is_active": False})

    assert error.value.message_dict == {"is_active": ["At least one stage must stay active."]}


def test_admin_reorders_stages(web_as: Any, admin_user: Any) -> None:
    churned = LifecycleStage.objects.get(key="churned")

    web_as(admin_user).post(f"/settings/lifecycle/{churned.pk}/move/", {"direction": "up"})

    assert [s.key for s in LifecycleStage.objects.order_by("order")] == [
        "lead",
        "prospect",
        "active",
        "churned",
        "at_risk",
    ]


def test_admin_adds_and_edits_a_grade_with_rule_thresholds(web_as: Any, admin_user: Any) -> None:
    client = web_as(admin_user)

    created = client.post("/settings/grades/", {"key": "S", "name": "S", "description": "Strategic"})
    grade = Grade.objects.get(key="S")
    edited = client.post(
        f"/settings/grades/{grade.pk}/",
        {"name": "S", "description": "Strategic", "min_amount": "1000000", "min_orders": "12"},
    )
    page = client.get("/settings/grades/")

    assert created.status_code == 302
    assert edited.status_code == 302
    grade.refresh_from_db()
    assert (str(grade.min_amount), grade.min_orders, grade.max_days_since_last) == ("1000000.00", 12, None)
    assert "at least 12 orders" in page.content.decode()


def test_a_grade_in_use_cannot_be_deleted(web_as: Any, admin_user: Any, rep: Any, make_customer: Any) -> None:
    used, unused = Grade.objects.get(key="A"), Grade.objects.get(key="D")
    make_customer(rep, grade="A")
    client = web_as(admin_user)

    client.post(f"/settings/grades/{used.pk}/delete/")
    client.post(f"/settings/grades/{unused.pk}/delete/")

    assert list(Grade.objects.values_list("key", flat=True).order_by("order")) == ["A", "B", "C"]


def test_default_names_are_translated_renamed_ones_are_not() -> None:
    from django.utils import translation

    lead = LifecycleStage.objects.get(key="lead")
    with translation.override("zh-hans"):
        translated, expected = str(lead), translation.gettext("Lead")
    lead.name = "Suspect"
    with translation.override("zh-hans"):
        renamed = str(lead)

    assert translated == expected  # the catalogue's entry for the default name
    assert renamed == "Suspect"  # an admin's own name, as typed
