"""The global search (platform/search/): Chinese substrings of any length, pinyin, Latin
text, numbers, phones and emails through the blind index, row-level visibility, ranking,
grouping, and an index that follows every write (events) and can be rebuilt (kehu reindex).

The index follows commits, so the tests that write records run in real transactions."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.customers.models import Contact, Customer
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import search, services
from kehu.platform.context import Context
from kehu.platform.models import CustomField, SearchDocument
from kehu.platform.search.index import Plan, _document_values, _write_rows
from tests.search_support import assert_fts_in_step


def found(user: Any, text: str, **options: Any) -> dict[str, list[str]]:
    """``{record type: [titles in rank order]}``."""
    return {group.rt.key: [hit.title for hit in group.hits] for group in search.search(user, text, **options)}


def customers(user: Any, text: str) -> list[str]:
    return found(user, text).get("customer", [])


# ---------------------------------------------------------------- text analysis (no database)


def test_pinyin_keys_hold_full_pinyin_and_initials_of_the_whole_and_of_each_word() -> None:
    assert search.pinyin_keys("张三") == ["zhangsan", "zs"]
    assert search.pinyin_keys("张三 李四") == ["zhangsanlisi", "zsls", "zhangsan", "zs", "lisi", "ls"]
    assert search.pinyin_keys("重庆火锅") == ["chongqinghuoguo", "cqhg"]  # readings of whole words
    assert search.pinyin_keys("ABC科技") == ["abckeji", "abckj"]


@pytest.mark.parametrize(
    "text",
    [
        "重庆火锅有限公司12",
        "ABC科技 张三-李四〇",
        "Acme 北京分公司 (華南) 3号",
        "〇〇一二",
        "科技",
        "x 重庆 y 重庆火锅",
    ],
)
def test_segmenting_chinese_runs_one_by_one_splits_like_pypinyin(text: str) -> None:
    from kehu.platform.search import text as search_text

    # the cached segmenting of each Chinese run (imports) gives pypinyin's own words
    assert search_text._segments(text) == search_text._pinyin().seg(text)


def test_text_without_chinese_has_no_pinyin() -> None:
    assert search.pinyin_keys("Acme Ltd") == []
    assert search.pinyin_keys("") == []


def test_short_terms_hold_cjk_characters_and_pairs_and_the_start_of_words() -> None:
    assert search.short_terms(["张三丰", "Acme Ltd"]) == sorted(
        ["张", "三", "丰", "张三", "三丰", "a", "ac", "l", "lt"]
    )


def test_query_words_of_three_characters_are_substrings_and_shorter_ones_terms() -> None:
    query = search.parse_query("  Acme  张三 zs 科技有限 ")
    assert query.phrases == ("acme", "科技有限")
    assert query.terms == ("张三", "zs")
    assert query.text == "acme 张三 zs 科技有限"


@pytest.mark.parametrize(("text", "message"), [("", "Type something"), ("   ", "Type something"), ("a\x00b", "Null")])
def test_empty_or_nul_query_is_refused_naming_q(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        search.parse_query(text)
    assert list(raised.value.message_dict) == ["q"]
    assert message in raised.value.message_dict["q"][0]


def test_too_long_query_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        search.parse_query("x" * (search.MAX_QUERY_LENGTH + 1))
    assert "at most" in raised.value.message_dict["q"][0]


# ---------------------------------------------------------------- finding records

pytestmark_db = pytest.mark.django_db(transaction=True)


@pytestmark_db
def test_two_character_chinese_query_finds_every_name_containing_it(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="浙江天行科技有限公司")
    make_customer(rep, name="科技大学")
    make_customer(rep, name="上海贸易公司")

    assert sorted(customers(rep, "科技")) == ["浙江天行科技有限公司", "科技大学"]
    assert customers(rep, "天行") == ["浙江天行科技有限公司"]


@pytestmark_db
def test_one_character_chinese_query_finds_it(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="张三")
    make_customer(rep, name="李四")

    assert customers(rep, "张") == ["张三"]


@pytestmark_db
def test_chinese_substring_of_three_or_more_characters_is_found_anywhere(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="浙江天行科技有限公司", city="宁波", notes="去年在展会上认识的客户")

    assert customers(rep, "天行科技") == ["浙江天行科技有限公司"]
    assert customers(rep, "展会上") == ["浙江天行科技有限公司"]  # notes are indexed
    assert customers(rep, "宁波") == ["浙江天行科技有限公司"]  # and the address


@pytestmark_db
def test_latin_substring_is_found_ignoring_case(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme Trading Ltd", street="12 Harbour Road")
    make_customer(rep, name="Northwind")

    assert customers(rep, "CME") == ["Acme Trading Ltd"]
    assert customers(rep, "trad ltd") == ["Acme Trading Ltd"]  # every word must match
    assert customers(rep, "harbour") == ["Acme Trading Ltd"]
    assert customers(rep, "ac") == ["Acme Trading Ltd"]  # two letters: the start of a word
    assert customers(rep, "trading northwind") == []


@pytestmark_db
def test_full_width_letters_and_digits_find_their_ascii_form(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="ＡＢＣ科技", street="Road 88")

    assert customers(rep, "abc") == ["ABC科技"]
    assert customers(rep, "ＲＯＡＤ ８８") == ["ABC科技"]


@pytestmark_db
@pytest.mark.parametrize(
    "text", ['"', 'a"b', "*", "AND OR NOT", "NEAR(", "(x", "%_\\", "'; DROP TABLE x; --", "-", "^"]
)
def test_query_syntax_characters_are_searched_for_literally(rep: Any, make_customer: Any, text: str) -> None:
    make_customer(rep, name="Acme")

    assert isinstance(search.search(rep, text), list)  # no error, whatever was typed
    assert customers(rep, f"acme {text}") in ([], ["Acme"])


@pytestmark_db
def test_number_is_found_and_an_exact_number_ranks_first(rep: Any, make_customer: Any) -> None:
    first = make_customer(rep, name="First")
    for i in range(10):
        make_customer(rep, name=f"Other {i}")

    assert customers(rep, first.number)[0] == "First"
    assert customers(rep, first.number.lower())[0] == "First"
    assert "First" in customers(rep, first.number.split("-")[1])  # 000001


@pytestmark_db
def test_full_pinyin_and_initials_find_the_chinese_name(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="张三")
    make_customer(rep, name="李四")

    assert customers(rep, "zhangsan") == ["张三"]
    assert customers(rep, "zs") == ["张三"]
    assert customers(rep, "ZhangSan") == ["张三"]
    assert customers(rep, "zhang san") == ["张三"]


@pytestmark_db
def test_pinyin_finds_longer_names_starting_with_it(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="张三丰")
    make_customer(rep, name="张三")

    assert customers(rep, "zhangsan") == ["张三", "张三丰"]  # the exact reading first
    assert sorted(customers(rep, "zs")) == ["张三", "张三丰"]
    assert customers(rep, "zsf") == ["张三丰"]
    assert customers(rep, "zhangsanf") == ["张三丰"]


@pytestmark_db
def test_contact_is_found_by_its_own_pinyin_and_by_its_customers_name(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    firm = make_customer(rep, name="天行科技")
    make_contact(rep, firm, name="王芳", title="采购经理")

    assert found(rep, "wangfang") == {"contact": ["王芳"]}
    assert found(rep, "wf") == {"contact": ["王芳"]}
    assert found(rep, "天行") == {"customer": ["天行科技"], "contact": ["王芳"]}
    assert found(rep, "采购") == {"contact": ["王芳"]}


@pytestmark_db
@pytest.mark.parametrize("typed", ["138 1234 5678", "+86 138-1234-5678", "13812345678", "(+86) 13812345678"])
def test_phone_typed_in_any_format_finds_the_record(rep: Any, make_customer: Any, typed: str) -> None:
    make_customer(rep, name="天行科技", phone="+8613812345678")
    make_customer(rep, name="Other", phone="+8613900000000")

    assert found(rep, typed) == {"customer": ["天行科技"]}


@pytestmark_db
def test_contact_mobile_finds_the_contact(rep: Any, make_customer: Any, make_contact: Any) -> None:
    firm = make_customer(rep, name="天行科技")
    make_contact(rep, firm, name="王芳", mobile="139 8765 4321")

    assert found(rep, "13987654321") == {"contact": ["王芳"]}


@pytestmark_db
def test_email_is_found_ignoring_case(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", email="Sales@Acme.example")

    assert found(rep, "sales@acme.example") == {"customer": ["Acme"]}
    assert found(rep, "SALES@ACME.EXAMPLE") == {"customer": ["Acme"]}


@pytestmark_db
def test_phones_and_emails_are_never_copied_into_the_index(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="+8613812345678", email="sales@acme.example")

    document = SearchDocument.objects.get(record_type="customer", record_id=customer.pk)
    stored = " ".join([document.number, document.title, document.body, document.pinyin, document.terms])
    assert "1381234" not in stored
    assert "5678" not in stored
    assert "sales" not in stored
    assert customers(rep, "12345678") == []  # a part of a phone number is not searchable


# ---------------------------------------------------------------- visibility


@pytestmark_db
def test_rep_never_sees_another_teams_records_in_results_or_counts(
    rep: Any, other_rep: Any, make_customer: Any, make_contact: Any
) -> None:
    mine = make_customer(rep, name="张三科技")
    make_contact(rep, mine, name="张三")
    theirs = make_customer(other_rep, name="张三贸易", phone="+8613812345678")
    make_contact(other_rep, theirs, name="张三丰")

    groups = search.search(rep, "张三")
    assert {g.rt.key: (g.count, [h.title for h in g.hits]) for g in groups} == {
        "customer": (1, ["张三科技"]),
        "contact": (1, ["张三"]),
    }
    assert found(rep, "zsf") == {}
    assert found(rep, "138 1234 5678") == {}  # not through the blind index either
    assert found(other_rep, "张三贸易") == {"customer": ["张三贸易"], "contact": ["张三丰"]}


@pytestmark_db
def test_teammate_sees_the_teams_records(rep: Any, make_user: Any, make_customer: Any) -> None:
    make_customer(rep, name="Team Firm")
    teammate = make_user("mate", "sales", "East sales")

    assert customers(teammate, "team firm") == ["Team Firm"]


@pytestmark_db
def test_manager_sees_the_team_tree_but_not_sibling_teams(make_user: Any, make_customer: Any) -> None:
    from kehu.accounts.services import team_get_or_create

    head = team_get_or_create(name="Head office")
    east = team_get_or_create(name="East region", parent=head)
    team_get_or_create(name="Hangzhou", parent=east)
    team_get_or_create(name="South region", parent=head)
    manager = make_user("east_boss", "manager", "East region")
    make_customer(make_user("hz", "sales", "Hangzhou"), name="杭州茶叶")
    make_customer(make_user("sz", "sales", "South region"), name="深圳茶叶")

    assert customers(manager, "茶叶") == ["杭州茶叶"]
    assert sorted(customers(make_user("ceo", "admin"), "茶叶")) == ["杭州茶叶", "深圳茶叶"]


@pytestmark_db
def test_user_who_may_view_nothing_is_refused(make_user: Any) -> None:
    from django.contrib.auth.models import Permission

    nobody = make_user("nobody", "sales", "East sales")
    from kehu.platform.records import registry

    views = [f"view_{rt.model._meta.model_name}" for rt in registry]
    nobody.role.permissions.remove(*Permission.objects.filter(codename__in=views))
    nobody = type(nobody).objects.get(pk=nobody.pk)  # permission cache

    with pytest.raises(PermissionDenied):
        search.search(nobody, "acme")


@pytestmark_db
def test_unknown_type_is_refused_naming_type(rep: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        search.search(rep, "acme", types=["customer", "planet"])
    assert "planet" in raised.value.message_dict["type"][0]


@pytestmark_db
def test_types_narrow_the_search(rep: Any, make_customer: Any, make_contact: Any) -> None:
    firm = make_customer(rep, name="Acme")
    make_contact(rep, firm, name="Acme Buyer")

    assert found(rep, "acme", types=["contact"]) == {"contact": ["Acme Buyer"]}


# ---------------------------------------------------------------- the index follows every write


@pytestmark_db
def test_update_reindexes_and_the_old_name_is_no_longer_found(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Old Name")
    services.record_update(CUSTOMER, ctx=Context(user=rep), obj=customer, data={"name": "新名字"})

    assert customers(rep, "old name") == []
    assert customers(rep, "新名") == ["新名字"]
    assert customers(rep, "xinmingzi") == ["新名字"]


@pytestmark_db
def test_renaming_a_customer_reindexes_its_contacts(rep: Any, make_customer: Any, make_contact: Any) -> None:
    firm = make_customer(rep, name="Old Firm")
    make_contact(rep, firm, name="Li Lei")
    services.record_update(CUSTOMER, ctx=Context(user=rep), obj=firm, data={"name": "New Firm"})

    assert found(rep, "new firm") == {"customer": ["New Firm"], "contact": ["Li Lei"]}
    assert found(rep, "old firm") == {}


@pytestmark_db
def test_deleted_records_and_their_children_leave_the_results(rep: Any, make_customer: Any, make_contact: Any) -> None:
    firm = make_customer(rep, name="Gone Ltd")
    make_contact(rep, firm, name="Gone Person")
    services.record_delete(CUSTOMER, ctx=Context(user=rep), obj=firm)

    assert found(rep, "gone") == {}
    assert not SearchDocument.objects.exists()


@pytestmark_db
def test_restore_puts_the_record_and_its_children_back(rep: Any, make_customer: Any, make_contact: Any) -> None:
    firm = make_customer(rep, name="Back Ltd")
    make_contact(rep, firm, name="Back Person")
    ctx = Context(user=rep)
    services.record_delete(CUSTOMER, ctx=ctx, obj=firm)
    services.record_restore(CUSTOMER, ctx=ctx, obj=Customer.all_objects.get(pk=firm.pk))

    assert found(rep, "back") == {"customer": ["Back Ltd"], "contact": ["Back Person"]}


@pytestmark_db
def test_a_stale_entry_of_a_trashed_record_is_still_not_found(rep: Any, make_customer: Any) -> None:
    firm = make_customer(rep, name="Stale Ltd")
    Customer.all_objects.filter(pk=firm.pk).update(deleted_at="2026-01-01T00:00:00Z")  # no event

    assert SearchDocument.objects.filter(record_id=firm.pk).exists()
    assert customers(rep, "stale") == []


@pytestmark_db
def test_bulk_update_reindexes_every_record_in_a_few_statements(rep: Any, make_customer: Any) -> None:
    def index_statements(count: int, industry: str) -> int:
        firms = [make_customer(rep, name=f"{industry} firm {i}") for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            services.record_bulk_update(CUSTOMER, ctx=Context(user=rep), objs=firms, data={"industry": industry})
        return len([q for q in queries if "platform_searchdocument" in q["sql"]])

    few, many = index_statements(2, "Tea"), index_statements(20, "Silk")

    assert search.search(rep, "silk")[0].count == 20
    assert customers(rep, "tea firm") == ["Tea firm 0", "Tea firm 1"]
    assert many == few  # one batch, whatever its size


@pytestmark_db
def test_bulk_update_indexing_does_not_query_per_record(rep: Any, make_customer: Any) -> None:
    firms = [make_customer(rep, name=f"Firm {i}") for i in range(30)]
    with CaptureQueriesContext(connection) as queries:
        search.index_records(CUSTOMER, [firm.pk for firm in firms])

    from kehu.platform.search.index import _dependents

    # definitions, records, their tags, delete, insert; then the same for each type of children
    # showing the customer's name (contacts, …): never one per record
    assert len(queries) <= 5 * (1 + len(_dependents(CUSTOMER)))


@pytestmark_db
def test_bulk_delete_removes_every_record(rep: Any, make_customer: Any) -> None:
    firms = [make_customer(rep, name=f"Bulk {i}") for i in range(5)]
    services.record_bulk_delete(CUSTOMER, ctx=Context(user=rep), objs=firms)

    assert customers(rep, "bulk") == []


@pytestmark_db
def test_index_records_and_remove_records_serve_writes_without_events(rep: Any, make_customer: Any) -> None:
    firm = make_customer(rep, name="Quiet Ltd")
    Customer.all_objects.filter(pk=firm.pk).update(name="Silent Ltd")  # e.g. a merge or an import
    assert customers(rep, "silent") == []

    assert search.index_records(CUSTOMER, [firm.pk]) == 1
    assert customers(rep, "silent") == ["Silent Ltd"]

    assert search.remove_records(CUSTOMER, [firm.pk]) == 1
    assert customers(rep, "silent") == []


@pytestmark_db
def test_reindex_command_rebuilds_an_emptied_index(rep: Any, make_customer: Any, make_contact: Any) -> None:
    firm = make_customer(rep, name="张三科技")
    make_contact(rep, firm, name="王芳")
    SearchDocument.objects.all().delete()
    assert found(rep, "张三") == {}

    out = StringIO()
    call_command("reindex", stdout=out)

    assert found(rep, "zs") == {"customer": ["张三科技"]}
    assert found(rep, "wf") == {"contact": ["王芳"]}
    assert "customer: 1 records indexed" in out.getvalue()
    assert "rows/s" in out.getvalue()


@pytestmark_db
def test_reindex_of_one_type_drops_entries_of_records_that_are_gone(rep: Any, make_customer: Any) -> None:
    kept = make_customer(rep, name="Kept Ltd")
    gone = make_customer(rep, name="Gone Ltd")
    Customer.all_objects.filter(pk=gone.pk).update(deleted_at="2026-01-01T00:00:00Z")  # no event

    call_command("reindex", "--type", "customer", stdout=StringIO())

    assert list(SearchDocument.objects.values_list("record_id", flat=True)) == [kept.pk]


@pytestmark_db
def test_reindex_command_refuses_an_unknown_type() -> None:
    with pytest.raises(CommandError, match="Unknown record type: planet"):
        call_command("reindex", "--type", "planet", stdout=StringIO())


# ---------------------------------------------------------------- ranking, grouping, custom fields


@pytestmark_db
def test_exact_name_ranks_before_prefix_before_substring(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Big Acme Holdings")
    make_customer(rep, name="Acme Trading")
    make_customer(rep, name="Acme")

    assert customers(rep, "acme") == ["Acme", "Acme Trading", "Big Acme Holdings"]


@pytestmark_db
def test_results_are_grouped_by_type_with_counts_and_limited(rep: Any, make_customer: Any, make_contact: Any) -> None:
    firms = [make_customer(rep, name=f"天行 {i}") for i in range(5)]
    make_contact(rep, firms[0], name="天行 buyer")

    groups = search.search(rep, "天行", limit=2)

    assert [(g.rt.key, g.count, len(g.hits), g.more, g.capped) for g in groups] == [
        ("customer", 5, 2, True, False),
        ("contact", 6 - 5, 1, False, False),
    ]
    hit = groups[0].hits[0]
    assert hit.url == f"/customers/{hit.id}/"


@pytestmark_db
def test_snippet_shows_the_matching_text(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", notes="Met at the Canton fair; wants samples of green tea by May.")

    [group] = search.search(rep, "green tea")
    assert "green tea" in group.hits[0].snippet


@pytestmark_db
def test_active_text_custom_fields_are_searchable_but_inactive_ones_are_not(rep: Any, make_customer: Any) -> None:
    CustomField.objects.create(record_type="customer", name="brand", label="Brand", kind="text")
    CustomField.objects.create(
        record_type="customer",
        name="tier",
        label="Tier",
        kind="choice",
        choices=[{"value": "vip", "label": "贵宾客户"}],
    )
    CustomField.objects.create(record_type="customer", name="old", label="Old", kind="text", active=False)
    firm = make_customer(rep, name="Acme")
    Customer.all_objects.filter(pk=firm.pk).update(custom={"brand": "Sunflower", "tier": "vip", "old": "Hidden"})
    search.index_records(CUSTOMER, [firm.pk])

    assert customers(rep, "sunflower") == ["Acme"]
    assert customers(rep, "贵宾") == ["Acme"]  # a choice by its label
    assert customers(rep, "hidden") == []


@pytestmark_db
def test_deactivating_a_custom_field_takes_its_values_out_of_the_results(rep: Any, make_customer: Any) -> None:
    brand = CustomField.objects.create(record_type="customer", name="brand", label="Brand", kind="text")
    firm = make_customer(rep, name="Acme")
    Customer.all_objects.filter(pk=firm.pk).update(custom={"brand": "Sunflower"})
    search.index_records(CUSTOMER, [firm.pk])
    assert customers(rep, "sunflower") == ["Acme"]

    brand.active = False
    brand.save()  # the index is rebuilt by a background task (run at once in the tests)

    assert customers(rep, "sunflower") == []


def test_every_registered_type_has_a_title_and_indexes_no_encrypted_field() -> None:
    from kehu.platform.fields import EncryptedField
    from kehu.platform.search.index import Plan

    for rt in (CUSTOMER, CONTACT):
        plan = Plan.of(rt)
        assert plan.title is not None
        assert not [f.name for f in plan.body if isinstance(f, EncryptedField)]
    assert [f.name for f in Plan.of(CONTACT).body] == ["wechat", "title", "department", "qq", "other_accounts", "notes"]
    assert Plan.of(CONTACT).parent == Contact._meta.get_field("customer")


@pytestmark_db
def test_sqlite_full_text_tables_stay_in_step_with_the_documents(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the FTS5 tables exist on SQLite only")
    ctx = Context(user=rep)
    firm = make_customer(rep, name="张三科技", notes="first")
    make_contact(rep, firm, name="王芳")
    services.record_update(CUSTOMER, ctx=ctx, obj=firm, data={"name": "李四科技"})
    search.index_records(CUSTOMER, [firm.pk])  # an upsert over the existing document
    services.record_delete(CUSTOMER, ctx=ctx, obj=firm)
    services.record_restore(CUSTOMER, ctx=ctx, obj=Customer.all_objects.get(pk=firm.pk))
    call_command("reindex", stdout=StringIO())
    # a document made from an older state does not replace the one there; a new one is added
    # beside a replaced one in the same write
    older = Customer.objects.get(pk=firm.pk)
    older.name = "旧名字"
    other = make_customer(rep, name="赵五商贸")
    SearchDocument.objects.filter(record_id=other.pk).delete()
    other.name = "赵六商贸"
    stale = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(minutes=5))
    fresh = connection.ops.adapt_datetimefield_value(timezone.now())
    _write_rows(
        [
            (*_document_values(CUSTOMER, Plan.of(CUSTOMER), older, [], []), stale),
            (*_document_values(CUSTOMER, Plan.of(CUSTOMER), other, [], []), fresh),
        ],
        unless_newer=True,
    )

    assert_fts_in_step()
    assert customers(rep, "李四") == ["李四科技"]
    assert customers(rep, "张三") == customers(rep, "旧名字") == []
    assert customers(rep, "赵六") == ["赵六商贸"]  # the new document (the record itself still says 赵五)


@pytestmark_db
def test_records_are_found_by_their_tags_and_follow_a_renamed_tag(
    rep: Any, admin_user: Any, make_customer: Any
) -> None:
    from kehu.platform import tags
    from kehu.platform.models import Tag

    make_customer(rep, name="Acme", tags=["重点客户"])
    make_customer(rep, name="Other")

    assert customers(rep, "重点客户") == ["Acme"]
    assert customers(rep, "zhongdian") == []  # tags are words of the body, not titles in pinyin

    tag = Tag.objects.get(name="重点客户")
    tags.tag_update(Context(user=admin_user), tag, name="Key account")  # the immediate task backend

    assert customers(rep, "重点客户") == []
    assert customers(rep, "key account") == ["Acme"]


@pytestmark_db
def test_bulk_created_records_get_from_their_instances_the_documents_and_entries_a_reindex_makes(
    rep: Any,
) -> None:
    from kehu.platform import timeline
    from kehu.platform.models import TimelineEntry

    def documents() -> list[tuple[Any, ...]]:
        columns = ("record_id", "number", "title", "pinyin", "body", "terms")
        return list(SearchDocument.objects.order_by("record_id").values_list(*columns))

    def entries() -> list[tuple[Any, ...]]:
        columns = ("subject_id", "kind", "occurred_at", "record_id", "actor_id", "title", "summary", "data")
        return list(TimelineEntry.objects.filter(kind="created").order_by("record_id").values_list(*columns))

    data = [
        {"name": "重庆火锅有限公司7", "city": "重庆", "industry": "manufacturing", "tags": ["重点", "VIP"]},
        {"name": "Acme ＡＢＣ 科技", "notes": "第一 second", "phone": "13800008888", "tags": ["VIP"]},
        {"name": "张三", "email": "z@example.com"},
    ]
    with transaction.atomic():
        created = services.record_bulk_create(CUSTOMER, ctx=Context(user=rep), objs_or_data=data)
        written_entries = entries()  # with the records; the documents right after the commit
    written = (documents(), written_entries)
    ids = [obj.pk for obj in created]
    assert [row[0] for row in written[0]] == ids
    assert [row[0] for row in written[1]] == ids

    search.index_records(CUSTOMER, ids)
    timeline.refresh("customer", ids)
    assert (documents(), entries()) == written
    assert customers(rep, "chongqing") == ["重庆火锅有限公司7"]


@pytestmark_db
def test_records_a_user_created_since_a_time_without_documents_are_indexed(
    rep: Any, other_rep: Any, make_customer: Any
) -> None:
    older = make_customer(rep, name="早先的客户")
    since = timezone.now()
    mine = [make_customer(rep, name="龙井茶庄"), make_customer(rep, name="碧螺春茶庄")]
    theirs = make_customer(other_rep, name="普洱茶庄")
    SearchDocument.objects.filter(record_id__in=[older.pk, theirs.pk, *(c.pk for c in mine)]).delete()

    assert search.index_missing(CUSTOMER, created_by=rep, since=since) == 2
    assert search.index_missing(CUSTOMER, created_by=rep, since=since) == 0  # nothing left

    indexed = set(SearchDocument.objects.values_list("record_id", flat=True))
    assert {c.pk for c in mine} <= indexed
    assert older.pk not in indexed
    assert theirs.pk not in indexed
