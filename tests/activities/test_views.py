"""Quick logging on a customer (htmx and plain), the customer's task list, completing a task,
My day grouped in the user's time zone, and the home page of sales users."""

from __future__ import annotations

import datetime
import json
import zoneinfo
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kehu.activities import selectors
from kehu.activities.models import Interaction, Task, TaskStatus

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(rep: Any) -> Client:
    client = Client()
    client.force_login(rep)
    return client


def quick_log_data(**extra: Any) -> dict[str, Any]:
    data = {"kind": "call", "occurred_at": "2026-03-02T10:30", "subject": "Asked for a quote", "duration_minutes": "12"}
    data.update(extra)
    return data


def test_quick_log_form_renders_as_partial_for_htmx_and_as_page_without(browser: Client, customer: Any) -> None:
    partial = browser.get(f"/customers/{customer.pk}/log/", **HTMX)
    assert partial.status_code == 200
    html = partial.content.decode()
    assert 'data-testid="quick-log"' in html
    assert "<html" not in html
    for kind in ("call", "email", "meeting", "visit", "message", "note"):
        assert f'data-kind="{kind}"' in html
    page = browser.get(f"/customers/{customer.pk}/log/")
    assert page.status_code == 200
    assert "<html" in page.content.decode()


def test_quick_log_lists_the_customers_contacts(browser: Client, customer: Any, contact: Any) -> None:
    html = browser.get(f"/customers/{customer.pk}/log/", **HTMX).content.decode()
    assert "Wang Fang" in html
    assert f'value="{contact.pk}"' in html


def test_htmx_quick_log_with_follow_up_logs_both_and_triggers_refresh(
    browser: Client, customer: Any, contact: Any
) -> None:
    response = browser.post(
        f"/customers/{customer.pk}/log/",
        quick_log_data(
            contacts=[contact.pk],
            next_step="Send the quote",
            follow_up="on",
            task_title="",
            task_due_at="2026-03-05T09:00",
            task_priority="high",
        ),
        **HTMX,
    )
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"kehu:timeline-changed": {}, "kehu:tasks-changed": {}}
    html = response.content.decode()
    assert 'data-testid="quick-log-success"' in html
    assert 'value="Asked for a quote"' not in html  # a blank form again
    interaction = Interaction.objects.get()
    assert interaction.duration_minutes == 12
    assert list(interaction.contacts.all()) == [contact]
    task = Task.objects.get()
    assert task.title == "Send the quote"
    assert task.priority == "high"
    assert task.interaction_id == interaction.pk
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2026-03-05 09:00"


def test_htmx_quick_log_bad_input_is_shown_inline_and_nothing_is_written(browser: Client, customer: Any) -> None:
    response = browser.post(
        f"/customers/{customer.pk}/log/",
        quick_log_data(
            subject="",
            duration_minutes="-3",
            follow_up="on",
            task_title="Call back",
            task_due_at="2026-03-05T09:00",
            task_remind_at="2026-03-06T09:00",
        ),
        **HTMX,
    )
    assert response.status_code == 200  # so that htmx swaps the form with its errors in
    assert "HX-Trigger" not in response
    html = response.content.decode()
    assert "is-invalid" in html
    assert 'value="Call back"' in html
    assert not Interaction.objects.exists()


def test_quick_log_reminder_after_due_names_the_task_field(browser: Client, customer: Any) -> None:
    response = browser.post(
        f"/customers/{customer.pk}/log/",
        quick_log_data(
            follow_up="on", task_title="Call back", task_due_at="2026-03-05T09:00", task_remind_at="2026-03-06T09:00"
        ),
        **HTMX,
    )
    html = response.content.decode()
    assert "The reminder must not be later than the due time." in html
    assert not Interaction.objects.exists()
    assert not Task.objects.exists()


def test_quick_log_follow_up_needs_a_title_or_next_step(browser: Client, customer: Any) -> None:
    response = browser.post(
        f"/customers/{customer.pk}/log/", quick_log_data(follow_up="on", task_due_at="2026-03-05T09:00"), **HTMX
    )
    assert "Give the task a title" in response.content.decode()
    assert not Interaction.objects.exists()


def test_plain_quick_log_redirects_to_the_customer(browser: Client, customer: Any) -> None:
    response = browser.post(f"/customers/{customer.pk}/log/", quick_log_data())
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    assert Interaction.objects.count() == 1
    bad = browser.post(f"/customers/{customer.pk}/log/", quick_log_data(subject=""))
    assert bad.status_code == 422
    assert "<html" in bad.content.decode()


def test_rep_cannot_open_or_post_quick_log_on_another_teams_customer(browser: Client, foreign_customer: Any) -> None:
    assert browser.get(f"/customers/{foreign_customer.pk}/log/", **HTMX).status_code == 404
    assert browser.post(f"/customers/{foreign_customer.pk}/log/", quick_log_data(), **HTMX).status_code == 404
    assert browser.get(f"/customers/{foreign_customer.pk}/tasks/", **HTMX).status_code == 404
    assert not Interaction.objects.exists()


def test_reader_cannot_log(reader: Any, customer: Any) -> None:
    client = Client()
    client.force_login(reader)
    assert client.get(f"/customers/{customer.pk}/log/").status_code == 403


def test_customer_tasks_partial_lists_open_tasks_first(
    browser: Client, rep: Any, customer: Any, make_task: Any
) -> None:
    from kehu.activities import services
    from tests.activities.conftest import ctx_of

    done = make_task(rep, customer=customer, title="Old visit")
    services.task_complete(ctx_of(rep), done)
    make_task(rep, customer=customer, title="Send samples")
    html = browser.get(f"/customers/{customer.pk}/tasks/", **HTMX).content.decode()
    assert html.index("Send samples") < html.index("Old visit")
    assert 'hx-trigger="kehu:tasks-changed from:body"' in html


def test_complete_button_marks_done_rerenders_list_and_triggers_timeline(
    browser: Client, rep: Any, customer: Any, make_task: Any
) -> None:
    task = make_task(rep, customer=customer, title="Send samples")
    response = browser.post(f"/tasks/{task.pk}/complete/", {"version": task.version, "view": "customer"}, **HTMX)
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"kehu:timeline-changed": {}}
    assert 'data-testid="customer-tasks"' in response.content.decode()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE


def test_complete_with_stale_version_shows_the_conflict(
    browser: Client, rep: Any, customer: Any, make_task: Any
) -> None:
    task = make_task(rep, customer=customer)
    response = browser.post(f"/tasks/{task.pk}/complete/", {"version": task.version + 3}, **HTMX)
    assert "changed by someone else" in response.content.decode()
    assert "HX-Trigger" not in response
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_rep_cannot_complete_another_teams_task(browser: Client, other_rep: Any, make_task: Any) -> None:
    task = make_task(other_rep)
    assert browser.post(f"/tasks/{task.pk}/complete/", {}, **HTMX).status_code == 404
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_complete_from_my_day_rerenders_my_day(browser: Client, rep: Any, make_task: Any) -> None:
    task = make_task(rep, title="Ring Mr Li")
    response = browser.post(f"/tasks/{task.pk}/complete/", {"version": task.version, "view": "my_day"}, **HTMX)
    assert 'data-testid="my-day-tasks"' in response.content.decode()
    assert "Ring Mr Li" not in response.content.decode()


def test_plain_complete_redirects_back(browser: Client, rep: Any, make_task: Any) -> None:
    task = make_task(rep)
    response = browser.post(f"/tasks/{task.pk}/complete/", {"version": task.version, "next": "/my-day/"})
    assert response.status_code == 302
    assert response["Location"] == "/my-day/"
    response = browser.post(f"/tasks/{task.pk}/reopen/", {"next": "/my-day/"})
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def _at(tz: Any, *args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=tz)


def test_my_day_groups_by_the_users_time_zone(rep: Any, make_task: Any) -> None:
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    now = _at(shanghai, 2026, 3, 2, 10, 0)  # 02:00 UTC
    titles = {
        "yesterday evening": _at(shanghai, 2026, 3, 1, 23, 30),
        "this morning": _at(shanghai, 2026, 3, 2, 9, 59),
        "later today": _at(shanghai, 2026, 3, 2, 10, 1),
        "just before midnight": _at(shanghai, 2026, 3, 2, 23, 59),
        "tomorrow at midnight": _at(shanghai, 2026, 3, 3, 0, 0),
        "in a week": _at(shanghai, 2026, 3, 9, 23, 59),
        "too far": _at(shanghai, 2026, 3, 10, 0, 0),
    }
    for title, due in titles.items():
        make_task(rep, title=title, due_at=due)
    day = selectors.my_day(rep, now=now, tz=shanghai)
    assert [t.title for t in day.overdue] == ["yesterday evening", "this morning"]
    assert [t.title for t in day.due_today] == ["later today", "just before midnight"]
    assert [t.title for t in day.upcoming] == ["tomorrow at midnight", "in a week"]
    # the same instant is 21:00 on 1 March in New York: its day ends at 05:00 UTC
    new_york = selectors.my_day(rep, now=now, tz=zoneinfo.ZoneInfo("America/New_York"))
    assert [t.title for t in new_york.due_today] == ["later today"]
    assert [t.title for t in new_york.upcoming][:2] == ["just before midnight", "tomorrow at midnight"]


def test_my_day_shows_only_the_users_open_tasks_and_todays_interactions(
    rep: Any, make_user: Any, customer: Any, make_task: Any, log: Any
) -> None:
    from kehu.activities import services
    from tests.activities.conftest import ctx_of

    mate = make_user("mate", "sales", "East sales")
    make_task(rep, title="Mine")
    make_task(mate, title="Theirs")
    services.task_complete(ctx_of(rep), make_task(rep, title="Finished"))
    log(rep, customer, subject="Called today")
    log(rep, customer, subject="Last week", occurred_at=timezone.now() - datetime.timedelta(days=7))
    log(mate, customer, subject="Mate's call")
    day = selectors.my_day(rep)
    assert [t.title for t in day.overdue + day.due_today + day.upcoming] == ["Mine"]
    assert [i.subject for i in day.interactions] == ["Called today"]


def test_my_day_page_and_sales_home(browser: Client, rep: Any, customer: Any, make_task: Any) -> None:
    make_task(rep, title="Overdue call", customer=customer, due_at=timezone.now() - datetime.timedelta(hours=2))
    page = browser.get("/my-day/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="my-day-overdue"' in html
    assert "Overdue call" in html
    assert "Acme Trading" in html
    assert f"/customers/{customer.pk}/log/" in html
    home = browser.get("/")
    assert 'data-testid="my-day-tasks"' in home.content.decode()


def test_other_roles_keep_the_dashboard_with_a_my_day_link(admin_user: Any) -> None:
    client = Client()
    client.force_login(admin_user)
    html = client.get("/").content.decode()
    assert 'data-testid="home-my-day"' in html
    assert 'data-testid="my-day-tasks"' not in html
    assert 'data-testid="nav-my-day"' in html


def test_generic_pages_work_for_interactions_and_tasks(
    browser: Client, rep: Any, customer: Any, contact: Any, make_task: Any, log: Any
) -> None:
    interaction = log(rep, customer, contacts=[contact])
    task = make_task(rep, customer=customer)
    for url in ("/interactions/", "/tasks/", "/tasks/new/", "/interactions/new/", f"/tasks/{task.pk}/edit/"):
        assert browser.get(url).status_code == 200, url
    detail = browser.get(f"/interactions/{interaction.pk}/").content.decode()
    assert "Wang Fang" in detail  # the contacts, by label
    assert 'name="owner"' not in browser.get("/tasks/new/").content.decode()  # reps cannot reassign
    customer_page = browser.get(f"/customers/{customer.pk}/").content.decode()
    assert "tab-interactions" in customer_page
    assert "tab-tasks" in customer_page


def test_task_form_creates_and_completes_through_status(browser: Client, customer: Any) -> None:
    response = browser.post(
        "/tasks/new/",
        {
            "title": "Visit",
            "kind": "revisit",
            "customer": customer.pk,
            "due_at": "2026-05-01T10:00",
            "priority": "normal",
            "status": "open",
            "repeat_every_days": "90",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get()
    response = browser.post(
        f"/tasks/{task.pk}/edit/",
        {
            "title": "Visit",
            "kind": "revisit",
            "customer": customer.pk,
            "due_at": "2026-05-01T10:00",
            "priority": "normal",
            "status": "done",
            "repeat_every_days": "90",
            "version": task.version,
        },
    )
    assert response.status_code == 302
    assert Task.objects.filter(status=TaskStatus.OPEN, repeat_every_days=90).count() == 1


def test_manager_assigns_tasks_through_the_assigned_to_field(make_user: Any) -> None:
    client = Client()
    client.force_login(make_user("chief", "manager", "East sales"))
    html = client.get("/tasks/new/").content.decode()
    assert 'name="owner"' in html
    assert "Assigned to" in html
