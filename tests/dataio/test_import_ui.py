"""The import wizard in the browser (through Django's test client): upload, the proposed and
edited mapping, the dry run's preview, the import, the report and the rejected rows, and who
may do what (only users who may add the type import it; a job is its owner's)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Customer
from kehu.dataio.imports import services
from kehu.dataio.imports.models import ImportJob, ImportStatus, SavedMapping
from tests.dataio.import_ui_support import GOOD_ROWS, HEADERS, csv_bytes, upload_file, xlsx_bytes


@pytest.fixture
def web(rep: Any) -> Client:
    client = Client()
    client.force_login(rep)
    return client


def upload(
    client: Client, content: bytes | None = None, name: str = "customers.csv", record_type: str = "customer"
) -> Any:
    return client.post("/imports/new/", {"record_type": record_type, "file": upload_file(content, name)})


def uploaded_job(client: Client, content: bytes | None = None, **kwargs: Any) -> ImportJob:
    response = upload(client, content, **kwargs)
    assert response.status_code == 302, response.content.decode()[:2000]
    match = re.fullmatch(r"/imports/(\d+)/mapping/", response["Location"])
    assert match, response["Location"]
    return ImportJob.objects.get(pk=int(match.group(1)))


def mapping_post(
    job: ImportJob, *, fields: dict[str, str] | None = None, action: str = "dry_run", **extra: Any
) -> dict:
    """The mapping form as the page sends it: the job's mapping unless ``fields`` changes it."""
    chosen = {**job.mapping, **(fields or {})}
    data: dict[str, Any] = {f"col_{i}": chosen.get(header, "") for i, header in enumerate(job.headers)}
    data.update({"match_on": job.match_on, "on_duplicate": job.on_duplicate, action: "1"})
    data.update(extra)
    return data


def run_dry(client: Client, job: ImportJob, capture: Any) -> Any:
    with capture(execute=True):
        response = client.post(f"/imports/{job.pk}/mapping/", mapping_post(job))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == f"/imports/{job.pk}/"
    job.refresh_from_db()
    return response


# ---------------------------------------------------------------- upload


def test_upload_stores_the_file_and_opens_the_proposed_mapping(web: Client, rep: Any) -> None:
    job = uploaded_job(web)
    assert job.created_by == rep
    assert job.headers == HEADERS
    page = web.get(f"/imports/{job.pk}/mapping/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "客户名称" in html
    assert "华东精密机械有限公司" in html  # the column's first values
    # the name column is preselected with the name field; required fields are marked
    select = re.search(r'<select name="col_0".*?</select>', html, re.S)
    assert select is not None
    assert re.search(r'<option value="name" selected>[^<]*\*</option>', select.group(0))
    assert "— leave out —" in html


def test_upload_of_a_gb18030_file_is_read_in_its_encoding(web: Client) -> None:
    job = uploaded_job(web, csv_bytes(encoding="gb18030"))
    assert job.headers == HEADERS
    assert job.mapping["客户名称"] == "name"


def test_new_import_preselects_the_type_from_the_list_button(web: Client) -> None:
    html = web.get("/imports/new/?type=contact").content.decode()
    assert re.search(r'<option value="contact" selected>', html)


def test_upload_refuses_a_file_of_another_type(web: Client) -> None:
    response = upload(web, b"%PDF-1.4 not a sheet", name="report.pdf")
    assert response.status_code == 422
    assert "CSV, TSV, TXT and XLSX" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_upload_refuses_an_empty_file_with_a_clear_message(web: Client) -> None:
    response = upload(web, b"", name="empty.csv")
    assert response.status_code == 422
    assert not ImportJob.objects.exists()


def test_upload_over_the_size_limit_is_refused_before_the_body_is_read(web: Client, settings: Any) -> None:
    settings.KEHU_IMPORT_MAX_MB = 0.01  # about 10 KB
    response = upload(web, csv_bytes(GOOD_ROWS * 4000))  # far more than the limit and the margin
    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_upload_just_over_the_size_limit_is_refused_by_the_form(web: Client, settings: Any) -> None:
    settings.KEHU_IMPORT_MAX_MB = 0.01
    response = upload(web, csv_bytes(GOOD_ROWS * 150))  # ~16 KB: within the body margin, over the limit
    assert response.status_code == 422
    assert "an import takes at most" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_xlsx_with_several_sheets_offers_the_sheet_choice(web: Client) -> None:
    content = xlsx_bytes(
        {
            "说明": [["这是说明", "不是数据"], ["x", "y"]],
            "客户": [HEADERS, *GOOD_ROWS],
        }
    )
    job = uploaded_job(web, content, name="customers.xlsx")
    html = web.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert 'data-testid="sheet-form"' in html
    response = web.post(f"/imports/{job.pk}/sheet/", {"sheet": "客户"})
    assert response.status_code == 302
    new_job = ImportJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"/imports/{new_job.pk}/mapping/"
    assert new_job.sheet == "客户"
    assert new_job.headers == HEADERS
    assert new_job.mapping["客户名称"] == "name"
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert not services.job_path(job).exists()  # one stored copy of the workbook, not two
    assert services.job_path(new_job).exists()


# ---------------------------------------------------------------- mapping


def test_a_field_mapped_twice_is_shown_next_to_the_column(web: Client) -> None:
    job = uploaded_job(web)
    response = web.post(f"/imports/{job.pk}/mapping/", mapping_post(job, fields={"城市": "name"}))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="column-error"' in html
    job.refresh_from_db()
    assert job.status == ImportStatus.NEW


def test_leaving_out_a_required_field_is_refused(web: Client) -> None:
    job = uploaded_job(web)
    response = web.post(f"/imports/{job.pk}/mapping/", mapping_post(job, fields={"客户名称": ""}))
    assert response.status_code == 422
    assert 'data-testid="mapping-errors"' in response.content.decode()
    assert not Customer.objects.exists()


def test_a_mapping_saved_under_a_name_is_offered_and_loaded(web: Client, rep: Any) -> None:
    job = uploaded_job(web)
    data = mapping_post(job, action="save", fields={"城市": ""}, save_as="CRM export")
    response = web.post(f"/imports/{job.pk}/mapping/", data)
    assert response.status_code == 302
    saved = SavedMapping.objects.get(name="CRM export", created_by=rep)
    assert saved.mapping["城市"] == ""
    assert saved.mapping["客户名称"] == "name"
    html = web.get(f"/imports/{job.pk}/mapping/?saved={saved.pk}").content.decode()
    assert "CRM export" in html
    city = re.search(r'<select name="col_3".*?</select>', html, re.S)
    assert city is not None
    assert '<option value="" selected>' in city.group(0)


# ---------------------------------------------------------------- dry run, run, report


def test_dry_run_shows_what_would_happen_and_writes_nothing(
    web: Client, django_capture_on_commit_callbacks: Any
) -> None:
    job = uploaded_job(web)
    run_dry(web, job, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE
    assert job.dry_run
    assert (job.created_count, job.rejected_count) == (2, 1)
    assert not Customer.objects.exists()
    html = web.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-count="created">2<' in html
    assert 'data-count="rejected">1<' in html
    assert "would be created" in html
    assert 'data-line="4"' in html  # the bad row, with its line in the file (header = line 1)
    assert 'data-testid="reasons"' in html
    assert 'data-testid="run-import"' in html


def test_import_after_the_dry_run_creates_the_records_and_reports(
    web: Client, rep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = uploaded_job(web)
    run_dry(web, job, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/imports/{job.pk}/run/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert not job.dry_run
    assert (job.created_count, job.rejected_count) == (2, 1)
    names = set(Customer.objects.values_list("name", flat=True))
    assert names == {row[0] for row in GOOD_ROWS}
    assert set(Customer.objects.values_list("owner", flat=True)) == {rep.pk}
    html = web.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-testid="records-link"' in html
    assert 'href="/customers/"' in html
    assert 'data-testid="run-import"' not in html  # done: it cannot run twice
    download = web.get(f"/imports/{job.pk}/rejected.csv")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    text = b"".join(download.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").splitlines()
    assert "客户名称" in lines[0]
    assert lines[1].startswith("4,")
    assert "12345" in lines[1]  # the original cells come back


def test_import_without_dry_run_from_the_mapping_page(web: Client, django_capture_on_commit_callbacks: Any) -> None:
    job = uploaded_job(web)
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/imports/{job.pk}/mapping/", mapping_post(job, action="run"))
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.created_count) == (ImportStatus.DONE, False, 2)
    assert Customer.objects.count() == 2


def test_the_progress_part_polls_while_running_and_stops_when_done(web: Client) -> None:
    job = uploaded_job(web)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, total_rows=3, processed_rows=1)
    running = web.get(f"/imports/{job.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert f'hx-get="/imports/{job.pk}/progress/"' in running
    assert "33%" in running
    assert 'data-testid="cancel-import"' in running
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, processed_rows=3)
    done = web.get(f"/imports/{job.pk}/progress/").content.decode()
    assert "hx-trigger" not in done
    assert "100%" in done


def test_cancel_stops_a_running_import(web: Client) -> None:
    job = uploaded_job(web)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    response = web.post(f"/imports/{job.pk}/cancel/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert 'data-testid="resume-import"' in web.get(f"/imports/{job.pk}/").content.decode()


# ---------------------------------------------------------------- the list, the buttons


def test_the_list_shows_the_users_own_imports(web: Client, other_rep: Any) -> None:
    mine = uploaded_job(web)
    other = Client()
    other.force_login(other_rep)
    theirs = uploaded_job(other, name="theirs.csv")
    html = web.get("/imports/").content.decode()
    assert f'data-job="{mine.pk}"' in html
    assert f'data-job="{theirs.pk}"' not in html
    assert 'data-testid="new-import"' in html


def test_an_admin_sees_everyones_imports(web: Client, admin_user: Any) -> None:
    job = uploaded_job(web)
    boss = Client()
    boss.force_login(admin_user)
    assert f'data-job="{job.pk}"' in boss.get("/imports/").content.decode()
    assert boss.get(f"/imports/{job.pk}/").status_code == 200


def test_the_list_of_imports_needs_few_queries(
    web: Client, django_assert_max_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for _ in range(3):
        uploaded_job(web)
    with django_assert_max_num_queries(12):
        assert web.get("/imports/").status_code == 200


def test_record_lists_offer_the_import_button_to_users_who_may_add(web: Client, reader: Any) -> None:
    html = web.get("/customers/").content.decode()
    assert 'href="/imports/new/?type=customer"' in html
    assert 'href="/imports/"' in html  # the Data menu's link
    reading = Client()
    reading.force_login(reader)
    html = reading.get("/customers/").content.decode()
    assert "/imports/new/" not in html
    assert 'href="/imports/"' not in html


# ---------------------------------------------------------------- who may not


def test_a_read_only_user_cannot_import(reader: Any) -> None:
    client = Client()
    client.force_login(reader)
    assert client.get("/imports/new/").status_code == 403
    assert upload(client).status_code == 403
    assert not ImportJob.objects.exists()


def test_a_rep_cannot_import_a_type_they_may_not_add(web: Client) -> None:
    html = web.get("/imports/new/").content.decode()
    assert 'value="product"' not in html  # the catalogue is the managers'
    response = upload(web, record_type="product")
    assert response.status_code == 422
    assert not ImportJob.objects.exists()


def test_another_users_job_answers_404(web: Client, other_rep: Any) -> None:
    job = uploaded_job(web)
    other = Client()
    other.force_login(other_rep)
    for path in ("", "mapping/", "progress/", "rejected.csv"):
        assert other.get(f"/imports/{job.pk}/{path}").status_code == 404, path
    for path in ("run/", "cancel/", "sheet/", "mapping/"):
        assert other.post(f"/imports/{job.pk}/{path}").status_code == 404, path
    job.refresh_from_db()
    assert job.status == ImportStatus.NEW


def test_an_unknown_job_answers_404(web: Client) -> None:
    assert web.get("/imports/999999/").status_code == 404


def test_run_and_cancel_answer_405_to_get(web: Client) -> None:
    job = uploaded_job(web)
    assert web.get(f"/imports/{job.pk}/run/").status_code == 405
    assert web.get(f"/imports/{job.pk}/cancel/").status_code == 405


def test_the_wizard_needs_a_login() -> None:
    response = Client().get("/imports/new/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_polled_progress_part_needs_few_queries(
    web: Client, django_assert_max_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = uploaded_job(web)
    run_dry(web, job, django_capture_on_commit_callbacks)  # counts, reasons and rejected rows to show
    with django_assert_max_num_queries(10):
        assert web.get(f"/imports/{job.pk}/progress/").status_code == 200


def test_the_upload_checks_the_csrf_token(rep: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    assert upload(client).status_code == 403
    assert not ImportJob.objects.exists()


def test_a_job_left_queued_says_that_a_task_worker_must_be_running(web: Client) -> None:
    import datetime

    from django.utils import timezone

    job = uploaded_job(web)
    queued_at = timezone.now() - datetime.timedelta(minutes=2)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED, heartbeat_at=queued_at)
    html = web.get(f"/imports/{job.pk}/progress/").content.decode()
    assert 'data-testid="waiting-for-worker"' in html
    assert "kehu worker" in html

    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())  # just queued
    assert 'data-testid="waiting-for-worker"' not in web.get(f"/imports/{job.pk}/progress/").content.decode()
