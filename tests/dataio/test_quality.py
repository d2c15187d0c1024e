"""The data quality checks: invalid stored phones and emails (found by the scan), fields
missing by policy and inactive customers (by query); the ``quality`` list filter returns
exactly the records the report counts, for the records the reader may see."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from kehu.customers.models import Contact, Customer
from kehu.dataio.quality import checks, services
from kehu.dataio.quality.models import QualityFinding, QualityPolicy, QualityScan
from kehu.platform import crypto
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditEntry
from kehu.platform.records import registry
from kehu.platform.selectors import record_list
from kehu.platform.services import record_delete, record_update
from tests.dataio.quality_support import age, log_interaction, store_raw, store_raw_custom

pytestmark = pytest.mark.django_db


def cli(user: Any) -> Context:
    return Context(user=user, source=Source.CLI)


def ids(queryset: Any) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def listed(user: Any, key: str, code: str) -> set[int]:
    return ids(record_list(registry[key], user=user, params={"quality": code}))


def counts(user: Any, key: str) -> dict[str, int]:
    (found,) = services.report(user, [key])
    return {row.code: row.count for row in found.rows}


@pytest.fixture
def customers(rep: Any, make_customer: Any) -> dict[str, Any]:
    """A valid Chinese mobile, a +44 UK number, and two bad values stored past validation."""
    made = {
        "cn": make_customer(rep, name="Valid CN", phone="13812345678", email="li@example.cn"),
        "uk": make_customer(rep, name="Valid UK", phone="+44 20 7946 0958", email="bob@example.co.uk"),
        "bad_phone": make_customer(rep, name="Bad phone", email="ok@example.com"),
        "bad_email": make_customer(rep, name="Bad email", phone="13912345678"),
        "blank": make_customer(rep, name="Blank"),
    }
    store_raw(made["bad_phone"], phone="12345")
    store_raw(made["bad_email"], email="not-an-email")
    return made


# ---------------------------------------------------------------- values


def test_phone_check_accepts_chinese_mobile_and_uk_number_and_refuses_12345() -> None:
    assert checks.value_is_valid("phone", "+8613812345678")
    assert checks.value_is_valid("phone", "13812345678")
    assert checks.value_is_valid("phone", "+442079460958")
    assert not checks.value_is_valid("phone", "12345")
    assert checks.value_is_valid("phone", "")  # blank is the policy's business


def test_email_check_refuses_not_an_email() -> None:
    assert checks.value_is_valid("email", "li@example.cn")
    assert not checks.value_is_valid("email", "not-an-email")
    assert not checks.value_is_valid("email", "a@b")


def test_a_bad_value_is_stored_encrypted_by_the_helper(customers: dict[str, Any]) -> None:
    assert Customer.objects.get(pk=customers["bad_phone"].pk).phone == "12345"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone FROM {Customer._meta.db_table} WHERE id = %s", [customers["bad_phone"].pk])
        token = cursor.fetchone()[0]
    assert crypto.is_token(token)
    assert crypto.decrypt(token, purpose="field:phone") == "12345"


# ---------------------------------------------------------------- the scan


def test_scan_finds_exactly_the_invalid_phone_and_email(customers: dict[str, Any]) -> None:
    result = services.scan_type(registry["customer"])
    assert result.records == 5
    assert result.by_code == {"invalid_phone": 1, "invalid_email": 1}
    assert result.seconds > 0
    found = set(QualityFinding.objects.values_list("record_type", "code", "record_id", "field"))
    assert found == {
        ("customer", "invalid_phone", customers["bad_phone"].pk, "phone"),
        ("customer", "invalid_email", customers["bad_email"].pk, "email"),
    }
    scan = QualityScan.objects.get(record_type="customer")
    assert scan.records == 5
    assert scan.findings == 2


def test_scan_checks_every_phone_field_of_contacts(rep: Any, make_customer: Any, make_contact: Any) -> None:
    parent = make_customer(rep, name="Parent")
    good = make_contact(rep, parent, name="Good", mobile="13812345678", phone="+442079460958")
    bad = make_contact(rep, parent, name="Bad", mobile="13812345679")
    store_raw(bad, phone="12345", email="not-an-email")
    services.scan_type(registry["contact"], batch_size=1)  # batches of one: every batch boundary
    found = set(QualityFinding.objects.filter(record_type="contact").values_list("record_id", "code", "field"))
    assert found == {(bad.pk, "invalid_phone", "phone"), (bad.pk, "invalid_email", "email")}
    assert listed(rep, "contact", "invalid_phone") == {bad.pk}
    assert listed(rep, "contact", "invalid_phone:phone") == {bad.pk}
    assert listed(rep, "contact", "invalid_phone:mobile") == set()
    assert good.pk not in listed(rep, "contact", "invalid_email")


def test_scan_checks_phone_and_email_custom_fields(rep: Any, make_customer: Any, define: Any) -> None:
    define("wechat_phone", "phone")
    define("billing_email", "email")
    good = make_customer(rep, name="Good", custom={"wechat_phone": "+442079460958", "billing_email": "a@b.cn"})
    bad = make_customer(rep, name="Bad")
    store_raw_custom(bad, wechat_phone="12345", billing_email="not-an-email")
    services.scan_type(registry["customer"])
    found = set(QualityFinding.objects.values_list("record_id", "code", "field"))
    assert found == {
        (bad.pk, "invalid_phone", "custom.wechat_phone"),
        (bad.pk, "invalid_email", "custom.billing_email"),
    }
    assert listed(rep, "customer", "invalid_phone:custom.wechat_phone") == {bad.pk}
    assert good.pk not in listed(rep, "customer", "invalid_email")


def test_a_new_scan_replaces_the_findings_of_its_type(customers: dict[str, Any], rep: Any) -> None:
    services.scan_type(registry["customer"])
    store_raw(customers["bad_phone"], phone="13812345678")  # fixed behind the services' back
    services.scan_type(registry["customer"])
    assert set(QualityFinding.objects.values_list("code", flat=True)) == {"invalid_email"}


@pytest.mark.django_db(transaction=True)  # the findings follow committed writes (events after commit)
def test_rewriting_a_value_through_the_services_drops_its_finding(customers: dict[str, Any], rep: Any) -> None:
    services.scan_type(registry["customer"])
    obj = Customer.objects.get(pk=customers["bad_phone"].pk)
    record_update(registry["customer"], ctx=cli(rep), obj=obj, data={"phone": "13700000000"})
    assert listed(rep, "customer", "invalid_phone") == set()
    assert listed(rep, "customer", "invalid_email") == {customers["bad_email"].pk}


def test_records_in_the_trash_are_not_counted(customers: dict[str, Any], rep: Any) -> None:
    services.scan_type(registry["customer"])
    record_delete(registry["customer"], ctx=cli(rep), obj=Customer.objects.get(pk=customers["bad_phone"].pk))
    assert counts(rep, "customer")["invalid_phone"] == 0
    assert listed(rep, "customer", "invalid_phone") == set()
    assert services.scan_type(registry["customer"]).records == 4  # the scan skips it too


def test_housekeeping_sweep_scans_at_most_daily(customers: dict[str, Any]) -> None:
    from kehu.dataio.quality.tasks import quality_sweep

    assert "customer" in services.due_for_scan()
    first = quality_sweep.call()
    assert first["customer"]["findings"] == 2
    assert "customer" not in services.due_for_scan()
    assert quality_sweep.call() == {}  # nothing due again the same day


# ---------------------------------------------------------------- missing by policy


def test_missing_required_fields_by_query(rep: Any, admin_user: Any, make_customer: Any, define: Any) -> None:
    define("region_code", "text")
    services.policy_update(
        cli(admin_user), registry["customer"], {"required_fields": ["industry", "email", "grade", "custom.region_code"]}
    )
    full = make_customer(
        rep, name="Full", industry="Retail", email="x@example.com", grade="A", custom={"region_code": "E1"}
    )
    no_industry = make_customer(rep, name="No industry", email="y@example.com", grade="A", custom={"region_code": "E2"})
    no_custom = make_customer(rep, name="No custom", industry="Retail", email="z@example.com", grade="A")
    empty_custom = make_customer(
        rep, name="Empty custom", industry="Retail", email="w@example.com", grade="A", custom={"region_code": ""}
    )
    assert listed(rep, "customer", "missing_industry") == {no_industry.pk}
    assert listed(rep, "customer", "missing_email") == set()
    assert listed(rep, "customer", "missing_cf_region_code") == {no_custom.pk, empty_custom.pk}
    assert full.pk not in listed(rep, "customer", "missing_grade")
    found = counts(rep, "customer")
    assert found["missing_industry"] == 1
    assert found["missing_cf_region_code"] == 2
    assert found["missing_email"] == 0


def test_missing_grade_counts_null_foreign_keys(rep: Any, admin_user: Any, make_customer: Any) -> None:
    services.policy_update(cli(admin_user), registry["customer"], {"required_fields": ["grade"]})
    graded = make_customer(rep, name="Graded", grade="A")
    ungraded = make_customer(rep, name="Ungraded")
    assert listed(rep, "customer", "missing_grade") == {ungraded.pk}
    assert graded.pk not in listed(rep, "customer", "missing_grade")


def test_a_code_outside_the_policy_is_a_validation_error(rep: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        listed(rep, "customer", "missing_industry")  # industry is not required yet
    assert "quality" in caught.value.message_dict
    with pytest.raises(ValidationError):
        listed(rep, "contact", "inactive")  # only customers go inactive


# ---------------------------------------------------------------- inactivity


def test_inactive_customers_by_interaction_date(rep: Any, make_customer: Any) -> None:
    quiet = make_customer(rep, name="Quiet")
    talked_lately = make_customer(rep, name="Talked lately")
    talked_long_ago = make_customer(rep, name="Talked long ago")
    new = make_customer(rep, name="New")
    for old in (quiet, talked_lately, talked_long_ago):
        age(old, 400)
    log_interaction(rep, talked_lately, days_ago=30)
    log_interaction(rep, talked_long_ago, days_ago=300)
    assert listed(rep, "customer", "inactive") == {quiet.pk, talked_long_ago.pk}
    assert new.pk not in listed(rep, "customer", "inactive")  # created within the months
    assert counts(rep, "customer")["inactive"] == 2


def test_inactivity_threshold_follows_the_policy(rep: Any, admin_user: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Four months")
    age(customer, 400)
    log_interaction(rep, customer, days_ago=120)
    assert listed(rep, "customer", "inactive") == set()  # 6 months by default
    services.policy_update(cli(admin_user), registry["customer"], {"inactive_months": 3})
    assert listed(rep, "customer", "inactive") == {customer.pk}


def test_an_interaction_in_the_trash_is_no_activity(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Only a deleted call")
    age(customer, 400)
    call = log_interaction(rep, customer, days_ago=10)
    assert listed(rep, "customer", "inactive") == set()
    record_delete(registry["interaction"], ctx=cli(rep), obj=call)
    assert listed(rep, "customer", "inactive") == {customer.pk}


# ---------------------------------------------------------------- visibility


def test_rep_sees_counts_only_for_records_they_may_see(
    customers: dict[str, Any], rep: Any, other_rep: Any, admin_user: Any, make_customer: Any
) -> None:
    theirs = make_customer(other_rep, name="Other team bad phone")
    store_raw(theirs, phone="12345")
    services.scan_type(registry["customer"])
    assert counts(rep, "customer")["invalid_phone"] == 1
    assert counts(other_rep, "customer")["invalid_phone"] == 1
    assert counts(admin_user, "customer")["invalid_phone"] == 2
    assert listed(rep, "customer", "invalid_phone") == {customers["bad_phone"].pk}
    assert listed(other_rep, "customer", "invalid_phone") == {theirs.pk}
    (rep_report,) = services.report(rep, ["customer"])
    assert rep_report.total == 5


def test_report_lists_only_types_the_user_may_view(rep: Any, reader: Any) -> None:
    keys = {r.key for r in services.report(rep)}
    assert "customer" in keys
    assert "contact" in keys
    assert all(services.report(reader))  # read-only users see the report of what they read


def test_report_links_filter_the_list_to_the_counted_records(customers: dict[str, Any], rep: Any) -> None:
    services.scan_type(registry["customer"])
    (found,) = services.report(rep, ["customer"])
    row = next(r for r in found.rows if r.code == "invalid_email")
    assert row.url == "/customers/?quality=invalid_email"
    assert row.api_url == "/api/v1/customers/?quality=invalid_email"
    assert row.count == len(listed(rep, "customer", "invalid_email")) == 1


# ---------------------------------------------------------------- policies


def test_policy_update_is_audited_and_validated(admin_user: Any) -> None:
    policy = services.policy_update(
        cli(admin_user), registry["customer"], {"required_fields": ["industry"], "inactive_months": 9}
    )
    assert policy.required_fields == ["industry"]
    assert policy.inactive_months == 9
    entry = AuditEntry.objects.filter(object_id=policy.pk).latest("id")
    assert entry.changes["inactive_months"] == [6, 9]
    with pytest.raises(ValidationError) as caught:
        services.policy_update(cli(admin_user), registry["customer"], {"required_fields": ["no_such_field"]})
    assert "required_fields" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.policy_update(cli(admin_user), registry["customer"], {"inactive_months": 0})
    with pytest.raises(ValidationError):
        services.policy_update(cli(admin_user), registry["customer"], {"name": "x"})
    assert QualityPolicy.objects.get(record_type="customer").required_fields == ["industry"]


def test_rep_and_reader_cannot_change_the_policy(rep: Any, reader: Any) -> None:
    for user in (rep, reader):
        with pytest.raises(PermissionDenied):
            services.policy_update(cli(user), registry["customer"], {"required_fields": ["industry"]})
    assert not QualityPolicy.objects.exists()


def test_managers_may_change_the_policy_by_default(make_user: Any, east: Any) -> None:
    manager = make_user("quality_manager", "manager", "East sales")
    policy = services.policy_update(cli(manager), registry["contact"], {"required_fields": ["email"]})
    assert policy.required_fields == ["email"]


def test_policy_offers_blankable_fields_and_custom_fields_but_not_booleans(define: Any) -> None:
    define("vip", "boolean")
    define("budget", "money")
    names = {f.name for f in checks.policy_fields(registry["customer"])}
    assert {"industry", "phone", "email", "grade", "custom.budget"} <= names
    assert "name" not in names  # required by the model already
    assert "custom.vip" not in names
    assert Contact._meta.get_field("email").name in {f.name for f in checks.policy_fields(registry["contact"])}


def test_a_bulk_edit_of_other_fields_keeps_findings_in_one_query_per_field(
    customers: dict[str, Any], rep: Any, django_assert_max_num_queries: Any
) -> None:
    services.scan_type(registry["customer"])
    changed = {("customer", pk): {"owner", "industry"} for pk in range(1, 3000)}
    changed[("customer", customers["bad_email"].pk)] = {"email", "industry"}
    with django_assert_max_num_queries(3):
        assert services.forget_changed(changed) == 1
    assert listed(rep, "customer", "invalid_email") == set()
    assert listed(rep, "customer", "invalid_phone") == {customers["bad_phone"].pk}


def test_scanning_a_type_without_phone_or_email_fields_does_nothing(admin_user: Any) -> None:
    assert services.scan_types(["product"]) == []
    assert services.scan_request(cli(admin_user), ["product"]) == []
    assert not QualityScan.objects.exists()


def test_a_record_written_while_the_scan_runs_keeps_no_finding(customers: dict[str, Any]) -> None:
    later = timezone.now() + datetime.timedelta(minutes=1)  # as if saved after the scan read it
    Customer.objects.filter(pk=customers["bad_phone"].pk).update(updated_at=later)
    services.scan_type(registry["customer"])
    assert set(QualityFinding.objects.values_list("record_id", flat=True)) == {customers["bad_email"].pk}
