"""A salesperson imports a GB18030 CSV with Chinese headers through the wizard: the mapping is
proposed without changes, the dry run tells what would happen, the import runs to the end, the
records are in the list and the rejected row downloads with its reason. The wizard fits a phone.

Tasks run with the immediate backend here (tests/settings.py), so the import runs when its
transaction commits; the progress part's polling is covered by tests/dataio/test_import_ui.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from kehu.accounts.services import user_create
from kehu.customers.models import Customer
from kehu.dataio.imports.models import ImportJob
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "Browser-pass-2026"

ROWS = [
    ["客户名称", "手机号码", "电子邮件", "城市", "备注"],
    ["华东精密机械有限公司", "13800138000", "sales@huadong.example.com", "上海", "老客户"],
    ["南方电子科技有限公司", "13900139000", "info@nanfang.example.com", "深圳", ""],
    ["北辰物流集团", "021-64381234", "contact@beichen.example.com", "北京", "展会认识"],
    ["", "12345", "nobody@example.com", "广州", "没有名称的坏行"],
]
GOOD_NAMES = {row[0] for row in ROWS[1:] if row[0]}


@pytest.fixture
def rep(transactional_db: Any) -> Any:
    return user_create(username="rep", password=PASSWORD, role="sales", team="East sales")


@pytest.fixture
def gb18030_csv(tmp_path: Path) -> Path:
    path = tmp_path / "客户名单.csv"
    path.write_bytes(("\r\n".join(",".join(row) for row in ROWS) + "\r\n").encode("gb18030"))
    return path


def test_import_a_gb18030_file_through_the_wizard(page: Any, rep: Any, gb18030_csv: Path, tmp_path: Path) -> None:
    log_in(page, "rep", PASSWORD)
    page.goto("/customers/")
    page.click("[data-testid=import-records]")
    expect(page.locator("select[name=record_type]")).to_have_value("customer")
    page.set_input_files("input[name=file]", str(gb18030_csv))
    page.click("[data-testid=upload]")

    # the mapping is proposed from the Chinese headers: nothing to change
    page.wait_for_url("**/mapping/")
    column = page.locator("[data-testid=column][data-header='客户名称']")
    expect(column.locator("select")).to_have_value("name")
    expect(column.locator("[data-testid=samples]")).to_contain_text("华东精密机械有限公司")
    expect(page.locator("[data-testid=column][data-header='手机号码'] select")).to_have_value("phone")
    page.click("[data-testid=dry-run]")

    # the dry run: would create 3, reject 1 (line 5: no name), nothing written
    job_page = page.locator("[data-testid=import-job]")
    expect(job_page).to_have_attribute("data-status", "done")
    expect(page.locator("[data-count=created]")).to_have_text("3")
    expect(page.locator("[data-count=rejected]")).to_have_text("1")
    expect(page.locator("[data-testid=counts]")).to_contain_text("would be created")
    expect(page.locator("[data-testid=rejected-rows] [data-line='5']")).to_be_visible()
    assert not Customer.objects.exists()

    page.click("[data-testid=run-import]")
    expect(job_page).to_have_attribute("data-status", "done")
    expect(page.locator("[data-testid=progress-text]")).to_contain_text("100%")
    expect(page.locator("[data-count=created]")).to_have_text("3")
    expect(page.locator("[data-testid=counts]")).not_to_contain_text("would be")
    assert set(Customer.objects.values_list("name", flat=True)) == GOOD_NAMES

    with page.expect_download() as download_info:
        page.click("[data-testid=download-rejected]")
    saved = tmp_path / "rejected.csv"
    download_info.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8-sig").splitlines()
    assert "客户名称" in lines[0]
    assert lines[1].startswith("5,")
    assert "没有名称的坏行" in lines[1]

    page.click("[data-testid=records-link]")
    page.wait_for_url("**/customers/")
    for name in GOOD_NAMES:
        expect(page.locator("#record-table")).to_contain_text(name)
    assert page.console_errors == []


def test_the_wizard_fits_a_phone(phone_page: Any, rep: Any, gb18030_csv: Path) -> None:
    log_in(phone_page, "rep", PASSWORD)
    phone_page.goto("/imports/new/?type=customer")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    phone_page.set_input_files("input[name=file]", str(gb18030_csv))
    phone_page.click("[data-testid=upload]")
    phone_page.wait_for_url("**/mapping/")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    phone_page.click("[data-testid=dry-run]")
    expect(phone_page.locator("[data-testid=import-job]")).to_have_attribute("data-status", "done")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    job = ImportJob.objects.get()
    phone_page.goto("/imports/")
    expect(phone_page.locator(f"[data-job='{job.pk}']")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
