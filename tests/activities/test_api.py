"""/api/v1/interactions/ and /api/v1/tasks/ from the spine (many-to-many fields, filters) and
the activities endpoints: log with follow-up, complete, reopen; problem+json errors."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from kehu.activities.models import Interaction, Task, TaskStatus
from tests.api.support import assert_problem, error_fields

pytestmark = pytest.mark.django_db

SOON = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)


def test_create_interaction_with_contacts_and_participants(rep: Any, api_as: Any, customer: Any, contact: Any) -> None:
    api = api_as(rep)
    response = api.post(
        "/interactions/",
        {
            "customer": customer.pk,
            "kind": "visit",
            "subject": "Site visit",
            "contacts": [contact.pk],
            "participants": [rep.pk],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contacts"] == [contact.pk]
    assert body["participants"] == [rep.pk]
    assert body["number"].startswith("I-")
    assert body["owner"] == rep.pk
    listed = api.get("/interactions/", {"customer": customer.pk}).json()
    assert listed["count"] == 1
    assert listed["items"][0]["contacts"] == [contact.pk]


def test_patch_interaction_contacts_replaces_them(
    rep: Any, api_as: Any, customer: Any, contact: Any, make_contact: Any, log: Any
) -> None:
    other = make_contact(rep, customer, name="Chen Jie")
    interaction = log(rep, customer, contacts=[contact])
    response = api_as(rep).patch(f"/interactions/{interaction.pk}/", {"contacts": [other.pk], "version": 1})
    assert response.status_code == 200, response.content
    assert response.json()["contacts"] == [other.pk]
    assert response.json()["version"] == 2


def test_interaction_with_another_customers_contact_is_422(
    rep: Any, api_as: Any, customer: Any, make_customer: Any, make_contact: Any
) -> None:
    stranger = make_contact(rep, make_customer(rep, name="Beta"))
    response = api_as(rep).post(
        "/interactions/", {"customer": customer.pk, "subject": "Call", "contacts": [stranger.pk]}
    )
    assert error_fields(assert_problem(response, 422)) == {"contacts"}


def test_rep_logging_on_another_teams_customer_is_422_and_cannot_see_its_interactions(
    rep: Any, other_rep: Any, api_as: Any, foreign_customer: Any, log: Any
) -> None:
    response = api_as(rep).post("/interactions/", {"customer": foreign_customer.pk, "subject": "Sneaky"})
    assert "customer" in error_fields(assert_problem(response, 422))
    theirs = log(other_rep, foreign_customer)
    assert_problem(api_as(rep).get(f"/interactions/{theirs.pk}/"), 404)
    assert api_as(rep).get("/interactions/").json()["count"] == 0


def test_log_endpoint_creates_interaction_and_follow_up(rep: Any, api_as: Any, customer: Any, contact: Any) -> None:
    response = api_as(rep).post(
        "/interactions/log/",
        {
            "interaction": {"customer": customer.pk, "kind": "call", "subject": "Pricing", "contacts": [contact.pk]},
            "follow_up": {"title": "Send price list", "due_at": SOON.isoformat(), "priority": "urgent"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["interaction"]["subject"] == "Pricing"
    task = body["follow_up"]
    assert task["interaction"] == body["interaction"]["id"]
    assert task["customer"] == customer.pk
    assert task["contact"] == contact.pk
    assert task["priority"] == "urgent"
    assert task["status"] == "open"
    assert task["completed_at"] is None


def test_log_endpoint_without_follow_up(rep: Any, api_as: Any, customer: Any) -> None:
    response = api_as(rep).post(
        "/interactions/log/", {"interaction": {"customer": customer.pk, "subject": "Note"}, "follow_up": None}
    )
    assert response.status_code == 201
    assert response.json()["follow_up"] is None


def test_log_endpoint_bad_follow_up_is_422_and_writes_nothing(rep: Any, api_as: Any, customer: Any) -> None:
    response = api_as(rep).post(
        "/interactions/log/",
        {
            "interaction": {"customer": customer.pk, "subject": "Pricing"},
            "follow_up": {
                "title": "Later",
                "due_at": SOON.isoformat(),
                "remind_at": (SOON + datetime.timedelta(hours=1)).isoformat(),
            },
        },
    )
    assert error_fields(assert_problem(response, 422)) == {"follow_up.remind_at"}
    assert not Interaction.all_objects.exists()
    assert not Task.all_objects.exists()


def test_log_endpoint_missing_due_is_422(rep: Any, api_as: Any, customer: Any) -> None:
    response = api_as(rep).post(
        "/interactions/log/",
        {"interaction": {"customer": customer.pk, "subject": "Pricing"}, "follow_up": {"title": "Later"}},
    )
    assert "follow_up.due_at" in error_fields(assert_problem(response, 422))


def test_log_endpoint_is_idempotent(rep: Any, api_as: Any, customer: Any) -> None:
    api = api_as(rep)
    body = {
        "interaction": {"customer": customer.pk, "subject": "Once"},
        "follow_up": {"title": "T", "due_at": SOON.isoformat()},
    }
    first = api.post("/interactions/log/", body, **{"Idempotency-Key": "abc"})
    again = api.post("/interactions/log/", body, **{"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Interaction.objects.count() == 1
    assert Task.objects.count() == 1


def test_read_only_token_cannot_log(rep: Any, api_as: Any, customer: Any) -> None:
    response = api_as(rep, "read").post(
        "/interactions/log/", {"interaction": {"customer": customer.pk, "subject": "x"}}
    )
    assert_problem(response, 403)


def test_task_filters_status_owner_due_before(rep: Any, api_as: Any, make_task: Any) -> None:
    now = timezone.now()
    make_task(rep, title="Soon", due_at=now + datetime.timedelta(hours=1))
    make_task(rep, title="Later", due_at=now + datetime.timedelta(days=5))
    done = make_task(rep, title="Done", due_at=now)
    api = api_as(rep)
    api.post(f"/tasks/{done.pk}/complete/", {})
    params = {"status": "open", "owner": rep.pk, "due_before": (now + datetime.timedelta(days=1)).isoformat()}
    listed = api.get("/tasks/", params).json()
    assert [item["title"] for item in listed["items"]] == ["Soon"]
    assert_problem(api.get("/tasks/", {"due_before": "tomorrow-ish"}), 422)


def test_complete_endpoint_completes_and_recurs(rep: Any, api_as: Any, customer: Any, make_task: Any) -> None:
    task = make_task(rep, customer=customer, repeat_every_days=30, due_at=SOON)
    response = api_as(rep).post(f"/tasks/{task.pk}/complete/?version={task.version}", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"
    assert response.json()["completed_at"]
    following = Task.objects.get(status=TaskStatus.OPEN)
    assert following.due_at == SOON + datetime.timedelta(days=30)


def test_complete_endpoint_stale_version_is_409(rep: Any, api_as: Any, make_task: Any) -> None:
    task = make_task(rep)
    body = assert_problem(api_as(rep).post(f"/tasks/{task.pk}/complete/?version=7", {}), 409)
    assert body["current_version"] == 1


def test_complete_endpoint_hides_other_teams_tasks(rep: Any, other_rep: Any, api_as: Any, make_task: Any) -> None:
    task = make_task(other_rep)
    assert_problem(api_as(rep).post(f"/tasks/{task.pk}/complete/", {}), 404)


def test_patch_status_done_behaves_like_complete(rep: Any, api_as: Any, make_task: Any) -> None:
    task = make_task(rep, repeat_every_days=7)
    response = api_as(rep).patch(f"/tasks/{task.pk}/", {"status": "done"})
    assert response.status_code == 200
    assert response.json()["completed_at"]
    assert Task.objects.filter(status=TaskStatus.OPEN).count() == 1
    reopened = api_as(rep).post(f"/tasks/{task.pk}/reopen/", {})
    assert reopened.json()["status"] == "open"
    assert reopened.json()["completed_at"] is None


def test_completed_at_cannot_be_written(rep: Any, api_as: Any, make_task: Any) -> None:
    task = make_task(rep)
    response = api_as(rep).patch(f"/tasks/{task.pk}/", {"completed_at": SOON.isoformat()})
    # not part of the schema: ignored by the shape, never stored
    assert response.status_code in (200, 422)
    assert Task.objects.get(pk=task.pk).completed_at is None


def test_task_create_via_api_checks_reminder(rep: Any, api_as: Any) -> None:
    response = api_as(rep).post(
        "/tasks/",
        {"title": "X", "due_at": SOON.isoformat(), "remind_at": (SOON + datetime.timedelta(days=1)).isoformat()},
    )
    assert error_fields(assert_problem(response, 422)) == {"remind_at"}
    assert_problem(api_as(rep).post("/tasks/", {"title": "No due"}), 422)
