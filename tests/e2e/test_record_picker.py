"""A record picker in the browser: past the limit, a salesperson finds the customer of a new
contact by typing part of its name, and filters the contact list the same way."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.models import Contact
from kehu.customers.services import contact_create, customer_create
from kehu.platform import widgets
from kehu.platform.context import Context
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


@pytest.fixture
def firms(rep: Any, monkeypatch: Any) -> list[Any]:
    monkeypatch.setattr(widgets, "PICKER_LIMIT", 2)  # the live server runs in this process
    ctx = Context(user=rep)
    return [
        customer_create(ctx=ctx, data={"name": name}) for name in ("宁波海天贸易", "杭州西湖科技", "Shanghai Port Ltd")
    ]


def test_rep_picks_the_customer_of_a_new_contact_by_typing_part_of_its_name(page: Any, rep: Any, firms: Any) -> None:
    log_in(page, "rep", PASSWORD)
    page.goto("/contacts/new/")
    select = page.locator("select[name=customer]")
    expect(select.locator("option")).to_have_count(1)  # the empty choice only
    box = page.locator("[data-kehu-picker-input]")
    box.fill("海天")
    result = page.locator("[data-kehu-picker-results] button", has_text="宁波海天贸易")
    expect(result).to_have_count(1)
    expect(page.locator("[data-kehu-picker-results] button", has_text="杭州西湖科技")).to_have_count(0)
    result.click()
    expect(select).to_have_value(str(firms[0].pk))
    page.fill("input[name=name]", "王经理")
    page.locator("[data-testid=save]").click()
    page.wait_for_url(lambda url: "/contacts/new/" not in url)
    assert Contact.objects.get(name="王经理").customer == firms[0]
    assert not page.console_errors


def test_rep_filters_the_contact_list_by_a_customer_found_in_the_filter_panel(page: Any, rep: Any, firms: Any) -> None:
    ctx = Context(user=rep)
    contact_create(ctx=ctx, data={"customer": firms[1], "name": "李工"})
    contact_create(ctx=ctx, data={"customer": firms[2], "name": "Mr Smith"})
    log_in(page, "rep", PASSWORD)
    page.goto("/contacts/")
    page.get_by_role("button", name="Filters").click()
    box = page.locator("#filter-fields [data-kehu-picker-input]").first
    box.fill("西湖")
    page.locator("[data-kehu-picker-results] button", has_text="杭州西湖科技").click()
    expect(page.locator("#record-table")).to_contain_text("李工")
    expect(page.locator("#record-table")).not_to_contain_text("Mr Smith")
    assert not page.console_errors
