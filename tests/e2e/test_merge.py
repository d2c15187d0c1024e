"""Duplicates in a browser: the review queue → a pair → pick a field → merge → the survivor's
page shows the merged record's contact; the pages fit a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.models import Customer
from kehu.customers.services import contact_create, customer_create
from kehu.dataio.dedupe import finder
from kehu.platform.context import Context
from tests.e2e.conftest import log_in

PASSWORD = "Browser-pass-2026"


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


@pytest.fixture
def pair(rep: Any) -> tuple[Any, Any]:
    ctx = Context(user=rep)
    survivor = customer_create(ctx=ctx, data={"name": "上海晨光科技有限公司", "city": "上海"})
    loser = customer_create(ctx=ctx, data={"name": "上海晨光科技", "city": "上海", "industry": "文具"})
    contact_create(ctx=ctx, data={"customer": loser, "name": "韩梅梅"})
    finder.scan("customer")
    return survivor, loser


def test_review_a_pair_pick_a_field_and_merge(page: Any, rep: Any, pair: tuple[Any, Any]) -> None:
    survivor, loser = pair
    log_in(page, "rep", PASSWORD)
    page.goto("/duplicates/")
    rows = page.locator("[data-testid=duplicate-list] tbody tr[data-pair]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Same name")
    rows.first.locator("[data-testid=review-pair]").click()
    form = page.locator("[data-testid=merge-form]")
    expect(form.locator("[data-testid=survivor-left]")).to_be_checked()  # the older record
    form.locator("tr[data-field=name] input[value=right]").check()  # keep the shorter name
    expect(form.locator("tr[data-field=industry] input[value=right]")).to_be_checked()  # blank: filled
    form.locator("[data-testid=merge]").click()
    page.wait_for_url(f"**/customers/{survivor.pk}/")
    expect(page.locator("body")).to_contain_text("韩梅梅")
    expect(page.locator("body")).to_contain_text("merged into")
    kept = Customer.objects.get(pk=survivor.pk)
    assert (kept.name, kept.industry) == ("上海晨光科技", "文具")
    assert Customer.all_objects.get(pk=loser.pk).is_deleted
    assert not page.console_errors


def test_queue_and_pair_fit_a_phone(phone_page: Any, rep: Any, pair: tuple[Any, Any]) -> None:
    log_in(phone_page, "rep", PASSWORD)
    phone_page.goto("/duplicates/")
    expect(phone_page.locator("[data-testid=duplicate-list]")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    phone_page.locator("[data-testid=review-pair]").first.click()
    expect(phone_page.locator("[data-testid=merge-form]")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
