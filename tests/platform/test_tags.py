"""Tags (platform/tags.py): creating, renaming, recolouring and deleting tags; tags on records
one at a time and in bulk, only on records the user may see and change; audit entries and
events; who may create new tags; the list filter shared by web, export and API."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kehu.accounts.models import Role
from kehu.accounts.services import token_create
from kehu.customers.models import Contact, Customer
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import events, selectors, services, tags
from kehu.platform.context import Context, Source
from kehu.platform.errors import StaleVersion
from kehu.platform.models import AuditAction, AuditEntry, Tag

pytestmark = pytest.mark.django_db


def ctx(user: Any, token: Any = None) -> Context:
    return Context(user=user, source=Source.WEB, token=token)


def names(obj: Any) -> list[str]:
    return sorted(tag.name for tag in type(obj).all_objects.get(pk=obj.pk).tags.all())


def record_entries(obj: Any) -> Any:
    return AuditEntry.objects.filter(object_id=obj.pk, content_type__model=type(obj)._meta.model_name)


def without_add_tag(role_key: str) -> None:
    """Take ``platform.add_tag`` away from a role (as an admin could)."""
    Role.objects.get(key=role_key).permissions.remove(Permission.objects.get(codename="add_tag"))


@pytest.fixture
def vip(admin_user: Any) -> Tag:
    return tags.tag_create(ctx(admin_user), name="VIP", color="#D63939")


@pytest.fixture
def key_account(admin_user: Any) -> Tag:
    return tags.tag_create(ctx(admin_user), name="key account", record_type="customer")


# --- creating, renaming, recolouring ---------------------------------------------------------


def test_tag_create_trims_the_name_and_stores_the_colour_in_lower_case(admin_user: Any) -> None:
    tag = tags.tag_create(ctx(admin_user), name="  key   account ", color="#ABCDEF", record_type="customer")

    assert (tag.name, tag.color, tag.record_type) == ("key account", "#abcdef", "customer")
    entry = AuditEntry.objects.get(object_id=tag.pk, content_type__model="tag")
    assert entry.action == AuditAction.CREATE
    assert entry.changes == {
        "name": [None, "key account"],
        "color": [None, "#abcdef"],
        "record_type": [None, "customer"],
    }


def test_new_tag_gets_the_default_colour_and_is_shared_by_default(admin_user: Any) -> None:
    tag = tags.tag_create(ctx(admin_user), name="Partner")

    assert (tag.color, tag.record_type) == ("#206bc4", "")


def test_tag_names_are_unique_per_record_type_ignoring_case(admin_user: Any, key_account: Tag) -> None:
    with pytest.raises(ValidationError) as error:
        tags.tag_create(ctx(admin_user), name="KEY ACCOUNT", record_type="customer")

    assert "name" in error.value.message_dict
    assert Tag.objects.filter(name__iexact="key account").count() == 1


def test_the_same_name_may_be_a_tag_of_two_record_types(admin_user: Any, key_account: Tag) -> None:
    contact_tag = tags.tag_create(ctx(admin_user), name="Key Account", record_type="contact")

    assert contact_tag.record_type == "contact"
    assert Tag.objects.filter(name__iexact="key account").count() == 2


def test_a_shared_tag_and_a_type_tag_never_share_a_name(admin_user: Any, vip: Tag, key_account: Tag) -> None:
    with pytest.raises(ValidationError) as shared_taken:
        tags.tag_create(ctx(admin_user), name="vip", record_type="contact")
    with pytest.raises(ValidationError) as type_taken:
        tags.tag_create(ctx(admin_user), name="Key account")

    assert "every record type" in shared_taken.value.message_dict["name"][0]
    assert "customers" in type_taken.value.message_dict["name"][0]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "north, south"}, "name"),
        ({"name": "bell\x07"}, "name"),
        ({"name": "nul\x00"}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "color": "#12345g"}, "color"),
        ({"name": "ok", "record_type": "planet"}, "record_type"),
    ],
)
def test_bad_tag_input_is_refused_naming_the_field(admin_user: Any, data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        tags.tag_create(ctx(admin_user), **data)

    assert field in error.value.message_dict
    assert not Tag.objects.exists()


def test_a_fifty_character_name_is_accepted(admin_user: Any) -> None:
    assert len(tags.tag_create(ctx(admin_user), name="名" * 50).name) == 50


def test_creating_tags_needs_the_add_tag_permission(reader: Any, rep: Any) -> None:
    with pytest.raises(PermissionDenied):
        tags.tag_create(ctx(reader), name="VIP")

    assert tags.tag_create(ctx(rep), name="VIP").name == "VIP"  # sales may add tags by default


def test_rename_and_recolour_are_audited_and_published(
    make_user: Any, vip: Tag, django_capture_on_commit_callbacks: Any, published: list[events.Event]
) -> None:
    manager = make_user("chief", "manager")
    with django_capture_on_commit_callbacks(execute=True):
        tags.tag_update(ctx(manager), vip, name="V.I.P.", color="#2FB344")

    vip.refresh_from_db()
    assert (vip.name, vip.color) == ("V.I.P.", "#2fb344")
    entry = AuditEntry.objects.filter(object_id=vip.pk, content_type__model="tag").first()
    assert entry.action == AuditAction.UPDATE
    assert entry.changes == {"name": ["VIP", "V.I.P."], "color": ["#d63939", "#2fb344"]}
    [event] = [e for e in published if e.type == "tag.updated"]
    assert (event.data["name"], event.data["changed"]) == ("V.I.P.", ["color", "name"])


def test_renaming_to_a_name_in_use_is_refused(admin_user: Any, vip: Tag) -> None:
    other = tags.tag_create(ctx(admin_user), name="Partner")

    with pytest.raises(ValidationError) as error:
        tags.tag_update(ctx(admin_user), other, name="vip")

    assert "name" in error.value.message_dict
    other.refresh_from_db()
    assert other.name == "Partner"


def test_renaming_a_tag_to_another_case_of_itself_is_allowed(admin_user: Any, vip: Tag) -> None:
    assert tags.tag_update(ctx(admin_user), vip, name="Vip").name == "Vip"


def test_renaming_needs_the_change_tag_permission(rep: Any, vip: Tag) -> None:
    with pytest.raises(PermissionDenied):
        tags.tag_update(ctx(rep), vip, name="Renamed")

    vip.refresh_from_db()
    assert vip.name == "VIP"


def test_a_tag_used_on_one_type_can_be_kept_to_it_or_shared_again(
    admin_user: Any, rep: Any, vip: Tag, make_customer: Any
) -> None:
    make_customer(rep, name="Acme", tags=["VIP"])

    tags.tag_update(ctx(admin_user), vip, record_type="customer")
    assert Tag.objects.get(pk=vip.pk).record_type == "customer"
    tags.tag_update(ctx(admin_user), vip, record_type="")
    assert Tag.objects.get(pk=vip.pk).record_type == ""


def test_a_shared_tag_used_on_several_types_cannot_be_kept_to_one(
    admin_user: Any, rep: Any, vip: Tag, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])
    make_contact(rep, customer, name="Li Lei", tags=["VIP"])

    with pytest.raises(ValidationError) as error:
        tags.tag_update(ctx(admin_user), vip, record_type="customer")

    assert "contacts: 1" in error.value.message_dict["record_type"][0]
    assert Tag.objects.get(pk=vip.pk).record_type == ""


# --- deleting ------------------------------------------------------------------------------------


def test_deleting_a_tag_takes_it_off_every_record_with_audit_entries_and_events(
    admin_user: Any,
    rep: Any,
    vip: Tag,
    make_customer: Any,
    make_contact: Any,
    django_capture_on_commit_callbacks: Any,
    published: list[events.Event],
) -> None:
    kept = tags.tag_create(ctx(admin_user), name="Partner")
    customer = make_customer(rep, name="Acme", tags=["VIP", "Partner"])
    contact = make_contact(rep, customer, name="Li Lei", tags=["VIP"])
    trashed = make_customer(rep, name="Gone", tags=["VIP"])
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=trashed)
    untagged = make_customer(rep, name="Plain")
    versions = {obj.pk: type(obj).all_objects.get(pk=obj.pk).version for obj in (customer, contact, trashed)}
    vip_id = vip.pk

    with django_capture_on_commit_callbacks(execute=True):
        removed = tags.tag_delete(ctx(admin_user), vip)

    assert removed == 3
    assert not Tag.objects.filter(pk=vip_id).exists()
    assert (names(customer), names(contact), names(trashed)) == (["Partner"], [], [])
    assert Tag.objects.filter(pk=kept.pk).exists()
    for obj in (customer, contact, trashed):
        assert type(obj).all_objects.get(pk=obj.pk).version == versions[obj.pk] + 1
        assert record_entries(obj).first().changes["tags"][1] == sorted(set(names(obj)))
    assert record_entries(customer).first().changes == {"tags": [["Partner", "VIP"], ["Partner"]]}
    assert not record_entries(untagged).filter(action=AuditAction.UPDATE).exists()
    tag_entry = AuditEntry.objects.get(object_id=vip_id, content_type__model="tag", action=AuditAction.DELETE)
    assert tag_entry.extra["records"] == 3
    updated = {(e.record_type, e.record_id) for e in published if e.type == "record.updated"}
    assert updated == {("customer", customer.pk), ("contact", contact.pk), ("customer", trashed.pk)}
    assert all(e.data["changed"] == ["tags"] for e in published if e.type == "record.updated")
    assert [e.data["records"] for e in published if e.type == "tag.deleted"] == [3]


def test_deleting_tags_needs_the_delete_tag_permission(make_user: Any, vip: Tag) -> None:
    manager = make_user("chief", "manager")  # may rename and recolour, not delete

    with pytest.raises(PermissionDenied):
        tags.tag_delete(ctx(manager), vip)

    assert Tag.objects.filter(name="VIP").exists()


# --- tags on records -------------------------------------------------------------------------


def test_tags_for_a_record_type_are_its_own_and_the_shared_ones(admin_user: Any, vip: Tag, key_account: Tag) -> None:
    contact_only = tags.tag_create(ctx(admin_user), name="Decision maker", record_type="contact")

    assert set(tags.tags_for(CUSTOMER)) == {vip, key_account}
    assert set(tags.tags_for(CONTACT)) == {vip, contact_only}


def test_create_with_tags_audits_the_sorted_names(rep: Any, vip: Tag, key_account: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["vip", "Key Account"])

    assert names(customer) == ["VIP", "key account"]
    entry = record_entries(customer).get(action=AuditAction.CREATE)
    assert entry.changes["tags"] == [None, ["key account", "VIP"]]


def test_changing_tags_is_an_update_with_audit_entry_event_and_new_version(
    rep: Any,
    vip: Tag,
    key_account: Tag,
    make_customer: Any,
    django_capture_on_commit_callbacks: Any,
    published: list[events.Event],
) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    with django_capture_on_commit_callbacks(execute=True):
        tags.record_set_tags(CUSTOMER, ctx(rep), customer, ["VIP", "key account"], version=1)

    assert names(customer) == ["VIP", "key account"]
    assert Customer.objects.get(pk=customer.pk).version == 2
    entry = record_entries(customer).filter(action=AuditAction.UPDATE).get()
    assert entry.changes == {"tags": [["VIP"], ["key account", "VIP"]]}
    [event] = [e for e in published if e.type == "record.updated"]
    assert event.data["changed"] == ["tags"]


def test_setting_the_same_tags_again_changes_nothing(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    tags.record_set_tags(CUSTOMER, ctx(rep), customer, ["vip"])

    assert Customer.objects.get(pk=customer.pk).version == 1
    assert not record_entries(customer).filter(action=AuditAction.UPDATE).exists()


def test_tags_and_fields_change_together_in_one_audit_entry(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"city": "Hangzhou", "tags": ["VIP"]})

    entry = record_entries(customer).get(action=AuditAction.UPDATE)
    assert entry.changes == {"city": ["", "Hangzhou"], "tags": [[], ["VIP"]]}


def test_null_or_empty_tags_clear_a_records_tags(rep: Any, vip: Tag, make_customer: Any) -> None:
    first = make_customer(rep, name="First", tags=["VIP"])
    second = make_customer(rep, name="Second", tags=["VIP"])

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=first, data={"tags": None})
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=second, data={"tags": []})

    assert (names(first), names(second)) == ([], [])


def test_a_stale_version_writes_neither_fields_nor_tags(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=Customer.objects.get(pk=customer.pk), data={"city": "Suzhou"})

    with pytest.raises(StaleVersion):
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"tags": ["VIP"]}, version=1)

    assert names(customer) == []


def test_a_new_tag_name_on_a_record_creates_a_tag_of_that_record_type(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["Hot lead"])

    tag = Tag.objects.get(name="Hot lead")
    assert tag.record_type == "customer"
    assert names(customer) == ["Hot lead"]
    assert AuditEntry.objects.filter(object_id=tag.pk, content_type__model="tag", actor=rep).exists()


def test_without_add_tag_only_existing_tags_can_be_used(rep: Any, vip: Tag, make_customer: Any) -> None:
    without_add_tag("sales")
    customer = make_customer(rep, name="Acme", tags=["vip"])

    with pytest.raises(ValidationError) as error:
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"tags": ["VIP", "Brand new"]})

    assert "Brand new" in error.value.message_dict["tags"][0]
    assert not Tag.objects.filter(name="Brand new").exists()
    assert names(customer) == ["VIP"]


def test_a_tag_of_another_record_type_cannot_be_put_on_a_record(
    admin_user: Any, rep: Any, key_account: Tag, make_customer: Any, make_contact: Any
) -> None:
    contact = make_contact(rep, make_customer(rep, name="Acme"))

    with pytest.raises(ValidationError) as error:
        services.record_update(CONTACT, ctx=ctx(rep), obj=contact, data={"tags": [key_account]})

    assert "customers" in error.value.message_dict["tags"][0]
    assert names(contact) == []


@pytest.mark.parametrize("bad", [["x" * 51], ["ok", ""], [f"t{i}" for i in range(51)]])
def test_bad_tag_names_on_a_record_are_refused_naming_tags(rep: Any, make_customer: Any, bad: list[str]) -> None:
    with pytest.raises(ValidationError) as error:
        make_customer(rep, name="Acme", tags=bad)

    assert set(error.value.message_dict) == {"tags"}
    assert not Customer.objects.exists()
    assert not Tag.objects.exists()


def test_a_comma_separated_string_names_several_tags(rep: Any, vip: Tag, key_account: Tag, make_customer: Any) -> None:
    assert names(make_customer(rep, name="Acme", tags="VIP, key account")) == ["VIP", "key account"]


# --- bulk ------------------------------------------------------------------------------------------


def test_bulk_add_tags_only_on_records_the_user_can_see(rep: Any, other_rep: Any, vip: Tag, make_customer: Any) -> None:
    mine = [make_customer(rep, name=f"Mine {i}") for i in range(3)]
    theirs = make_customer(other_rep, name="Theirs")

    count = tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=[*mine, theirs], tags=["VIP"])

    assert count == 3
    assert all(names(obj) == ["VIP"] for obj in mine)
    assert names(theirs) == []
    assert not record_entries(theirs).filter(action=AuditAction.UPDATE).exists()


def test_bulk_add_accepts_ids_and_skips_records_in_the_trash(rep: Any, vip: Tag, make_customer: Any) -> None:
    alive = make_customer(rep, name="Alive")
    gone = make_customer(rep, name="Gone")
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=gone)

    assert tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=[alive.pk, gone.pk], tags=["VIP"]) == 1
    assert (names(alive), names(gone)) == (["VIP"], [])


def test_bulk_add_leaves_records_that_have_the_tags_alone(
    rep: Any, vip: Tag, key_account: Tag, make_customer: Any
) -> None:
    tagged = make_customer(rep, name="Tagged", tags=["VIP"])
    plain = make_customer(rep, name="Plain", tags=["key account"])

    count = tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=[tagged, plain], tags=["VIP"])

    assert count == 1
    assert Customer.objects.get(pk=tagged.pk).version == 1
    assert Customer.objects.get(pk=plain.pk).version == 2
    assert names(plain) == ["VIP", "key account"]
    assert record_entries(plain).filter(action=AuditAction.UPDATE).get().changes == {
        "tags": [["key account"], ["key account", "VIP"]]
    }


def test_bulk_remove_tags_keeps_the_other_tags(
    rep: Any, vip: Tag, key_account: Tag, make_customer: Any, django_capture_on_commit_callbacks: Any, published: Any
) -> None:
    both = make_customer(rep, name="Both", tags=["VIP", "key account"])
    one = make_customer(rep, name="One", tags=["VIP"])
    none = make_customer(rep, name="None")

    with django_capture_on_commit_callbacks(execute=True):
        count = tags.records_remove_tags(CUSTOMER, ctx=ctx(rep), objs=[both, one, none], tags=["vip"])

    assert count == 2
    assert (names(both), names(one), names(none)) == (["key account"], [], [])
    updated = sorted(e.record_id for e in published if e.type == "record.updated")
    assert updated == sorted([both.pk, one.pk])


def test_bulk_remove_does_not_create_unknown_tags(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(ValidationError) as error:
        tags.records_remove_tags(CUSTOMER, ctx=ctx(rep), objs=[customer], tags=["Nope"])

    assert "tags" in error.value.message_dict
    assert not Tag.objects.exists()


def test_bulk_add_can_create_a_new_tag_for_users_with_add_tag(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    assert tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=[customer], tags=["Fresh"]) == 1
    assert Tag.objects.get(name="Fresh").record_type == "customer"


def test_bulk_tagging_needs_change_permission(reader: Any, rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(PermissionDenied):
        tags.records_add_tags(CUSTOMER, ctx=ctx(reader), objs=[customer], tags=["VIP"])
    with pytest.raises(PermissionDenied):
        tags.records_remove_tags(CUSTOMER, ctx=ctx(reader), objs=[customer], tags=["VIP"])

    assert names(customer) == []


def test_bulk_tagging_with_no_tags_is_refused(rep: Any, make_customer: Any) -> None:
    with pytest.raises(ValidationError):
        tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=[make_customer(rep)], tags=[])


def test_bulk_tagging_contacts_follows_their_customers_visibility(
    rep: Any, other_rep: Any, vip: Tag, make_customer: Any, make_contact: Any
) -> None:
    mine = make_contact(rep, make_customer(rep, name="Mine"))
    theirs = make_contact(other_rep, make_customer(other_rep, name="Theirs"))

    assert tags.records_add_tags(CONTACT, ctx=ctx(rep), objs=[mine, theirs], tags=["VIP"]) == 1
    assert (names(mine), names(theirs)) == (["VIP"], [])


def test_bulk_tagging_takes_the_same_number_of_queries_for_3_or_30_records(
    rep: Any, vip: Tag, key_account: Tag, make_customer: Any, django_assert_max_num_queries: Any
) -> None:
    few = [make_customer(rep, name=f"F{i}", tags=["key account"]) for i in range(3)]
    many = [make_customer(rep, name=f"M{i}", tags=["key account"]) for i in range(30)]
    tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=few[:1], tags=["VIP"])  # warm caches

    with django_assert_max_num_queries(20) as measured:
        tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=few, tags=["VIP"])
    with django_assert_max_num_queries(len(measured.captured_queries)):
        tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=many, tags=["VIP"])
    with django_assert_max_num_queries(len(measured.captured_queries)):
        tags.records_remove_tags(CUSTOMER, ctx=ctx(rep), objs=many, tags=["VIP", "key account"])

    assert all(names(obj) == [] for obj in many)


def test_bulk_tagging_bumps_versions_so_a_form_opened_before_is_stale(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=[customer], tags=["VIP"])

    with pytest.raises(StaleVersion):
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"tags": []}, version=1)

    assert names(customer) == ["VIP"]


def test_a_failed_bulk_tagging_rolls_back_the_tags_it_created(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    def tag_then_fail() -> None:
        with transaction.atomic():
            tags.records_add_tags(CUSTOMER, ctx=ctx(rep), objs=[customer], tags=["Fresh"])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        tag_then_fail()

    assert not Tag.objects.exists()
    assert names(customer) == []


# --- API token scopes -------------------------------------------------------------------------


def test_a_type_tag_needs_the_areas_write_scope_and_a_shared_tag_the_write_scope(rep: Any) -> None:
    def token(scopes: str) -> Any:
        return token_create(ctx=ctx(rep), user=rep, scopes=scopes.split(","))[0]

    area_token, write_token, read_token = token("customers:write"), token("write"), token("read")

    assert tags.can_tag(ctx(rep, area_token), "add", "customer")
    assert not tags.can_tag(ctx(rep, area_token), "add", "")
    assert tags.can_tag(ctx(rep, write_token), "add", "")
    assert not tags.can_tag(ctx(rep, read_token), "add", "customer")


# --- the list filter (web list, export and API alike) ----------------------------------------


@pytest.fixture
def tagged(rep: Any, vip: Tag, key_account: Tag, make_customer: Any) -> dict[str, Customer]:
    return {
        "both": make_customer(rep, name="Both", tags=["VIP", "key account"]),
        "vip": make_customer(rep, name="Only VIP", tags=["VIP"]),
        "key": make_customer(rep, name="Only key", tags=["key account"]),
        "none": make_customer(rep, name="None"),
    }


def listed(user: Any, **params: str) -> set[str]:
    return {c.name for c in selectors.record_list(CUSTOMER, user=user, params=params)}


def test_filter_by_tags_matches_any_of_them_by_default(rep: Any, tagged: dict[str, Customer]) -> None:
    assert listed(rep, tags="vip,KEY ACCOUNT") == {"Both", "Only VIP", "Only key"}
    assert listed(rep, tags="vip,key account", tags_match="any") == {"Both", "Only VIP", "Only key"}
    assert listed(rep, tags="VIP") == {"Both", "Only VIP"}


def test_filter_by_tags_with_all_matches_records_with_every_tag(rep: Any, tagged: dict[str, Customer]) -> None:
    assert listed(rep, tags="VIP,key account", tags_match="all") == {"Both"}
    assert listed(rep, tags="VIP", tags_match="all") == {"Both", "Only VIP"}


def test_filter_by_tags_counts_each_record_once(rep: Any, tagged: dict[str, Customer]) -> None:
    queryset = selectors.record_list(CUSTOMER, user=rep, params={"tags": "VIP,key account"})
    assert queryset.count() == 3 == len(list(queryset))


def test_filter_by_tags_still_hides_other_teams_records(
    rep: Any, other_rep: Any, tagged: dict[str, Customer], make_customer: Any
) -> None:
    make_customer(other_rep, name="Southern VIP", tags=["VIP"])

    assert listed(rep, tags="VIP") == {"Both", "Only VIP"}
    assert listed(other_rep, tags="VIP") == {"Southern VIP"}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"tags": "VIP,Nope"}, "tags"), ({"tags": "VIP", "tags_match": "most"}, "tags_match")],
)
def test_bad_tag_filters_are_validation_errors_naming_the_filter(
    rep: Any, tagged: dict[str, Customer], params: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        selectors.record_list(CUSTOMER, user=rep, params=params)

    assert field in error.value.message_dict


def test_a_contact_list_cannot_be_filtered_by_a_customer_only_tag(
    rep: Any, tagged: dict[str, Customer], make_contact: Any
) -> None:
    make_contact(rep, tagged["vip"], name="Han Meimei", tags=["VIP"])

    assert {c.name for c in selectors.record_list(CONTACT, user=rep, params={"tags": "VIP"})} == {"Han Meimei"}
    with pytest.raises(ValidationError):
        selectors.record_list(CONTACT, user=rep, params={"tags": "key account"})


def test_query_filters_joins_repeated_parameters(rf: Any) -> None:
    request = rf.get("/customers/?tags=VIP&tags=key+account&city=&q=x&tags_match=all")

    assert selectors.query_filters(request.GET, {"q"}) == {"tags": "VIP,key account", "tags_match": "all"}


def test_usage_counts_only_count_records_the_user_can_see(
    rep: Any, other_rep: Any, admin_user: Any, tagged: dict[str, Customer], make_customer: Any, make_contact: Any
) -> None:
    make_customer(other_rep, name="Southern VIP", tags=["VIP"])
    make_contact(rep, tagged["vip"], tags=["VIP"])
    vip = Tag.objects.get(name="VIP")

    assert tags.usage_counts(rep, [vip])[vip.pk] == {"customer": 2, "contact": 1}
    assert tags.usage_counts(admin_user, [vip])[vip.pk] == {"customer": 3, "contact": 1}


def test_tag_badges_never_put_an_unchecked_colour_into_a_page(admin_user: Any) -> None:
    tag = Tag.objects.create(name="Sneaky", color="red;}")  # written behind the services' back

    assert tags.safe_color(tag.color) == "#206bc4"
    assert tags.text_color("#ffffff") == "#1d273b"
    assert tags.text_color("#1d273b") == "#ffffff"


def test_contact_model_tags_are_separate_from_customer_tags(
    rep: Any, vip: Tag, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])
    contact = make_contact(rep, customer, name="Li Lei")

    assert names(contact) == []
    assert Contact.objects.filter(tags=vip).count() == 0
