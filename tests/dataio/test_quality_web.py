"""The data quality pages, API and command: who may see and change what, and that every
report link leads to exactly the records it counts (web list, API list, export)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from kehu.accounts.services import token_create
from kehu.dataio.quality import services
from kehu.dataio.quality.models import QualityFinding, QualityPolicy
from kehu.platform.context import Context, Source
from kehu.platform.records import registry
from tests.api.support import ApiClient, assert_problem
from tests.dataio.quality_support import store_raw

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_as(user: Any, scopes: str = "write") -> ApiClient:
    _token, raw = token_create(ctx=Context(user=user, source=Source.CLI), user=user, scopes=scopes.split(","))
    return ApiClient(raw)


@pytest.fixture
def manager(make_user: Any, east: Any) -> Any:
    return make_user("quality_boss", "manager", "East sales")


@pytest.fixture
def flagged(rep: Any, other_rep: Any, make_customer: Any) -> dict[str, Any]:
    made = {
        "good": make_customer(rep, name="Good phone Co", phone="13812345678"),
        "uk": make_customer(rep, name="UK phone Ltd", phone="+442079460958"),
        "bad": make_customer(rep, name="Bad phone Co", email="ok@example.com"),
        "theirs": make_customer(other_rep, name="South bad phone Co"),
    }
    store_raw(made["bad"], phone="12345")
    store_raw(made["theirs"], phone="12345")
    services.scan_type(registry["customer"])
    return made


# ---------------------------------------------------------------- the report page


def test_report_page_shows_counts_of_visible_records_with_links(flagged: dict[str, Any], rep: Any) -> None:
    response = logged_in(rep).get("/data-quality/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/customers/?quality=invalid_phone"' in body
    assert 'data-count="1"' in body  # one of the two bad phones is the rep's
    assert "Scan now" not in body  # reps do not start scans


def test_report_page_needs_login() -> None:
    response = Client().get("/data-quality/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_report_link_lists_exactly_the_flagged_records(flagged: dict[str, Any], rep: Any) -> None:
    body = logged_in(rep).get("/customers/?quality=invalid_phone").content.decode()
    assert "Bad phone Co" in body
    assert "Good phone Co" not in body
    assert "UK phone Ltd" not in body
    assert "South bad phone Co" not in body


def test_export_takes_the_quality_filter(flagged: dict[str, Any], rep: Any) -> None:
    response = logged_in(rep).get("/customers/export.csv?quality=invalid_phone")
    assert response.status_code == 200
    text = (
        b"".join(response.streaming_content).decode("utf-8-sig")
        if response.streaming
        else response.content.decode("utf-8-sig")
    )
    assert "Bad phone Co" in text
    assert "Good phone Co" not in text
    assert "South bad phone Co" not in text


def test_data_quality_is_in_the_data_menu(rep: Any) -> None:
    groups = registry.navigation(rep, "/data-quality/")
    data = next(group for group in groups if group.key == "data")
    item = next(item for item in data.items if item.key == "data_quality")
    assert item.href == "/data-quality/"
    assert item.active


# ---------------------------------------------------------------- scan now


def test_rep_cannot_start_a_scan(flagged: dict[str, Any], rep: Any) -> None:
    assert logged_in(rep).post("/data-quality/scan/").status_code == 403


def test_admin_scan_now_replaces_findings(flagged: dict[str, Any], admin_user: Any) -> None:
    store_raw(flagged["good"], phone="54321")
    client = logged_in(admin_user)
    assert "Scan now" in client.get("/data-quality/").content.decode()
    response = client.post("/data-quality/scan/", {"type": "customer"})
    assert response.status_code == 302
    assert response["Location"] == "/data-quality/"
    # the test settings run tasks at once
    assert set(QualityFinding.objects.values_list("record_id", flat=True)) == {
        flagged["bad"].pk,
        flagged["theirs"].pk,
        flagged["good"].pk,
    }


def test_scan_now_refuses_get(admin_user: Any) -> None:
    assert logged_in(admin_user).get("/data-quality/scan/").status_code == 405


# ---------------------------------------------------------------- the policy page


@pytest.mark.parametrize("who", ["rep", "reader"])
def test_policy_page_is_for_admins_and_managers_only(who: str, request: Any) -> None:
    user = request.getfixturevalue(who)
    client = logged_in(user)
    assert client.get("/settings/data-quality/").status_code == 403
    assert client.post("/settings/data-quality/?type=customer", {"required_fields": ["industry"]}).status_code == 403
    assert not QualityPolicy.objects.exists()


def test_manager_saves_the_policy_and_the_report_follows(manager: Any, rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="No industry")
    client = logged_in(manager)
    page = client.get("/settings/data-quality/?type=customer")
    assert page.status_code == 200
    assert 'value="industry"' in page.content.decode()
    response = client.post(
        "/settings/data-quality/?type=customer", {"required_fields": ["industry", "email"], "inactive_months": "12"}
    )
    assert response.status_code == 302
    policy = QualityPolicy.objects.get(record_type="customer")
    assert policy.required_fields == ["industry", "email"]
    assert policy.inactive_months == 12
    body = logged_in(rep).get("/data-quality/").content.decode()
    assert 'href="/customers/?quality=missing_industry"' in body
    assert "No activity for 12 months" in body


def test_policy_page_refuses_bad_months(admin_user: Any) -> None:
    response = logged_in(admin_user).post("/settings/data-quality/?type=customer", {"inactive_months": "0"})
    assert response.status_code == 422
    assert not QualityPolicy.objects.exists()


def test_policy_page_of_contacts_has_no_inactivity(admin_user: Any) -> None:
    body = logged_in(admin_user).get("/settings/data-quality/?type=contact").content.decode()
    assert 'name="inactive_months"' not in body
    assert 'value="mobile"' in body


# ---------------------------------------------------------------- API


def test_api_report_counts_only_visible_records(flagged: dict[str, Any], rep: Any, admin_user: Any) -> None:
    response = api_as(rep, "read").get("/data-quality/", {"type": "customer"})
    assert response.status_code == 200, response.content
    (customers,) = response.json()["items"]
    finding = next(f for f in customers["findings"] if f["code"] == "invalid_phone")
    assert finding["count"] == 1
    assert finding["url"] == "/customers/?quality=invalid_phone"
    listed = api_as(rep, "read").get("/customers/", {"quality": "invalid_phone"}).json()
    assert [item["id"] for item in listed["items"]] == [flagged["bad"].pk]
    assert listed["count"] == 1
    everyone = api_as(admin_user, "read").get("/data-quality/", {"type": "customer"}).json()["items"][0]
    assert next(f for f in everyone["findings"] if f["code"] == "invalid_phone")["count"] == 2


def test_api_list_refuses_an_unknown_quality_code(rep: Any) -> None:
    assert_problem(api_as(rep, "read").get("/customers/", {"quality": "nonsense"}), 422)


def test_api_report_refuses_an_unknown_type(rep: Any) -> None:
    assert_problem(api_as(rep, "read").get("/data-quality/", {"type": "spaceship"}), 422)


def test_api_scan_needs_the_permission_and_a_write_token(flagged: dict[str, Any], rep: Any, admin_user: Any) -> None:
    assert_problem(api_as(rep).post("/data-quality/scan/", {}), 403)
    assert_problem(api_as(admin_user, "read").post("/data-quality/scan/", {}), 403)
    response = api_as(admin_user).post("/data-quality/scan/", {"types": ["customer"]})
    assert response.status_code == 202, response.content
    assert response.json() == {"queued": ["customer"]}


def test_api_scan_refuses_an_unknown_type(admin_user: Any) -> None:
    assert_problem(api_as(admin_user).post("/data-quality/scan/", {"types": ["spaceship"]}), 422)


# ---------------------------------------------------------------- command line


def test_command_scans_then_prints_the_report(rep: Any, make_customer: Any, capsys: Any) -> None:
    bad = make_customer(rep, name="CLI bad")
    store_raw(bad, email="not-an-email")
    call_command("quality", "scan", "--type", "customer")
    out = capsys.readouterr().out
    assert "customer: 1 records checked" in out
    line = next(row for row in out.splitlines() if "invalid_email" in row)
    assert line.split()[0] == "customer"
    assert line.split()[-2] == "1"
    assert "/customers/?quality=invalid_email" in line


def test_command_report_as_a_user_counts_what_they_see(flagged: dict[str, Any], rep: Any, capsys: Any) -> None:
    call_command("quality", "report", "--type", "customer", "--user", "rep")
    line = next(
        row for row in capsys.readouterr().out.splitlines() if row.startswith("customer") and "invalid_phone " in row
    )
    assert line.split()[-2] == "1"


def test_command_refuses_an_unknown_type() -> None:
    with pytest.raises(CommandError, match="Unknown record type"):
        call_command("quality", "scan", "--type", "spaceship")


def test_api_policy_patch_by_manager_and_refusals(manager: Any, rep: Any) -> None:
    client = api_as(manager)
    response = client.patch("/data-quality/policies/customer/", {"required_fields": ["industry"], "inactive_months": 3})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["required_fields"] == ["industry"]
    assert body["inactive_months"] == 3
    assert "industry" in body["choices"]
    assert client.get("/data-quality/policies/customer/").json()["inactive_months"] == 3
    assert_problem(client.patch("/data-quality/policies/customer/", {"required_fields": ["nope"]}), 422)
    assert_problem(api_as(manager, "read").patch("/data-quality/policies/customer/", {"inactive_months": 4}), 403)
    assert_problem(api_as(rep).patch("/data-quality/policies/customer/", {"inactive_months": 4}), 403)
    assert_problem(api_as(rep).get("/data-quality/policies/customer/"), 403)
    assert_problem(client.get("/data-quality/policies/spaceship/"), 422)
    assert QualityPolicy.objects.get(record_type="customer").inactive_months == 3


def test_report_page_lists_types_without_checks_in_one_line(admin_user: Any) -> None:
    body = logged_in(admin_user).get("/data-quality/").content.decode()
    assert 'data-testid="quality-customer"' in body
    assert 'data-testid="quality-product"' not in body  # products have nothing to check yet
    assert 'data-testid="quality-unchecked"' in body


def test_report_page_queries_do_not_grow_with_records(
    rep: Any, make_customer: Any, django_assert_max_num_queries: Any
) -> None:
    client = logged_in(rep)
    make_customer(rep, name="One")
    client.get("/data-quality/")  # warm caches (content types, session)
    with django_assert_max_num_queries(40) as few:
        client.get("/data-quality/")
    for n in range(10):
        store_raw(make_customer(rep, name=f"More {n}"), phone="12345")
    services.scan_type(registry["customer"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/data-quality/")
