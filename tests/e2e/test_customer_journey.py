"""A salesperson's first day: log in, create a customer with a contact, find it from the
global search, edit it and read its history."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.models import Contact, Customer
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


def test_rep_creates_customer_with_contact_finds_edits_and_reads_history(page: Any, rep: Any) -> None:
    log_in(page, "rep", PASSWORD)

    page.goto("/customers/")
    page.click("[data-testid=new-record]")
    page.fill("input[name=name]", "浙江天行科技有限公司")
    page.fill("input[name=phone]", "138 1234 5678")
    page.fill("input[name=city]", "宁波")
    page.click("[data-testid=save]")
    expect(page.locator(".page-title")).to_contain_text("浙江天行科技有限公司")
    customer = Customer.objects.get(name="浙江天行科技有限公司")
    assert customer.phone == "+8613812345678"

    page.click("a[href='#tab-contacts']")
    page.click("#tab-contacts a.btn")
    page.fill("input[name=name]", "王芳")
    page.fill("input[name=mobile]", "139 8765 4321")
    page.check("input[name=is_primary]")
    page.click("[data-testid=save]")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    contact = Contact.objects.get(name="王芳")
    assert contact.customer_id == customer.pk
    assert contact.mobile == "+8613987654321"

    page.goto("/")
    search = page.locator("[data-kehu-search-input]")
    search.fill("天行")
    # The contact is found too (by its customer's name): open the customer.
    result = page.locator("#global-search-results a[href^='/customers/']", has_text="浙江天行科技有限公司")
    expect(result).to_be_visible()
    result.click()
    page.wait_for_url(f"**/customers/{customer.pk}/")

    page.click("[data-testid=edit-record]")
    page.fill("input[name=city]", "杭州")
    page.click("[data-testid=save]")
    expect(page.locator("[data-field=city]")).to_have_text("杭州")

    page.wait_for_load_state("networkidle")  # the tab loads its panel on its first click, once htmx is ready
    page.click("[data-testid=history-tab]")
    history = page.locator("[data-testid=history]")
    expect(history).to_contain_text("宁波")
    expect(history).to_contain_text("杭州")
    customer.refresh_from_db()
    assert customer.city == "杭州"
    assert customer.version == 2
    assert page.console_errors == []


def test_wrong_password_shows_an_error_and_stays_logged_out(page: Any, rep: Any) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "rep")
    page.fill("input[name=password]", "not-the-password")
    page.click("form:has(input[name=password]) [type=submit]")
    expect(page.locator("form:has(input[name=password])")).to_contain_text("not correct")
    page.goto("/customers/")
    assert "/accounts/login/" in page.url


def test_customer_list_and_form_work_on_a_phone(phone_page: Any, rep: Any) -> None:
    log_in(phone_page, "rep", PASSWORD)
    phone_page.goto("/customers/new/")
    phone_page.fill("input[name=name]", "手机客户")
    phone_page.click("[data-testid=save]")
    expect(phone_page.locator(".page-title")).to_contain_text("手机客户")
    phone_page.goto("/customers/")
    expect(phone_page.locator("#record-table")).to_contain_text("手机客户")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
