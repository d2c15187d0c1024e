"""The iCalendar feed: a secret, derived address per user; the user's open tasks with the
right times and time zone; reset makes the old address 404."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

import pytest
from django.test import Client
from icalendar import Calendar

from kehu.activities.models import TaskStatus
from kehu.automation import services
from kehu.automation.models import CalendarFeed
from kehu.platform.context import Context
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC


def _feed_path(user: Any) -> str:
    return f"/calendar/{services.calendar_feed_token(services.calendar_feed_for(user))}.ics"


def _events(response: Any) -> dict[str, Any]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(event["summary"]): event for event in calendar.walk("VEVENT")}


def test_feed_holds_exactly_the_users_open_tasks_with_times_in_the_right_zone(
    rep: Any, other_rep: Any, make_task: Any, settings: Any
) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    due = datetime.datetime(2026, 3, 1, 9, 30, tzinfo=SHANGHAI)
    now = datetime.datetime(2026, 2, 20, 8, 0, tzinfo=UTC)
    task = make_task(rep, title="Quarterly visit", due_at=due, remind_at=due - datetime.timedelta(minutes=15))
    make_task(rep, title="Finished", due_at=due, status=TaskStatus.DONE)
    make_task(rep, title="Dropped", due_at=due, status=TaskStatus.CANCELLED)
    make_task(rep, title="Long ago", due_at=due - datetime.timedelta(days=60))
    make_task(rep, title="Far ahead", due_at=due + datetime.timedelta(days=400))
    make_task(other_rep, title="Someone else's", due_at=due)

    from unittest import mock

    with mock.patch("kehu.automation.calendar.timezone.now", return_value=now):
        events = _events(Client().get(_feed_path(rep)))

    assert set(events) == {"Quarterly visit"}
    event = events["Quarterly visit"]
    start = event.decoded("dtstart")
    assert start.astimezone(UTC) == datetime.datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert event["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("duration") == datetime.timedelta(minutes=30)
    assert str(event["uid"]) == f"task-{task.pk}@testserver"
    assert str(event["url"]) == f"http://testserver/tasks/{task.pk}/"
    assert task.number in str(event["description"])
    [alarm] = event.walk("VALARM")
    assert start + alarm.decoded("trigger") == due - datetime.timedelta(minutes=15)
    calendar = Calendar.from_ical(Client().get(_feed_path(rep)).content)
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]


def test_feed_shows_the_customer_and_the_description(rep: Any, make_task: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme Trading")
    make_task(rep, title="Demo", customer=customer, description="Bring the new catalogue")
    description = str(_events(Client().get(_feed_path(rep)))["Demo"]["description"])
    assert "Acme Trading" in description
    assert "Bring the new catalogue" in description


def test_the_address_is_derived_not_stored_and_stable(rep: Any) -> None:
    feed = services.calendar_feed_for(rep)
    token = services.calendar_feed_token(feed)
    assert token.startswith(f"{rep.pk}.")
    assert token.split(".", 1)[1] not in feed.salt
    assert services.calendar_feed_token(services.calendar_feed_for(rep)) == token
    assert CalendarFeed.objects.filter(user=rep).count() == 1


def test_resetting_the_address_makes_the_old_one_404(rep: Any, make_task: Any) -> None:
    make_task(rep, title="Call")
    old = _feed_path(rep)
    assert Client().get(old).status_code == 200
    services.calendar_feed_reset(Context(user=rep))
    new = _feed_path(rep)
    assert new != old
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    assert Client().head(new).status_code == 200


@pytest.mark.parametrize(
    "token", ["", "abc", "1", "1.", ".abc", "99999.abc", "-1.abc", "1.abc/../x", "12345678901234567890.x"]
)
def test_unknown_or_malformed_addresses_are_404(rep: Any, token: str) -> None:
    services.calendar_feed_for(rep)
    assert Client().get(f"/calendar/{token}.ics").status_code == 404


def test_another_users_mac_does_not_open_a_feed(rep: Any, other_rep: Any) -> None:
    mine = services.calendar_feed_token(services.calendar_feed_for(rep))
    services.calendar_feed_for(other_rep)
    forged = f"{other_rep.pk}.{mine.split('.', 1)[1]}"
    assert Client().get(f"/calendar/{forged}.ics").status_code == 404


def test_an_inactive_users_feed_is_404(rep: Any) -> None:
    path = _feed_path(rep)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert Client().get(path).status_code == 404


def test_the_calendar_page_shows_the_address_and_resets_it_with_a_csrf_protected_post(rep: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    page = client.get("/calendar/")
    assert page.status_code == 200
    old = _feed_path(rep)
    assert f"http://testserver{old}" in page.content.decode()
    assert client.get("/calendar/reset/").status_code == 405
    assert client.post("/calendar/reset/").status_code == 403
    response = client.post("/calendar/reset/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302
    assert _feed_path(rep) != old
    assert Client().get(old).status_code == 404
    entry = AuditEntry.objects.get(extra__calendar_feed="reset")
    assert (entry.actor, entry.object_id, entry.source) == (rep, rep.pk, "web")


def test_the_calendar_page_needs_login(client: Any) -> None:
    response = client.get("/calendar/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_user_who_may_not_see_tasks_gets_an_empty_feed(rep: Any, make_task: Any, monkeypatch: Any) -> None:
    make_task(rep, title="Call")
    path = _feed_path(rep)
    assert set(_events(Client().get(path))) == {"Call"}
    monkeypatch.setattr("kehu.automation.calendar.can", lambda user, rt, action: False)
    assert _events(Client().get(path)) == {}
