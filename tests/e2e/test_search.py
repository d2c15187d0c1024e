"""The header search as people use it: pinyin typed into the box finds the Chinese customer,
with the keyboard or the mouse."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.services import customer_create
from kehu.platform.context import Context
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


def test_typing_pinyin_in_the_header_finds_the_chinese_customer_and_opens_it(page: Any, rep: Any) -> None:
    customer = customer_create(ctx=Context(user=rep), data={"name": "张三科技有限公司", "city": "杭州"})
    customer_create(ctx=Context(user=rep), data={"name": "李四贸易"})
    log_in(page, "rep", PASSWORD)

    search = page.locator("[data-kehu-search-input]")
    search.press_sequentially("zhangsan", delay=30)
    result = page.locator("#global-search-results a", has_text="张三科技有限公司")
    expect(result).to_be_visible()
    expect(page.locator("#global-search-results")).not_to_contain_text("李四贸易")
    expect(page.locator("#global-search-results [data-testid=search-count]")).to_have_text("1")

    # The keyboard reaches the result too: arrow down from the box, Enter opens it.
    search.fill("zs")
    expect(page.locator("#global-search-results a", has_text="张三科技有限公司")).to_be_visible()
    search.press("ArrowDown")
    expect(result).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    expect(page.locator(".page-title")).to_contain_text("张三科技有限公司")

    page.goto("/")
    page.locator("[data-kehu-search-input]").fill("zhangsan")
    page.locator("#global-search-results a", has_text="张三科技有限公司").click()
    page.wait_for_url(f"**/customers/{customer.pk}/")
    assert page.console_errors == []
