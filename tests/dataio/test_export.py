"""Exports of any list: CSV (UTF-8 with BOM) and XLSX, streamed or as a background job, with the
list's filters and columns, visibility, formula escaping and one audit entry per export; the
exports page and its downloads; the ``kehu export`` command."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.http import QueryDict
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from kehu.automation.models import Notification
from kehu.dataio.exports import services as export_services
from kehu.dataio.exports import writers
from kehu.dataio.exports.models import ExportJob, ExportStatus
from kehu.platform.fields import unseal_query
from kehu.platform.models import AuditEntry
from tests.sales.opportunity_support import *  # noqa: F403  (the opportunity fixtures)

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response: Any) -> tuple[str, list[list[str]]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return body, list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def xlsx_sheet(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data)).active


def test_csv_export_has_bom_keeps_chinese_and_shows_formulas_as_text(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="=1+1")
    make_customer(rep, name="上海贸易有限公司")
    make_customer(rep, name="-5")
    response = logged_in(rep).get("/customers/export.csv?cols=number&cols=name&sort=name")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body, rows = csv_rows(response)
    assert body.startswith("\ufeff")
    names = [row[1] for row in rows[1:]]
    assert "'=1+1" in names  # shown as text by Excel and LibreOffice
    assert "'-5" in names  # text that starts with "-" is escaped too (OWASP)
    assert "上海贸易有限公司" in names
    assert len(rows[0]) == 2


def test_csv_keeps_amounts_as_numbers_and_escapes_text(rep: Any, make_opportunity: Any) -> None:
    make_opportunity(rep, name="-5", amount=Decimal("12500.50"))
    _body, rows = csv_rows(logged_in(rep).get("/opportunities/export.csv?cols=name&cols=amount"))
    assert rows[1] == ["'-5", "12500.50"]


def test_csv_cells_escape_text_not_numbers() -> None:
    assert writers.csv_text("-5") == "'-5"  # text typed as "-5" (a name, a note): escaped, per OWASP
    assert writers.csv_text(Decimal("-5")) == "-5"  # a numeric field: a number cannot be a formula
    assert writers.csv_text(-5) == "-5"
    for text in ("=1+1", "+1", "@A1", "\tx", "\rx"):
        assert writers.csv_text(text) == "'" + text
    assert writers.csv_text("plain 文本") == "plain 文本"


def test_xlsx_export_writes_text_as_strings_never_formulas(rep: Any, make_customer: Any, make_opportunity: Any) -> None:
    customer = make_customer(rep, name="北京科技")
    make_opportunity(rep, customer, name="=1+1", amount=Decimal("12500.50"))
    make_opportunity(rep, customer, name="@SUM(A1)", amount=Decimal("3"))
    response = logged_in(rep).get("/opportunities/export.xlsx?cols=name&cols=amount&cols=customer&cols=created_at")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml  # no formula anywhere in the file
    sheet = xlsx_sheet(data)
    by_name = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    formula = by_name["=1+1"]
    assert formula[0].data_type == "s"
    assert formula[0].value == "=1+1"  # as typed, no apostrophe: a string cell is never evaluated
    assert formula[0].quotePrefix  # and stays text when edited in Excel
    assert formula[1].data_type == "n"
    assert Decimal(str(formula[1].value)) == Decimal("12500.5")
    assert formula[2].value.endswith("北京科技")  # the customer as the list shows it
    assert isinstance(formula[3].value, datetime.datetime)  # a date, in local time
    assert abs(formula[3].value - timezone.localtime().replace(tzinfo=None)) < datetime.timedelta(minutes=5)
    assert by_name["@SUM(A1)"][0].data_type == "s"
    assert sheet["A1"].font.bold


def test_xlsx_drops_control_characters_that_the_format_cannot_hold(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Bell\x07 Ltd")
    sheet = xlsx_sheet(b"".join(logged_in(rep).get("/customers/export.xlsx?cols=name").streaming_content))
    assert sheet["A2"].value == "Bell Ltd"


def test_rep_cannot_export_other_teams_customers(rep: Any, other_rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Ours Ltd")
    make_customer(other_rep, name="Theirs Ltd")
    client = logged_in(rep)
    body, _rows = csv_rows(client.get("/customers/export.csv"))
    assert "Ours Ltd" in body
    assert "Theirs Ltd" not in body
    sheet = xlsx_sheet(b"".join(client.get("/customers/export.xlsx").streaming_content))
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "Ours Ltd" in values
    assert "Theirs Ltd" not in values


def test_export_respects_filters_search_and_columns(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Hangzhou Tea", city="Hangzhou")
    make_customer(rep, name="Shanghai Steel", city="Shanghai")
    make_customer(rep, name="Hangzhou Silk", city="Hangzhou")
    _body, rows = csv_rows(logged_in(rep).get("/customers/export.csv?city=Hangzhou&q=Tea&cols=name&cols=city"))
    assert rows[1:] == [["Hangzhou Tea", "Hangzhou"]]
    assert len(rows[0]) == 2


def test_export_writes_one_audit_entry_with_format_filters_and_count(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", phone="13812345678")
    make_customer(rep, name="Other", phone="13912345678")
    client = logged_in(rep)
    response = client.get("/customers/export.xlsx?phone=13812345678&cols=name")
    assert len(xlsx_sheet(b"".join(response.streaming_content))["A"]) == 2
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == rep
    assert entry.extra["record_type"] == "customer"
    assert entry.extra["format"] == "xlsx"
    assert entry.extra["count"] == 1
    assert "13812345678" not in entry.extra["query"]  # personal filter values are sealed
    assert unseal_query(QueryDict(entry.extra["query"]))["phone"] == "13812345678"


def test_bad_filter_redirects_back_with_the_error(rep: Any) -> None:
    response = logged_in(rep).get("/customers/export.csv?sort=nonsense")
    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    assert not AuditEntry.objects.filter(action="export").exists()


def test_user_without_view_permission_gets_403(make_user: Any) -> None:
    stranger = make_user("stranger", "read_only")
    stranger.role = None  # no role: no permission at all
    stranger.save()
    response = logged_in(stranger).get("/customers/export.xlsx")
    assert response.status_code == 403


def test_export_requires_login(db: Any) -> None:
    response = Client().get("/customers/export.xlsx")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_long_list_becomes_a_background_job_with_file_notification_and_owner_download(
    rep: Any, other_rep: Any, admin_user: Any, make_customer: Any, settings: Any
) -> None:
    settings.KEHU_EXPORT_SYNC_ROWS = 2
    for name in ("A Ltd", "B Ltd", "C Ltd"):
        make_customer(rep, name=name)
    make_customer(other_rep, name="Hidden Ltd")
    client = logged_in(rep)
    response = client.get("/customers/export.xlsx?cols=name&sort=name")
    assert response.status_code == 302
    assert response["Location"] == "/exports/"
    job = ExportJob.objects.get()
    assert (job.user, job.format, job.status, job.row_count) == (rep, "xlsx", ExportStatus.DONE, 3)
    path = export_services.export_file_path(job)
    assert path.is_file()
    assert path.parent == Path(settings.DATA_DIR) / "exports"
    note = Notification.objects.get(recipient=rep)
    assert note.kind == export_services.NOTIFY_EXPORT_READY
    assert note.url == "/exports/"
    page = client.get("/exports/").content.decode()
    assert f"/exports/{job.pk}/download/" in page
    download = client.get(f"/exports/{job.pk}/download/")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    sheet = xlsx_sheet(b"".join(download.streaming_content))
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["A Ltd", "B Ltd", "C Ltd"]
    assert logged_in(other_rep).get(f"/exports/{job.pk}/download/").status_code == 404
    assert logged_in(admin_user).get(f"/exports/{job.pk}/download/").status_code == 404  # only its owner
    assert f"/exports/{job.pk}/download/" not in logged_in(other_rep).get("/exports/").content.decode()
    entries = AuditEntry.objects.filter(action="export")
    assert entries.count() == 1
    assert entries.get().extra["count"] == 3
    assert entries.get().extra["job"] == job.pk


def test_background_csv_job_holds_what_the_list_holds(rep: Any, make_customer: Any, settings: Any) -> None:
    settings.KEHU_EXPORT_SYNC_ROWS = 0
    make_customer(rep, name="=cmd|' /C calc'!A0", city="Xi'an")
    make_customer(rep, name="Elsewhere", city="Wuhan")
    logged_in(rep).get("/customers/export.csv?city=Xi'an&cols=name")
    job = ExportJob.objects.get()
    text = export_services.export_file_path(job).read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    assert "'=cmd" in text
    assert "Elsewhere" not in text
    assert job.row_count == 1


def test_download_of_missing_or_unfinished_export_is_404(rep: Any) -> None:
    job = ExportJob.objects.create(user=rep, record_type="customer", format="csv")
    client = logged_in(rep)
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404
    assert client.get("/exports/999999/download/").status_code == 404


def test_sweep_removes_files_after_keep_days(rep: Any, make_customer: Any, settings: Any) -> None:
    settings.KEHU_EXPORT_SYNC_ROWS = 0
    settings.KEHU_EXPORT_KEEP_DAYS = 7
    make_customer(rep, name="Old Ltd")
    client = logged_in(rep)
    client.get("/customers/export.csv")
    fresh = ExportJob.objects.get()
    client.get("/customers/export.csv")
    old = ExportJob.objects.exclude(pk=fresh.pk).get()
    old_path = export_services.export_file_path(old)
    ExportJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - datetime.timedelta(days=8))
    assert export_services.exports_expire() == 1
    old.refresh_from_db()
    assert old.status == ExportStatus.EXPIRED
    assert not old_path.exists()
    assert export_services.export_file_path(fresh).is_file()
    assert client.get(f"/exports/{old.pk}/download/").status_code == 404
    assert client.get(f"/exports/{fresh.pk}/download/").status_code == 200


def test_expiry_sweep_is_registered_with_housekeeping() -> None:
    from kehu.platform import housekeeping

    assert housekeeping.sweeps()["export_expiry"] is export_services.expire_exports


def test_exports_link_is_in_the_data_menu(rep: Any) -> None:
    from kehu.platform.records import registry

    groups = {group.key: group for group in registry.navigation(rep)}
    assert "exports" in [item.key for item in groups["data"].items]


def test_list_page_offers_csv_and_xlsx_and_vcard_on_contacts_only(rep: Any) -> None:
    client = logged_in(rep)
    customers = client.get("/customers/").content.decode()
    assert "/customers/export.csv" in customers
    assert "/customers/export.xlsx" in customers
    assert "export.vcf" not in customers
    contacts = client.get("/contacts/").content.decode()
    assert "/contacts/export.vcf" in contacts
    assert "/contacts/import-vcard/" in contacts


# ---------------------------------------------------------------- CLI


def test_cli_exports_as_the_user_with_filters_and_columns(
    rep: Any, other_rep: Any, make_customer: Any, tmp_path: Path
) -> None:
    make_customer(rep, name="=1+1", city="Hangzhou")
    make_customer(rep, name="Shanghai Steel", city="Shanghai")
    make_customer(other_rep, name="Hidden", city="Hangzhou")
    output = tmp_path / "out.xlsx"
    out = io.StringIO()
    call_command(
        "export", "customer", "--user", "rep", "--format", "xlsx", "--output", str(output),
        "--filter", "city=Hangzhou", "--columns", "name,city", stdout=out,
    )  # fmt: skip
    assert out.getvalue().startswith("1 customers written")
    sheet = load_workbook(output).active
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [["=1+1", "Hangzhou"]]
    assert sheet["A2"].data_type == "s"
    entry = AuditEntry.objects.get(action="export")
    assert entry.source == "cli"
    assert entry.extra["count"] == 1


def test_cli_csv_by_default(rep: Any, make_customer: Any, tmp_path: Path) -> None:
    make_customer(rep, name="客户甲")
    output = tmp_path / "customers.csv"
    call_command("export", "customer", "--user", "rep", "--output", str(output), "--q", "客户", stdout=io.StringIO())
    text = output.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    assert "客户甲" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["spaceship", "--user", "rep"], "Unknown record type: spaceship"),
        (["customer", "--user", "nobody"], "No active user named nobody"),
        (["customer", "--user", "rep", "--columns", "name,shoe_size"], "Unknown column: shoe_size"),
        (["customer", "--user", "rep", "--filter", "planet=Mars"], "Unknown filter: planet"),
        (["customer", "--user", "rep", "--filter", "cityHangzhou"], "KEY=VALUE"),
        (["customer", "--user", "rep", "--sort", "shoe_size"], "Cannot sort by shoe_size"),
        (["customer", "--user", "rep", "--format", "vcf"], "Only contacts"),
    ],
)
def test_cli_reports_bad_input_clearly(rep: Any, tmp_path: Path, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("export", *args, "--output", str(tmp_path / "x.out"), stdout=io.StringIO())
    assert not (tmp_path / "x.out").exists()
