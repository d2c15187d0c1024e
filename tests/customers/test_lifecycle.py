"""The customer lifecycle: stage changes only through the service, with the rules the stages
configure, a reason for churn, optimistic locking, access checks, audit, events, history and
the timeline; the API endpoints and the htmx box on the customer page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kehu.customers import lifecycle
from kehu.customers.models import Customer, LifecycleStage, LifecycleTransition
from kehu.platform import events
from kehu.platform.context import Context, Source
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.models import AuditEntry, TimelineEntry
from tests.api.support import assert_problem, error_fields

pytestmark = pytest.mark.django_db


def ctx(user: Any, source: str = Source.WEB) -> Context:
    return Context(user=user, source=source)


@pytest.fixture
def caught() -> Any:
    """The events published (after commit) while the test runs."""
    seen: list[events.Event] = []

    def handler(event: events.Event) -> None:
        seen.append(event)

    events.subscribe("*")(handler)
    yield seen
    events.unsubscribe("*", handler)


def test_default_stages_are_seeded_in_order_with_their_flags() -> None:
    stages = list(LifecycleStage.objects.order_by("order"))

    assert [s.key for s in stages] == ["lead", "prospect", "active", "at_risk", "churned"]
    assert [s.name for s in stages] == ["Lead", "Prospect", "Active customer", "At risk", "Churned"]
    assert [s.key for s in stages if s.is_lead] == ["lead", "prospect"]
    assert [s.key for s in stages if s.is_won] == ["active"]
    assert [s.key for s in stages if s.is_lost] == ["churned"]


def test_a_new_customer_starts_at_lead_with_a_first_transition(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)

    assert customer.stage_id == "lead"
    [first] = LifecycleTransition.objects.filter(customer=customer)
    assert (first.from_stage_id, first.to_stage_id, first.actor, first.source) == (None, "lead", rep, "cli")


def test_a_new_customer_may_start_at_another_active_stage(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, stage="active")

    assert customer.stage_id == "active"
    assert LifecycleTransition.objects.get(customer=customer).to_stage_id == "active"


def test_a_new_customer_cannot_start_at_an_inactive_stage(rep: Any, make_customer: Any) -> None:
    LifecycleStage.objects.filter(key="at_risk").update(is_active=False)

    with pytest.raises(ValidationError) as error:
        make_customer(rep, stage="at_risk")

    assert "no longer used" in error.value.message_dict["stage"][0]


def test_the_first_active_stage_is_the_default_when_lead_is_deactivated(rep: Any, make_customer: Any) -> None:
    LifecycleStage.objects.filter(key="lead").update(is_active=False)

    assert make_customer(rep).stage_id == "prospect"


def test_the_stage_cannot_be_changed_by_an_ordinary_update(rep: Any, make_customer: Any) -> None:
    from kehu.customers.services import customer_update

    customer = make_customer(rep)

    with pytest.raises(ValidationError) as error:
        customer_update(ctx=ctx(rep), customer=customer, data={"stage": "active"})

    assert list(error.value.message_dict) == ["stage"]
    assert Customer.objects.get(pk=customer.pk).stage_id == "lead"


def test_change_stage_writes_history_audit_timeline_and_events(
    rep: Any, make_customer: Any, caught: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_customer(rep)
    version = customer.version

    with django_capture_on_commit_callbacks(execute=True):
        moved = lifecycle.change_stage(ctx(rep), customer, "prospect", "Asked for a quote")

    assert moved.stage_id == "prospect"
    assert moved.version == version + 1
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.stage_id, stored.version, stored.updated_by) == ("prospect", version + 1, rep)
    last = lifecycle.history(stored).first()
    assert last is not None
    assert (last.from_stage_id, last.to_stage_id, last.actor, last.reason, last.source) == (
        "lead",
        "prospect",
        rep,
        "Asked for a quote",
        "web",
    )
    entry = AuditEntry.objects.filter(object_id=customer.pk, action="update").latest("id")
    assert entry.changes == {"stage": [{"id": "lead", "repr": "Lead"}, {"id": "prospect", "repr": "Prospect"}]}
    assert entry.extra == {"reason": "Asked for a quote"}
    fact = TimelineEntry.objects.get(subject_type="customer", subject_id=customer.pk, kind="lifecycle")
    assert (fact.title, fact.summary, fact.actor) == ("Lead → Prospect", "Asked for a quote", rep)
    mine = [e for e in caught if e.record_id == customer.pk and e.type != "record.created"]
    assert [e.type for e in mine] == ["record.updated", "customer.stage_changed"]
    assert mine[0].data["changed"] == ["stage"]
    assert mine[1].data | {"number": None} == {
        "number": None,
        "from_stage": "lead",
        "to_stage": "prospect",
        "reason": "Asked for a quote",
    }


def test_a_transition_the_stage_does_not_allow_is_refused_with_a_clear_message(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, stage="at_risk")

    with pytest.raises(ValidationError) as error:
        lifecycle.change_stage(ctx(rep), customer, "lead")

    assert error.value.message_dict == {"stage": ["Customers cannot move from At risk to Lead."]}
    assert Customer.objects.get(pk=customer.pk).stage_id == "at_risk"
    assert LifecycleTransition.objects.filter(customer=customer).count() == 1


def test_a_stage_without_allowed_next_stages_allows_any_move(rep: Any, make_customer: Any) -> None:
    LifecycleStage.objects.get(key="at_risk").allowed_next.clear()
    customer = make_customer(rep, stage="at_risk")

    assert lifecycle.change_stage(ctx(rep), customer, "lead").stage_id == "lead"


def test_moving_to_a_lost_stage_needs_a_reason(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, stage="active")

    with pytest.raises(ValidationError) as error:
        lifecycle.change_stage(ctx(rep), customer, "churned", "   ")
    moved = lifecycle.change_stage(ctx(rep), customer, "churned", "Went with a competitor")

    assert error.value.message_dict == {"reason": ["Give a reason for moving the customer to Churned."]}
    assert moved.stage_id == "churned"


def test_the_current_stage_and_inactive_or_unknown_stages_are_refused(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    LifecycleStage.objects.filter(key="prospect").update(is_active=False)

    for stage, message in [("lead", "already at"), ("prospect", "no longer used"), ("nope", "valid lifecycle")]:
        with pytest.raises(ValidationError) as error:
            lifecycle.change_stage(ctx(rep), customer, stage)
        assert message in error.value.message_dict["stage"][0]


def test_a_stale_version_changes_nothing(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    lifecycle.change_stage(ctx(rep), Customer.objects.get(pk=customer.pk), "prospect")

    with pytest.raises(StaleVersion) as stale:
        lifecycle.change_stage(ctx(rep), customer, "active")  # still holds version 1

    assert stale.value.current_version == 2
    assert Customer.objects.get(pk=customer.pk).stage_id == "prospect"
    with pytest.raises(StaleVersion):
        lifecycle.change_stage(ctx(rep), Customer.objects.get(pk=customer.pk), "active", version=1)


def test_a_rep_cannot_change_the_stage_of_another_teams_customer(rep: Any, other_rep: Any, make_customer: Any) -> None:
    theirs = make_customer(other_rep, name="Theirs")

    with pytest.raises(NotVisible):
        lifecycle.change_stage(ctx(rep), theirs, "prospect")

    assert Customer.objects.get(pk=theirs.pk).stage_id == "lead"


def test_a_user_without_change_permission_is_refused(reader: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)

    with pytest.raises(PermissionDenied):
        lifecycle.change_stage(ctx(reader), customer, "prospect")


def test_the_history_is_append_only(rep: Any, make_customer: Any) -> None:
    first = LifecycleTransition.objects.get(customer=make_customer(rep))

    with pytest.raises(RuntimeError):
        first.save()
    with pytest.raises(RuntimeError):
        first.delete()
    with pytest.raises(RuntimeError):
        LifecycleTransition.objects.all().update(reason="x")
    with pytest.raises(RuntimeError):
        LifecycleTransition.objects.all().delete()


def test_promote_on_first_win_moves_a_lead_or_prospect_to_the_won_stage(
    rep: Any, other_rep: Any, make_customer: Any
) -> None:
    lead, prospect = make_customer(rep, name="L"), make_customer(rep, name="P", stage="prospect")
    at_risk = make_customer(rep, name="R", stage="at_risk")

    assert lifecycle.promote_on_first_win(ctx(rep), lead, "Order SO-1") is not None
    assert lifecycle.promote_on_first_win(ctx(other_rep), prospect) is not None  # a system hook: no access check
    assert lifecycle.promote_on_first_win(ctx(rep), at_risk) is None

    assert lead.stage_id == "active"
    assert Customer.objects.get(pk=prospect.pk).stage_id == "active"
    assert Customer.objects.get(pk=at_risk.pk).stage_id == "at_risk"
    last = lifecycle.history(lead).first()
    assert last is not None
    assert (last.from_stage_id, last.reason, last.source) == ("lead", "Order SO-1", "automation")


def test_promote_on_first_win_respects_the_configured_transitions(rep: Any, make_customer: Any) -> None:
    lead_stage = LifecycleStage.objects.get(key="lead")
    lead_stage.allowed_next.set([LifecycleStage.objects.get(key="prospect")])
    customer = make_customer(rep)

    assert lifecycle.promote_on_first_win(ctx(rep), customer) is None
    assert Customer.objects.get(pk=customer.pk).stage_id == "lead"


# ---------------------------------------------------------------- API


def test_api_lists_the_history_newest_first(api_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    lifecycle.change_stage(ctx(rep), customer, "prospect", "Met at the fair")

    response = api_as(rep, "read").get(f"/customers/{customer.pk}/lifecycle/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stage"], body["version"], body["count"]) == ("prospect", 2, 2)
    assert [(i["from_stage"], i["to_stage"], i["reason"]) for i in body["items"]] == [
        ("lead", "prospect", "Met at the fair"),
        (None, "lead", ""),
    ]
    assert body["items"][0]["actor"] == rep.pk


def test_api_changes_the_stage(api_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)

    response = api_as(rep).post(f"/customers/{customer.pk}/lifecycle/", {"stage": "active", "version": 1})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stage"], body["version"]) == ("active", 2)
    assert body["transition"]["from_stage"] == "lead"
    assert body["transition"]["source"] == "api"
    assert api_as(rep).get(f"/customers/{customer.pk}/").json()["stage"] == "active"


def test_api_refuses_a_disallowed_transition_with_problem_json(api_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, stage="at_risk")

    response = api_as(rep).post(f"/customers/{customer.pk}/lifecycle/", {"stage": "lead"})

    body = assert_problem(response, 422)
    assert body["errors"] == [{"field": "stage", "message": "Customers cannot move from At risk to Lead."}]


def test_api_churn_without_reason_and_stale_version(api_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, stage="active")
    api = api_as(rep)

    no_reason = api.post(f"/customers/{customer.pk}/lifecycle/", {"stage": "churned"})
    stale = api.post(f"/customers/{customer.pk}/lifecycle/", {"stage": "at_risk", "version": 7})

    assert error_fields(assert_problem(no_reason, 422)) == {"reason"}
    assert assert_problem(stale, 409)["current_version"] == 1


def test_api_hides_other_teams_customers_and_needs_write_scope(
    api_as: Any, rep: Any, other_rep: Any, make_customer: Any
) -> None:
    theirs = make_customer(other_rep)
    mine = make_customer(rep)

    assert_problem(api_as(rep).get(f"/customers/{theirs.pk}/lifecycle/"), 404)
    assert_problem(api_as(rep).post(f"/customers/{theirs.pk}/lifecycle/", {"stage": "prospect"}), 404)
    assert_problem(api_as(rep, "read").post(f"/customers/{mine.pk}/lifecycle/", {"stage": "prospect"}), 403)
    assert Customer.objects.get(pk=theirs.pk).stage_id == "lead"


def test_api_customer_create_takes_an_initial_stage_but_patch_does_not(api_as: Any, rep: Any) -> None:
    api = api_as(rep)

    created = api.post("/customers/", {"name": "Acme", "stage": "prospect"})
    patched = api.patch(f"/customers/{created.json()['id']}/", {"stage": "active"})

    assert created.status_code == 201, created.content
    assert created.json()["stage"] == "prospect"
    assert Customer.objects.get(pk=created.json()["id"]).stage_id == "prospect"
    assert error_fields(assert_problem(patched, 422)) == {"stage"}
    assert Customer.objects.get(pk=created.json()["id"]).stage_id == "prospect"


# ---------------------------------------------------------------- the lifecycle box (htmx)


def test_the_box_shows_steps_next_stages_and_history(web_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    lifecycle.change_stage(ctx(rep), customer, "prospect", "Asked for a quote")

    response = web_as(rep).get(f"/customers/{customer.pk}/stage/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-stage="prospect"' in html
    assert 'aria-current="step"' in html
    assert "Asked for a quote" in html
    assert 'value="active"' in html  # prospect may go on to active …
    assert 'value="lead"' in html  # … or back to lead
    assert 'data-testid="lost-form"' in html


def test_the_box_changes_the_stage_and_shows_errors_inline(web_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    client = web_as(rep)
    url = f"/customers/{customer.pk}/stage/"

    refused = client.post(url, {"stage": "churned", "reason": "", "version": 1}, HTTP_HX_REQUEST="true")
    moved = client.post(url, {"stage": "prospect", "reason": "Call went well", "version": 1}, HTTP_HX_REQUEST="true")

    assert refused.status_code == 200  # htmx swaps only 2xx answers
    assert "Give a reason for moving the customer to Churned." in refused.content.decode()
    assert moved.status_code == 200
    assert 'data-testid="lifecycle-changed"' in moved.content.decode()
    assert "kehu:lifecycle-changed" in moved["HX-Trigger"]
    assert Customer.objects.get(pk=customer.pk).stage_id == "prospect"


def test_the_box_without_htmx_redirects_or_answers_422(web_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, stage="at_risk")
    client = web_as(rep)
    url = f"/customers/{customer.pk}/stage/"

    refused = client.post(url, {"stage": "lead", "version": 1})
    moved = client.post(url, {"stage": "active", "version": 1})

    assert refused.status_code == 422
    assert "Customers cannot move from At risk to Lead." in refused.content.decode()
    assert moved.status_code == 302
    assert moved["Location"] == f"/customers/{customer.pk}/"


def test_the_box_of_another_teams_customer_is_404_and_readers_cannot_post(
    web_as: Any, rep: Any, other_rep: Any, reader: Any, make_customer: Any
) -> None:
    theirs = make_customer(other_rep)

    assert web_as(rep).get(f"/customers/{theirs.pk}/stage/").status_code == 404
    assert web_as(rep).post(f"/customers/{theirs.pk}/stage/", {"stage": "prospect"}).status_code == 404
    box = web_as(reader).get(f"/customers/{theirs.pk}/stage/")
    assert box.status_code == 200
    assert 'data-testid="stage-form"' not in box.content.decode()
    assert web_as(reader).post(f"/customers/{theirs.pk}/stage/", {"stage": "prospect"}).status_code == 403
