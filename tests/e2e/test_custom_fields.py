"""An admin adds a choice field to customers on the settings page; a salesperson fills it in on
the customer form and sees it as a list column."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.models import Customer
from kehu.platform.models import CustomField
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"


@pytest.fixture
def people(transactional_db: Any) -> dict[str, Any]:
    return {
        "admin": user_create(username="boss", password=PASSWORD, role="admin"),
        "rep": user_create(username="rep", password=PASSWORD, role="sales", team="East sales"),
    }


def test_admin_adds_a_choice_field_and_a_rep_fills_it_in_and_lists_it(
    page: Any, browser: Any, live_server: Any, people: dict[str, Any]
) -> None:
    log_in(page, "boss", PASSWORD)
    page.goto("/")
    page.click("[aria-label='Open user menu']")
    page.click("[data-testid=custom-field-settings]")
    page.click("[data-testid=new-custom-field]")
    page.select_option("select[name=record_type]", "customer")
    page.select_option("select[name=kind]", "choice")
    page.fill("input[name=label]", "Tier")
    page.fill("input[name=name]", "tier")
    page.fill("textarea[name=choices]", "vip | VIP\nstd | Standard")
    page.fill("input[name=section]", "Sales")
    page.click("[data-testid=save]")
    expect(page.locator("[data-testid=custom-fields-customer]")).to_contain_text("Tier")
    assert CustomField.objects.get(name="tier").choices[0] == {"value": "vip", "label": "VIP"}

    rep_context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
    rep_page = rep_context.new_page()
    rep_page.set_default_timeout(10_000)
    errors: list[str] = []
    rep_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(rep_page, "rep", PASSWORD)
    rep_page.goto("/customers/new/")
    expect(rep_page.locator("legend", has_text="Sales")).to_be_visible()
    rep_page.fill("input[name=name]", "杭州天行贸易")
    rep_page.select_option("select[name='custom.tier']", "vip")
    rep_page.click("[data-testid=save]")
    expect(rep_page.locator("[data-field='custom.tier']")).to_have_text("VIP")
    assert Customer.objects.get(name="杭州天行贸易").custom == {"tier": "vip"}

    rep_page.goto("/customers/")
    rep_page.click("button:has-text('Columns')")
    column = rep_page.locator("input[name=cols][value='custom.tier']")
    rep_page.locator("label.dropdown-item", has=column).click()  # the label: the box sits half outside the menu
    expect(column).to_be_checked()
    rep_page.click("#list-filters .dropdown-menu button:has-text('Apply')")
    row = rep_page.locator("#record-table tr", has_text="杭州天行贸易")
    expect(rep_page.locator("#record-table th", has_text="Tier")).to_be_visible()
    expect(row).to_contain_text("VIP")

    # The filter fields load when the panel opens; choosing one filters the table at once.
    rep_page.click("button:has-text('Filters')")
    rep_page.select_option("select[name=cf_tier]", "std")
    expect(rep_page).to_have_url(re.compile(r"cf_tier=std"))
    expect(row).to_have_count(0)
    assert errors == []
    assert page.console_errors == []
    rep_context.close()
