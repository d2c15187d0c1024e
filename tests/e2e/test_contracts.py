"""Contracts, orders and receivables in a browser: the pages fit a phone, the plan splits
evenly, and an order over the credit limit shows the warning."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.services import customer_create
from kehu.platform.context import Context
from kehu.sales.contracts import services
from tests.e2e.conftest import log_in

PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


@pytest.fixture
def boss(transactional_db: Any) -> Any:
    return user_create(username="boss", password=PASSWORD, role="manager", team="East sales")


@pytest.fixture
def customer(rep: Any) -> Any:
    return customer_create(ctx=Context(user=rep), data={"name": "华东精密机械有限公司"})


def test_contract_plan_and_receivables_fit_a_phone(phone_page: Any, rep: Any, customer: Any) -> None:
    ctx = Context(user=rep)
    contract = services.contract_create(
        ctx,
        {
            "customer": customer,
            "title": "年度设备维保合同",
            "start_date": datetime.date(2026, 1, 1),
            "amount": Decimal("1000.00"),
            "currency": "CNY",
        },
    )
    log_in(phone_page, "rep", PASSWORD)
    phone_page.goto(f"/contracts/{contract.pk}/")
    form = phone_page.locator("[data-testid=split-form]")
    form.locator("input[name=count]").fill("3")
    form.locator("button[type=submit]").click()
    expect(phone_page.locator("[data-testid=plan-form] input[name=amount]").first).to_have_value("333.34")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    phone_page.click("[data-testid=to-active]")
    expect(phone_page.locator("[data-testid=to-completed]")).to_be_visible()  # it is active now
    phone_page.goto("/receivables/")
    expect(phone_page.locator("[data-testid=receivables-table]")).to_contain_text("华东精密机械有限公司")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    phone_page.goto(f"/customers/{customer.pk}/")
    expect(phone_page.locator("[data-testid=customer-receivables]")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375


def test_order_over_the_credit_limit_shows_the_warning(page: Any, rep: Any, boss: Any, customer: Any) -> None:
    services.credit_set(Context(user=boss), customer, limit=Decimal("500.00"))
    order = services.order_create(Context(user=rep), {"customer": customer, "currency": "CNY"})
    log_in(page, "rep", PASSWORD)
    page.goto(f"/orders/{order.pk}/lines/")
    page.locator("input[name=description]").first.fill("Spindle motor")
    page.locator("input[name=quantity]").first.fill("2")
    page.locator("input[name=unit_price]").first.fill("300")
    page.get_by_role("button", name="Save lines").click()
    expect(page.locator("[data-testid=order-total]")).to_contain_text("600.00")
    expect(page.locator("[data-testid=credit-warning]")).to_contain_text("Over the credit limit")
    page.click("[data-testid=to-confirmed]")
    expect(page.locator("[data-testid=order-status]")).to_contain_text("Confirmed")
    expect(page.locator(".alert-warning").first).to_contain_text("Over the credit limit")
