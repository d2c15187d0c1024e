"""Customer 360 in the browser: a salesperson opens a customer, logs a call with its follow-up
task in one form, sees both on the timeline without a reload, and finds the task on My day;
the same works on a phone."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.activities.models import Interaction, Task
from kehu.customers.services import contact_create, customer_create
from kehu.platform.context import Context
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


@pytest.fixture
def customer(rep: Any) -> Any:
    ctx = Context(user=rep)
    firm = customer_create(ctx=ctx, data={"name": "宁波海天贸易", "phone": "0574 8765 4321", "industry": "Trading"})
    contact_create(ctx=ctx, data={"customer": firm, "name": "王经理", "title": "Purchasing manager"})
    return firm


def log_a_call_with_a_follow_up(page: Any, due: datetime.datetime) -> None:
    form = page.locator("[data-testid=quick-log]")
    form.locator("label[data-kind=call]").click()
    form.locator("input[name=contacts]").first.check()
    form.locator("input[name=subject]").fill("Called about the spring order")
    form.locator("textarea[name=content]").fill("Wants a quote by Friday.")
    form.locator("input[name=next_step]").fill("Send the quote")
    form.locator("[data-testid=follow-up-switch]").check()
    form.locator("input[name=task_title]").fill("Send the quote to 王经理")
    form.locator("input[name=task_due_at]").fill(due.strftime("%Y-%m-%dT%H:%M"))
    form.locator("[data-testid=quick-log-save]").click()
    expect(page.locator("[data-testid=quick-log-success]")).to_be_visible()


def test_rep_logs_a_call_with_its_follow_up_sees_both_on_the_timeline_and_the_task_on_my_day(
    page: Any, rep: Any, customer: Any
) -> None:
    log_in(page, "rep", PASSWORD)
    page.goto(f"/customers/{customer.pk}/")
    expect(page.locator("[data-testid=timeline-entry]").first).to_be_visible()
    page.evaluate("window.kehuNotReloaded = true")
    due = timezone.localtime() + datetime.timedelta(days=1)

    log_a_call_with_a_follow_up(page, due)

    timeline = page.locator("[data-testid=timeline-entries]")
    expect(timeline).to_contain_text("Called about the spring order")
    expect(timeline).to_contain_text("Send the quote to 王经理")
    expect(page.locator("[data-testid=customer-tasks]")).to_contain_text("Send the quote to 王经理")
    assert page.evaluate("window.kehuNotReloaded") is True  # htmx: no page load happened
    interaction = Interaction.objects.get(subject="Called about the spring order")
    task = Task.objects.get(title="Send the quote to 王经理")
    assert (interaction.kind, interaction.customer_id, task.interaction_id) == ("call", customer.pk, interaction.pk)
    assert [c.name for c in interaction.contacts.all()] == ["王经理"]
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == due.strftime("%Y-%m-%d %H:%M")

    page.click("[data-testid=nav-my-day]")
    page.wait_for_url("**/my-day/")
    expect(page.locator("[data-testid=my-day-upcoming]")).to_contain_text("Send the quote to 王经理")
    assert page.console_errors == []


def test_the_timeline_filters_by_kind_without_a_reload(page: Any, rep: Any, customer: Any) -> None:
    log_in(page, "rep", PASSWORD)
    page.goto(f"/customers/{customer.pk}/")
    log_a_call_with_a_follow_up(page, timezone.localtime() + datetime.timedelta(days=2))
    expect(page.locator("[data-testid=timeline-entries]")).to_contain_text("Called about the spring order")

    page.click("[data-testid=timeline-kind-task]")

    entries = page.locator("[data-testid=timeline-entry]")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Send the quote to 王经理")


def test_customer_page_quick_log_and_my_day_fit_a_phone(phone_page: Any, rep: Any, customer: Any) -> None:
    log_in(phone_page, "rep", PASSWORD)
    phone_page.goto(f"/customers/{customer.pk}/")
    expect(phone_page.locator("[data-testid=quick-log]")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375

    log_a_call_with_a_follow_up(phone_page, timezone.localtime() + datetime.timedelta(days=1))
    expect(phone_page.locator("[data-testid=timeline-entries]")).to_contain_text("Called about the spring order")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375

    phone_page.goto("/my-day/")
    expect(phone_page.locator("[data-testid=my-day-upcoming]")).to_contain_text("Send the quote to 王经理")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
