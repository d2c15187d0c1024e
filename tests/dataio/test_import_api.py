"""The imports API with a bearer token: upload → mapping → dry run → run → rejected rows, the
importable fields, problem+json errors, token scopes and whose jobs a caller sees."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kehu.accounts.services import token_create
from kehu.customers.models import Customer
from kehu.dataio.imports.models import ImportJob, ImportStatus
from kehu.platform.context import Context, Source
from tests.api.support import API, ApiClient, assert_problem, error_fields
from tests.dataio.import_ui_support import GOOD_ROWS, HEADERS, csv_bytes, upload_file


def post_file(api: ApiClient, content: bytes | None = None, name: str = "customers.csv", **fields: Any) -> Any:
    data: dict[str, Any] = {"record_type": "customer", "file": upload_file(content, name)}
    data.update({key: value for key, value in fields.items() if value is not None})
    return api.client.post(f"{API}/imports/", data, HTTP_AUTHORIZATION=f"Bearer {api.token}")


@pytest.fixture
def api_as(db: Any) -> Any:
    """``api_as(user, scopes="write")`` → an ApiClient holding a fresh token of ``user``."""

    def make(user: Any, scopes: str = "write") -> ApiClient:
        _token, raw = token_create(ctx=Context(user=user, source=Source.CLI), user=user, scopes=scopes.split(","))
        return ApiClient(raw)

    return make


@pytest.fixture
def rep_api(api_as: Any, rep: Any) -> ApiClient:
    return api_as(rep)


def test_upload_answers_201_with_headers_and_proposed_mapping(rep_api: ApiClient, rep: Any) -> None:
    response = post_file(rep_api, csv_bytes(encoding="gb18030"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "new"
    assert body["headers"] == HEADERS
    assert body["mapping"]["客户名称"] == "name"
    assert body["encoding"] == "gb18030"
    assert body["counts"] == {"created": 0, "updated": 0, "skipped": 0, "rejected": 0}
    assert body["links"]["self"] == f"/api/v1/imports/{body['id']}/"
    assert ImportJob.objects.get(pk=body["id"]).created_by == rep


def test_the_whole_flow_through_the_api(rep_api: ApiClient, django_capture_on_commit_callbacks: Any) -> None:
    job_id = post_file(rep_api).json()["id"]
    patched = rep_api.patch(f"/imports/{job_id}/", {"mapping": {"城市": ""}, "match_on": ["phone"]})
    assert patched.status_code == 200, patched.content
    assert patched.json()["mapping"]["城市"] == ""
    assert patched.json()["match_on"] == ["phone"]
    with django_capture_on_commit_callbacks(execute=True):
        dry = rep_api.post(f"/imports/{job_id}/run/", {"dry_run": True})
    assert dry.status_code == 202, dry.content
    body = rep_api.get(f"/imports/{job_id}/").json()
    assert (body["status"], body["dry_run"]) == ("done", True)
    assert body["counts"]["created"] == 2
    assert body["counts"]["rejected"] == 1
    assert not Customer.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        real = rep_api.post(f"/imports/{job_id}/run/", {"dry_run": False})
    assert real.status_code == 202
    body = rep_api.get(f"/imports/{job_id}/").json()
    assert (body["status"], body["dry_run"], body["counts"]["created"]) == ("done", False, 2)
    assert set(Customer.objects.values_list("name", flat=True)) == {row[0] for row in GOOD_ROWS}
    rejected = rep_api.get(f"/imports/{job_id}/rejected/")
    assert rejected.status_code == 200
    assert rejected["Content-Type"].startswith("text/csv")
    text = b"".join(rejected.streaming_content).decode("utf-8").lstrip("\ufeff")
    assert text.splitlines()[1].startswith("4,")
    # once done, the job cannot change or run again
    assert_problem(rep_api.patch(f"/imports/{job_id}/", {"on_duplicate": "update"}), 409)
    assert_problem(rep_api.post(f"/imports/{job_id}/run/", {"dry_run": False}), 409)


def test_upload_with_start_runs_at_once(rep_api: ApiClient, django_capture_on_commit_callbacks: Any) -> None:
    mapping = json.dumps({"客户名称": "name", "手机号码": "phone", "邮箱": "email", "城市": "city"}, ensure_ascii=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(rep_api, mapping=mapping, match_on="email,phone", start="true", dry_run="true")
    assert response.status_code == 201, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.match_on == ["email", "phone"]
    assert (job.status, job.dry_run, job.created_count) == (ImportStatus.DONE, True, 2)


def test_list_pages_like_other_lists(rep_api: ApiClient) -> None:
    ids = [post_file(rep_api).json()["id"] for _ in range(3)]
    body = rep_api.get("/imports/", {"limit": 2, "offset": 0}).json()
    assert body["count"] == 3
    assert [item["id"] for item in body["items"]] == sorted(ids, reverse=True)[:2]


def test_importable_fields_of_a_type(rep_api: ApiClient) -> None:
    response = rep_api.get("/imports/fields/customer/")
    assert response.status_code == 200
    fields = {item["name"]: item for item in response.json()}
    assert fields["name"]["required"] is True
    assert fields["phone"]["kind"] == "phone"
    assert "tags" in fields
    assert rep_api.get("/imports/fields/customers/").status_code == 200  # the plural works too
    assert_problem(rep_api.get("/imports/fields/spaceship/"), 404)


def test_cancel_a_running_import(rep_api: ApiClient) -> None:
    job_id = post_file(rep_api).json()["id"]
    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.RUNNING)
    response = rep_api.post(f"/imports/{job_id}/cancel/", {})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert_problem(rep_api.post(f"/imports/{job_id}/cancel/", {}), 409)


def test_patch_while_running_answers_409(rep_api: ApiClient) -> None:
    job_id = post_file(rep_api).json()["id"]
    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.RUNNING)
    assert_problem(rep_api.patch(f"/imports/{job_id}/", {"on_duplicate": "update"}), 409)
    assert_problem(rep_api.post(f"/imports/{job_id}/run/", {"dry_run": True}), 409)


# ---------------------------------------------------------------- bad input


def test_a_file_of_another_type_is_a_problem(rep_api: ApiClient) -> None:
    body = assert_problem(post_file(rep_api, b"%PDF-1.4", name="scan.pdf"), 422)
    assert "file" in error_fields(body)
    assert not ImportJob.objects.exists()


def test_an_empty_file_is_a_problem(rep_api: ApiClient) -> None:
    body = assert_problem(post_file(rep_api, b"", name="empty.csv"), 422)
    assert "file" in error_fields(body)


def test_a_file_over_the_limit_is_a_problem(rep_api: ApiClient, settings: Any) -> None:
    settings.KEHU_IMPORT_MAX_MB = 0.01  # about 10 KB
    read = assert_problem(post_file(rep_api, csv_bytes(GOOD_ROWS * 150)), 413)  # ~16 KB: read, then refused
    assert "an import takes at most" in read["detail"]
    unread = assert_problem(post_file(rep_api, csv_bytes(GOOD_ROWS * 4000)), 413)  # by its Content-Length
    assert "larger than" in unread["detail"]
    assert not ImportJob.objects.exists()


def test_an_unknown_type_is_a_problem(rep_api: ApiClient) -> None:
    body = assert_problem(post_file(rep_api, record_type="spaceship"), 422)
    assert "record_type" in error_fields(body)


def test_an_unknown_field_is_a_problem_next_to_its_column(rep_api: ApiClient) -> None:
    job_id = post_file(rep_api).json()["id"]
    body = assert_problem(rep_api.patch(f"/imports/{job_id}/", {"mapping": {"城市": "planet"}}), 422)
    assert "城市" in error_fields(body)


def test_a_mapping_that_is_not_json_is_a_problem(rep_api: ApiClient) -> None:
    body = assert_problem(post_file(rep_api, mapping="{not json"), 422)
    assert "mapping" in error_fields(body)
    assert not ImportJob.objects.exists()


def test_a_bad_duplicate_policy_is_a_problem(rep_api: ApiClient) -> None:
    job_id = post_file(rep_api).json()["id"]
    body = assert_problem(rep_api.patch(f"/imports/{job_id}/", {"on_duplicate": "explode"}), 422)
    assert "on_duplicate" in error_fields(body)


# ---------------------------------------------------------------- who may not


def test_a_read_only_user_cannot_import(api_as: Any, reader: Any) -> None:
    assert_problem(post_file(api_as(reader)), 403)
    assert not ImportJob.objects.exists()


def test_a_read_scope_token_cannot_import(api_as: Any, rep: Any) -> None:
    assert_problem(post_file(api_as(rep, "read")), 403)
    assert not ImportJob.objects.exists()


def test_a_read_scope_token_cannot_run_or_cancel(api_as: Any, rep: Any, rep_api: ApiClient) -> None:
    job_id = post_file(rep_api).json()["id"]
    reading = api_as(rep, "read")
    assert reading.get(f"/imports/{job_id}/").status_code == 200
    assert_problem(reading.post(f"/imports/{job_id}/run/", {"dry_run": True}), 403)
    assert_problem(reading.post(f"/imports/{job_id}/cancel/", {}), 403)
    assert_problem(reading.patch(f"/imports/{job_id}/", {"on_duplicate": "update"}), 403)
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.NEW


def test_another_users_job_answers_404(rep_api: ApiClient, api_as: Any, other_rep: Any) -> None:
    job_id = post_file(rep_api).json()["id"]
    other = api_as(other_rep)
    assert_problem(other.get(f"/imports/{job_id}/"), 404)
    assert_problem(other.get(f"/imports/{job_id}/rejected/"), 404)
    assert_problem(other.patch(f"/imports/{job_id}/", {"on_duplicate": "update"}), 404)
    assert_problem(other.post(f"/imports/{job_id}/run/", {"dry_run": True}), 404)
    assert_problem(other.post(f"/imports/{job_id}/cancel/", {}), 404)
    assert other.get("/imports/").json()["count"] == 0


def test_no_token_answers_401() -> None:
    assert_problem(ApiClient().get("/imports/"), 401)
