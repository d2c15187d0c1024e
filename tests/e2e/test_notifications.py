"""The bell in the browser: a reminder due in the past becomes a notification once the worker
runs; the badge counts it, the dropdown (loaded by htmx) lists it, opening it marks it read."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.activities.services import task_create
from kehu.platform.context import Context
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


def test_a_past_reminder_shows_under_the_bell_after_the_worker_runs(page: Any, rep: Any, settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    now = timezone.now()
    task = task_create(
        Context(user=rep),
        {
            "title": "Call Mr Wang",
            "due_at": now + datetime.timedelta(hours=1),
            "remind_at": now - datetime.timedelta(minutes=5),
        },
    )
    log_in(page, "rep", PASSWORD)
    page.goto("/notifications/")
    expect(page.locator("[data-testid=notification-count]")).to_have_count(0)

    call_command("worker", batch=True, verbosity=0)
    page.reload()
    expect(page.locator("[data-testid=notification-count]")).to_have_text("1")

    page.locator("[data-testid=notification-bell] > a").click()
    item = page.locator("#kehu-notification-menu [data-testid=notification-item]", has_text="Reminder: Call Mr Wang")
    expect(item).to_be_visible()
    item.click()
    page.wait_for_url(f"**/tasks/{task.pk}/")
    expect(page.locator("[data-testid=notification-count]")).to_have_count(0)
    assert page.console_errors == []


def test_the_bell_fits_a_phone_screen(phone_page: Any, rep: Any) -> None:
    from kehu.automation.services import notify

    notify([rep], kind="test", title="A rather long notification title that has to be cut short on a phone")
    log_in(phone_page, "rep", PASSWORD)
    phone_page.locator("[data-testid=notification-bell] > a").click()
    menu = phone_page.locator("#kehu-notification-menu")
    expect(menu.locator("[data-testid=notification-item]")).to_have_count(1)
    box = menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
    bar = phone_page.locator("header.kehu-topbar").bounding_box()
    assert bar is not None
    assert box["y"] >= bar["y"] + bar["height"] - 8  # under the top bar, not over it
