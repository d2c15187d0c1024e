"""The import engine through its services: encodings and headers mapped without help, the same
rules as forms and the API, duplicates, rejected rows with their line and reason, ownership,
dry runs, resuming, and the bulk create of the spine."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from kehu.customers.models import Contact, Customer
from kehu.dataio.imports import services
from kehu.dataio.imports.models import ImportJob, ImportStatus
from kehu.platform import services as record_services
from kehu.platform.context import Context, Source
from kehu.platform.fields import lookup_q
from kehu.platform.models import AuditAction, AuditEntry
from kehu.platform.records import registry
from tests.dataio.import_support import csv_bytes, rejected, run, upload, xlsx_bytes

pytestmark = pytest.mark.django_db

CHINESE_HEADERS = [
    "客户名称",
    "手机号码",
    "电子邮件",
    "所属行业",
    "城市",
    "省份",
    "详细地址",
    "邮编",
    "客户来源",
    "标签",
    "备注",
]
CHINESE_ROWS = [
    [
        "上海晨光科技有限公司",
        "138 1234 5678",
        "Sales@ChenGuang.cn",
        "制造业",
        "上海",
        "上海",
        "浦东新区张江路1号",
        "201203",
        "网站",
        "重点，华东",
        "老客户",
    ],
    ["北京远景贸易有限公司", "+86 139-0000-1111", "", "贸易", "北京", "北京", "", "", "转介绍", "", ""],
    ["广州南方物流", "020-8888 6666", "info@nanfang.com", "物流", "广州", "广东", "", "", "展会", "华南", ""],
]


def test_gb18030_file_with_chinese_headers_imports_without_a_manual_mapping(rep: Any) -> None:
    content = csv_bytes([CHINESE_HEADERS, *CHINESE_ROWS], encoding="gb18030")
    job = upload(rep, content)
    assert job.encoding == "gb18030"
    assert job.mapping == {
        "客户名称": "name",
        "手机号码": "phone",
        "电子邮件": "email",
        "所属行业": "industry",
        "城市": "city",
        "省份": "province",
        "详细地址": "street",
        "邮编": "postal_code",
        "客户来源": "source",
        "标签": "tags",
        "备注": "notes",
    }
    job = services.import_run(job)
    assert job.status == ImportStatus.DONE, job.error
    assert (job.created_count, job.rejected_count, job.processed_rows, job.total_rows) == (3, 0, 3, 3)
    customer = Customer.objects.get(name="上海晨光科技有限公司")
    assert customer.phone == "+8613812345678"
    assert customer.email == "sales@chenguang.cn"
    assert (customer.industry, customer.city, customer.street, customer.postal_code) == (
        "制造业",
        "上海",
        "浦东新区张江路1号",
        "201203",
    )
    assert customer.source == "website"  # the choice found by its Chinese label
    assert sorted(customer.tags.values_list("name", flat=True)) == ["华东", "重点"]
    assert customer.owner == rep
    assert customer.team_id == rep.team_id
    assert Customer.objects.get(lookup_q(Customer, "phone", "13812345678")).pk == customer.pk
    assert Customer.objects.get(name="广州南方物流").phone == "+862088886666"
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT phone, email FROM customers_customer WHERE id = %s", [customer.pk])
        phone, email = cursor.fetchone()
    assert "13812345678" not in phone
    assert "chenguang" not in email
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_id=customer.pk, content_type__model="customer")
    assert entry.source == Source.IMPORT
    assert entry.extra == {"import": job.pk}
    assert "13812345678" not in str(entry.changes)


def test_second_import_of_the_same_file_with_skip_creates_nothing(rep: Any) -> None:
    content = csv_bytes([CHINESE_HEADERS, *CHINESE_ROWS], encoding="gb18030")
    run(rep, content)
    again = run(rep, content)
    assert (again.created_count, again.skipped_count, again.rejected_count) == (0, 3, 0)
    assert Customer.objects.count() == 3


def test_a_name_is_compared_with_every_alike_existing_name_not_the_first_few(rep: Any) -> None:
    """120 customers share the first three characters (one blocking key); a row one character
    off the middle one at the end (so it shares no other key) is still found as its duplicate."""
    names = ["双敏电" + "".join(chr(0x4E00 + 40 * number + k) for k in range(12)) for number in range(120)]
    run(rep, csv_bytes([["客户名称"], *[[name] for name in names]]))
    assert Customer.objects.count() == 120
    near = names[60][:-1] + "甲"
    job = run(rep, csv_bytes([["客户名称"], [near]]))
    assert (job.created_count, job.skipped_count) == (0, 1)


def test_salesforce_account_headers_are_mapped() -> None:
    from kehu.dataio.imports.mapping import propose

    headers = [
        "Account Name",
        "Billing City",
        "Billing State/Province",
        "Billing Street",
        "Billing Zip/Postal Code",
        "Billing Country",
        "Phone",
        "Website",
        "Industry",
        "Description",
        "Account Owner",
    ]
    assert propose(registry["customer"], headers) == {
        "Account Name": "name",
        "Billing City": "city",
        "Billing State/Province": "province",
        "Billing Street": "street",
        "Billing Zip/Postal Code": "postal_code",
        "Billing Country": "country",
        "Phone": "phone",
        "Website": "website",
        "Industry": "industry",
        "Description": "notes",
        "Account Owner": "owner",
    }


def test_hubspot_contact_and_company_headers_are_mapped() -> None:
    from kehu.dataio.imports.mapping import propose

    contact = propose(
        registry["contact"], ["First Name", "Email", "Mobile Phone Number", "Job Title", "Associated Company"]
    )
    assert contact == {
        "First Name": "name.given",
        "Email": "email",
        "Mobile Phone Number": "mobile",
        "Job Title": "title",
        "Associated Company": "customer",
    }
    company = propose(
        registry["customer"],
        [
            "Company name",
            "Phone Number",
            "City",
            "State/Region",
            "Postal Code",
            "Country/Region",
            "Website URL",
            "Company owner",
        ],
    )
    assert set(company.values()) == {"name", "phone", "city", "province", "postal_code", "country", "website", "owner"}


def test_a_file_exported_from_kehu_maps_back_in_english_and_chinese() -> None:
    from django.utils import translation

    from kehu.dataio.imports.mapping import propose
    from kehu.platform.display import field_label

    rt = registry["customer"]
    columns = ["number", "name", "kind", "stage", "grade", "industry", "city", "phone", "owner", "email", "tags"]
    for language in ("en", "zh-hans"):
        with translation.override(language):
            headers = [field_label(rt, name) for name in columns]
        assert list(propose(rt, headers).values()) == columns, language


def test_utf8_bom_utf16_semicolons_and_xlsx_are_read(rep: Any) -> None:
    rows = [["Name", "Phone", "City"], ["Alpha Ltd", "13800000001", "Hangzhou"]]
    job = run(rep, b"\xef\xbb\xbf" + csv_bytes(rows), name="bom.csv")
    assert job.encoding == "utf-8-sig"
    assert job.headers[0] == "Name"
    assert job.created_count == 1
    job = run(rep, csv_bytes([rows[0], ["Beta Ltd", "13800000002", "苏州"]], encoding="utf-16"), name="u16.csv")
    assert job.encoding == "utf-16"
    assert job.created_count == 1
    job = run(rep, csv_bytes([rows[0], ["Gamma Ltd", "13800000003", "Xi'an"]], delimiter=";"), name="semi.csv")
    assert job.created_count == 1
    job = run(rep, csv_bytes([rows[0], ["Delta Ltd", "13800000004", "Wuxi"]], delimiter="\t"), name="tabs.tsv")
    assert job.created_count == 1
    job = run(rep, xlsx_bytes([rows[0], ["Epsilon Ltd", 13800000005, "宁波"]]), name="book.xlsx")
    assert job.status == ImportStatus.DONE, job.summary
    assert job.created_count == 1
    assert Customer.objects.get(name="Epsilon Ltd").phone == "+8613800000005"
    assert set(Customer.objects.values_list("city", flat=True)) == {"Hangzhou", "苏州", "Xi'an", "Wuxi", "宁波"}


def test_xlsx_dates_arrive_as_dates_and_lines_are_numbered_like_the_sheet(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="星海集团")
    rows = [
        ["联系人", "客户", "生日", "手机"],
        ["王芳", "星海集团", datetime.datetime(1990, 5, 17), "13900001111"],
        [None, None, None, None],
        ["李雷", "星海集团", "1988年3月1日", "bad"],
    ]
    job = run(rep, xlsx_bytes(rows), "contact", name="contacts.xlsx")
    assert Contact.objects.get(name="王芳").birthday == datetime.date(1990, 5, 17)
    assert rejected(job) == {4: {"手机": ["Enter a valid phone number."]}}


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_go_in(rep: Any) -> None:
    rows = [
        ["客户名称", "电话", "邮箱", "客户来源"],
        ["好公司一", "13800001111", "", ""],
        ["坏电话公司", "12345", "", ""],
        ["", "13800002222", "", ""],
        ["坏邮箱公司", "", "not-an-email", ""],
        ["坏来源公司", "", "", "路边"],
        ["好公司二", "", "ok@example.com", "展会"],
    ]
    job = run(rep, csv_bytes(rows))
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.rejected_count) == (2, 4)
    assert set(Customer.objects.values_list("name", flat=True)) == {"好公司一", "好公司二"}
    errors = rejected(job)
    assert errors[3] == {"电话": ["Enter a valid phone number."]}
    assert errors[4] == {"客户名称": ["This field cannot be blank."]}
    assert errors[5] == {"邮箱": ["Enter a valid email address."]}
    assert "路边" in errors[6]["客户来源"][0]
    assert job.summary["rejected"]["电话: Enter a valid phone number."] == 1
    lines = list(services.rejected_rows_csv(job))
    assert lines[0].startswith("\ufeffLine,Errors,客户名称")
    assert lines[1].startswith("3,电话: Enter a valid phone number.,坏电话公司,12345")


def test_a_contact_name_split_in_two_columns_is_joined(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Analytical Engines")
    make_customer(rep, name="远景贸易")
    rows = [
        ["First Name", "Last Name", "Email", "Associated Company"],
        ["Ada", "Lovelace", "ada@engines.example", "Analytical Engines"],
        ["", "Babbage", "", "Analytical Engines"],
        ["三", "张", "", "远景贸易"],
    ]
    job = run(rep, csv_bytes(rows), "contact")
    assert job.mapping["First Name"] == "name.given"
    assert job.mapping["Last Name"] == "name.family"
    assert (job.created_count, job.rejected_count) == (3, 0)
    assert set(Contact.objects.values_list("name", flat=True)) == {"Ada Lovelace", "Babbage", "张三"}


def test_a_whole_name_column_wins_over_its_parts(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="远景贸易")
    rows = [["姓名", "姓", "名", "客户"], ["张三丰", "张", "三", "远景贸易"]]
    job = run(rep, csv_bytes(rows), "contact")
    assert job.mapping == {"姓名": "name", "姓": "name.family", "名": "name.given", "客户": "customer"}
    assert list(Contact.objects.values_list("name", flat=True)) == ["张三丰"]


def test_unknown_and_ambiguous_customers_of_contacts_are_rejected(rep: Any, make_customer: Any) -> None:
    known = make_customer(rep, name="远景贸易")
    make_customer(rep, name="同名公司")
    make_customer(rep, name="同名公司")
    rows = [
        ["姓名", "客户", "手机"],
        ["张三", "远景贸易", "13800003333"],
        ["李四", "不存在公司", "13800004444"],
        ["王五", "同名公司", ""],
        ["赵六", known.number, ""],
    ]
    job = run(rep, csv_bytes(rows), "contact")
    assert job.created_count == 2
    errors = rejected(job)
    assert "不存在公司" in errors[3]["客户"][0]
    assert "Several customers" in errors[4]["客户"][0]
    assert set(Contact.objects.filter(customer=known).values_list("name", flat=True)) == {"张三", "赵六"}


def test_contact_of_a_customer_the_rep_cannot_see_is_rejected(rep: Any, other_rep: Any, make_customer: Any) -> None:
    make_customer(other_rep, name="别人的客户")
    job = run(rep, csv_bytes([["姓名", "客户"], ["张三", "别人的客户"]]), "contact")
    assert job.created_count == 0
    assert job.rejected_count == 1
    assert not Contact.objects.exists()


def _existing(rep: Any, make_customer: Any) -> Any:
    return make_customer(rep, name="老客户", phone="13811112222", city="", industry="旧行业")


@pytest.mark.parametrize(
    ("policy", "expected_city", "expected_industry", "customers"),
    [
        ("skip", "", "旧行业", 1),
        ("fill", "杭州", "旧行业", 1),
        ("update", "杭州", "新行业", 1),
        ("create", "", "旧行业", 2),
    ],
)
def test_duplicate_policies(
    rep: Any, make_customer: Any, policy: str, expected_city: str, expected_industry: str, customers: int
) -> None:
    existing = _existing(rep, make_customer)
    rows = [["客户名称", "手机", "城市", "行业"], ["老客户改名", "138-1111-2222", "杭州", "新行业"]]
    job = run(rep, csv_bytes(rows), configure={"match_on": ["phone"], "on_duplicate": policy})
    existing.refresh_from_db()
    assert (existing.city, existing.industry) == (expected_city, expected_industry)
    assert Customer.objects.count() == customers
    if policy in ("fill", "update"):
        assert job.updated_count == 1
        assert existing.version == 2
        entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=existing.pk).get()
        assert entry.source == Source.IMPORT
        assert "city" in entry.changes
        assert ("name" in entry.changes) == (policy == "update")


def test_duplicates_within_the_file_are_found(rep: Any) -> None:
    rows = [
        ["客户名称", "手机", "邮箱", "城市"],
        ["星光科技有限公司", "13800005555", "", ""],
        ["另一家", "138 0000 5555", "", "南京"],
        ["星光科技", "", "", ""],
        ["第三家", "", "x@example.com", ""],
        ["第四家", "", "X@Example.com", ""],
    ]
    job = run(rep, csv_bytes(rows), configure={"match_on": ["phone", "email", "name"], "on_duplicate": "fill"})
    assert job.created_count == 2
    assert Customer.objects.count() == 2
    assert Customer.objects.get(name="星光科技有限公司").city == "南京"  # filled from its duplicate
    skipped = run(rep, csv_bytes(rows), configure={"match_on": ["phone", "email", "name"]})
    assert skipped.created_count == 0
    assert skipped.skipped_count == 5


def test_similar_names_match_existing_customers(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="上海晨光科技有限公司")
    job = run(
        rep,
        csv_bytes([["客户名称"], ["上海晨光科技"], ["晨光科技（上海）有限公司"], ["深圳海洋"]]),
        configure={"match_on": ["name"]},
    )
    assert job.created_count == 1
    assert job.skipped_count >= 1
    assert Customer.objects.filter(name="深圳海洋").exists()


def test_custom_fields_are_converted_and_validated(rep: Any, define: Any) -> None:
    define("budget", "decimal", label="预算")
    define("since", "date", label="合作开始")
    define("vip", "boolean", label="VIP")
    rows = [
        ["客户名称", "预算", "合作开始", "VIP"],
        ["甲公司", "¥ 1,234.50", "2026/3/1", "是"],
        ["乙公司", "很多", "", ""],
        ["丙公司", "", "2026-02-30", "否"],
    ]
    job = run(rep, csv_bytes(rows))
    assert job.mapping["预算"] == "custom.budget"
    assert Customer.objects.get(name="甲公司").custom == {"budget": "1234.5", "since": "2026-03-01", "vip": True}
    errors = rejected(job)
    assert set(errors) == {3, 4}
    assert "预算" in errors[3]
    assert "合作开始" in errors[4]


def test_required_custom_field_missing_rejects_the_row(rep: Any, define: Any) -> None:
    define("region_code", "text", label="区域代码", required=True)
    job = upload(rep, csv_bytes([["客户名称"], ["甲公司"]]))
    with pytest.raises(ValidationError) as caught:
        services.import_configure(ctx=Context(user=rep), job=job, mapping={"客户名称": "name"})
    assert "mapping" in caught.value.message_dict


def test_reader_cannot_import(reader: Any) -> None:
    with pytest.raises(PermissionDenied):
        upload(reader, csv_bytes([["客户名称"], ["甲公司"]]))


def test_rep_owns_imported_rows_and_cannot_give_them_to_another_owner(rep: Any, other_rep: Any) -> None:
    rows = [["客户名称", "负责人"], ["自己的", "rep"], ["别人的", "other"], ["没写的", ""]]
    job = run(rep, csv_bytes(rows))
    assert job.mapping["负责人"] == "owner"
    assert set(Customer.objects.values_list("name", "owner__username")) == {("自己的", "rep"), ("没写的", "rep")}
    assert rejected(job) == {3: {"负责人": ["You can only assign records to yourself."]}}


def test_admin_may_import_rows_for_other_owners(admin_user: Any, rep: Any) -> None:
    job = run(admin_user, csv_bytes([["客户名称", "负责人"], ["给销售的", "rep"]]))
    customer = Customer.objects.get()
    assert job.created_count == 1
    assert customer.owner == rep
    assert customer.team_id == rep.team_id


def test_dry_run_writes_nothing_and_counts_what_would_happen(rep: Any, make_customer: Any) -> None:
    _existing(rep, make_customer)
    rows = [["客户名称", "手机"], ["新公司", "13800006666"], ["老客户", "13811112222"], ["坏的", "999"]]
    job = run(rep, csv_bytes(rows), dry_run=True)
    assert (job.created_count, job.skipped_count, job.rejected_count) == (1, 1, 1)
    assert Customer.objects.count() == 1
    assert job.rejected_rows.count() == 1
    assert not AuditEntry.objects.filter(source=Source.IMPORT).exists()


def test_a_resumed_job_skips_the_committed_rows(rep: Any) -> None:
    rows = [["客户名称"], *[[f"公司{i}"] for i in range(10)]]
    job = upload(rep, csv_bytes(rows))
    from kehu.dataio.imports import engine

    job.status = ImportStatus.FAILED
    job.save()
    original = engine.GenericImporter.batch_size
    engine.GenericImporter.batch_size = 4
    try:
        job = services.import_run(job)
        assert job.processed_rows == 10
        assert job.created_count == 10
        job.status, job.processed_rows = ImportStatus.FAILED, 8  # as if the last batch had not committed
        job.save()
        Customer.objects.filter(name__in=["公司8", "公司9"]).delete()
        job = services.import_run(job)
    finally:
        engine.GenericImporter.batch_size = original
    assert job.status == ImportStatus.DONE
    assert job.processed_rows == 10
    assert sorted(Customer.objects.values_list("name", flat=True)) == sorted(f"公司{i}" for i in range(10))


def test_files_that_are_not_tables_are_refused(rep: Any) -> None:
    for content, name, message in [
        (b"", "empty.csv", "empty"),
        (b"\x00\x01\x02binary\x00", "data.csv", "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", ".xls"),
        (b",,,\n,,,\n", "blank.csv", "header"),
        (b"hello", "photo.png", "CSV"),
    ]:
        with pytest.raises(ValidationError, match=message):
            upload(rep, content, name=name)
    assert not ImportJob.objects.exists()


def test_configure_refuses_unknown_and_twice_mapped_fields(rep: Any) -> None:
    job = upload(rep, csv_bytes([["客户名称", "公司", "电话"], ["甲", "乙", ""]]))
    with pytest.raises(ValidationError) as caught:
        services.import_configure(
            ctx=Context(user=rep),
            job=job,
            mapping={"客户名称": "name", "公司": "name", "电话": "nonsense"},
            match_on=["dna"],
            on_duplicate="merge",
        )
    errors = caught.value.message_dict
    assert set(errors) == {"公司", "电话", "match_on", "on_duplicate"}


def test_import_start_runs_the_background_task(rep: Any, django_capture_on_commit_callbacks: Any) -> None:
    job = upload(rep, csv_bytes([["客户名称"], ["任务公司"]]))
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_start(ctx=Context(user=rep), job=job, dry_run=False)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert Customer.objects.filter(name="任务公司").exists()
    with pytest.raises(ValidationError):
        services.import_start(ctx=Context(user=rep), job=job, dry_run=False)


def test_cancelled_job_stops_and_can_be_resumed(rep: Any) -> None:
    job = upload(rep, csv_bytes([["客户名称"], ["甲"]]))
    job.status = ImportStatus.QUEUED
    job.save()
    services.import_cancel(ctx=Context(user=rep), job=job)
    assert job.status == ImportStatus.CANCELLED


def test_saved_mapping_is_applied_to_the_next_file_with_the_same_headers(rep: Any) -> None:
    ctx = Context(user=rep)
    services.saved_mapping_save(
        ctx=ctx, record_type="customer", name="ERP", mapping={"KH_MC": "name", "KH_DH": "phone"}, match_on=["phone"]
    )
    job = upload(rep, csv_bytes([["KH_MC", "KH_DH", "其他"], ["甲", "13800007777", "x"]]))
    assert job.mapping == {"KH_MC": "name", "KH_DH": "phone", "其他": ""}
    assert job.match_on == ["phone"]


def test_old_import_files_are_swept(rep: Any, settings: Any) -> None:
    from django.utils import timezone

    from kehu.dataio.imports.tasks import remove_old_import_files

    job = run(rep, csv_bytes([["客户名称"], ["甲"]]))
    path = services.job_path(job)
    assert path.exists()
    assert remove_old_import_files() == 0
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=31))
    assert remove_old_import_files() == 1
    assert not path.exists()
    job.refresh_from_db()
    assert job.file == ""
    assert job.created_count == 1


def test_record_bulk_create_checks_every_item_and_writes_numbers_tags_audit_and_events(
    rep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from kehu.platform import events

    rt = registry["customer"]
    ctx = Context(user=rep, source=Source.API)
    with pytest.raises(ValidationError, match="Item 2"):
        record_services.record_bulk_create(rt, ctx=ctx, objs_or_data=[{"name": "好"}, {"name": ""}])
    assert not Customer.objects.exists()
    seen: list[Any] = []
    events.subscribe("record.created")(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            created = record_services.record_bulk_create(
                rt, ctx=ctx, objs_or_data=[{"name": "一", "tags": ["甲"]}, {"name": "二", "phone": "13800008888"}]
            )
    finally:
        events.unsubscribe("record.created", seen.append)
    assert [c.number for c in created] == ["C-000001", "C-000002"]
    assert list(created[0].tags.values_list("name", flat=True)) == ["甲"]
    assert created[1].owner == rep
    assert Customer.objects.get(lookup_q(Customer, "phone", "13800008888")) == created[1]
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, content_type__model="customer").count() == 2
    assert sorted(event.record_id for event in seen) == sorted(c.pk for c in created)
    assert created[0].transitions.count() == 1  # the type's after_save hook ran


def test_decimal_and_date_columns_of_opportunities(admin_user: Any, make_customer: Any) -> None:
    make_customer(admin_user, name="商机客户")
    rows = [["商机名称", "客户", "金额", "预计成交日期"], ["大单", "商机客户", "¥1,200,000.00", "2026年6月30日"]]
    job = run(admin_user, csv_bytes(rows), "opportunity")
    opportunity = registry["opportunity"].model.objects.get()
    assert job.created_count == 1, job.summary
    assert opportunity.amount == decimal.Decimal("1200000.00")
    assert opportunity.expected_close_date == datetime.date(2026, 6, 30)


def _product(user: Any, code: str, name: str) -> Any:
    rt = registry["product"]
    return record_services.record_create(
        rt, ctx=Context(user=user, source=Source.CLI), data={"code": code, "name": name, "tax_rate": "13"}
    )


def test_orders_with_lines_group_consecutive_rows_and_an_unknown_product_rejects_its_order(
    admin_user: Any, make_customer: Any
) -> None:
    from kehu.sales.contracts.models import Order

    make_customer(admin_user, name="订货客户")
    _product(admin_user, "P-100", "螺丝")
    _product(admin_user, "P-200", "螺母")
    rows = [
        ["订单号", "客户", "下单日期", "产品编码", "数量", "单价", "折扣"],
        ["SO-1", "订货客户", "2026-03-01", "P-100", "10", "¥1.50", ""],
        ["SO-1", "订货客户", "2026-03-01", "螺母", "5", "2", "10"],
        ["SO-2", "订货客户", "2026-03-02", "P-999", "1", "1", ""],
        ["SO-2", "订货客户", "2026-03-02", "P-100", "1", "1", ""],
        ["SO-3", "订货客户", "2026/3/3", "P-200", "3", "4.00", ""],
    ]
    job = upload(admin_user, csv_bytes(rows), "order")
    assert job.mapping == {
        "订单号": "order_ref",
        "客户": "customer",
        "下单日期": "order_date",
        "产品编码": "line.product",
        "数量": "line.quantity",
        "单价": "line.unit_price",
        "折扣": "line.discount_percent",
    }
    job = services.import_run(job)
    assert job.status == ImportStatus.DONE, job.error
    assert (job.created_count, job.rejected_count) == (2, 2)
    first = Order.objects.get(order_date=datetime.date(2026, 3, 1))
    assert [(line.product.code, line.quantity) for line in first.lines.order_by("position")] == [
        ("P-100", decimal.Decimal("10")),
        ("P-200", decimal.Decimal("5")),
    ]
    assert first.lines.get(position=2).discount_percent == decimal.Decimal("10")
    assert first.currency == "CNY"
    errors = rejected(job)
    assert "P-999" in errors[4]["产品编码"][0]
    assert "line 4" in errors[5]["__all__"][0]
    assert Order.objects.count() == 2


def test_interactions_with_customer_kind_by_chinese_label_and_time(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="跟进客户")
    rows = [
        ["客户", "跟进方式", "跟进时间", "主题", "跟进内容"],
        ["跟进客户", "拜访", "2026-03-05 10:30", "上门拜访", "谈了续约"],
        ["跟进客户", "飞鸽传书", "2026-03-06", "奇怪方式", ""],
    ]
    job = run(rep, csv_bytes(rows), "interaction")
    assert job.mapping["跟进方式"] == "kind"
    assert job.mapping["跟进时间"] == "occurred_at"
    interaction = registry["interaction"].model.objects.get()
    assert interaction.customer == customer
    assert interaction.kind == "visit"
    assert (interaction.occurred_at.day, interaction.content) == (5, "谈了续约")
    assert list(rejected(job)) == [3]


def test_blank_and_repeated_headers_get_names_of_their_own(rep: Any) -> None:
    job = upload(rep, csv_bytes([["客户名称", "备注", "", "备注"], ["甲", "一", "x", "二"]]))
    assert job.headers == ["客户名称", "备注", "Column 3", "备注 (2)"]
    assert job.mapping == {"客户名称": "name", "备注": "notes", "Column 3": "", "备注 (2)": ""}
    job = services.import_run(job)
    assert Customer.objects.get().notes == "一"
