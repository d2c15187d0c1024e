"""Tags in the web interface: the list column and filter (any / all), bulk add and remove,
the tags field of record forms, the detail page and history, the CSV export, and the tag
settings page with its permissions."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from kehu.accounts.models import Role
from kehu.customers.models import Contact, Customer
from kehu.customers.records import CUSTOMER
from kehu.platform import tags
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditAction, AuditEntry, Tag

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_tag(user: Any, name: str, **data: Any) -> Tag:
    return tags.tag_create(Context(user=user, source=Source.CLI), name=name, **data)


def stored_names(obj: Any) -> list[str]:
    return tags.sorted_names(type(obj).all_objects.get(pk=obj.pk).tags.all())


def export_rows(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def vip(admin_user: Any) -> Tag:
    return make_tag(admin_user, "VIP", color="#d63939")


@pytest.fixture
def key_account(admin_user: Any) -> Tag:
    return make_tag(admin_user, "key account", color="#fab005", record_type="customer")


@pytest.fixture
def tagged(rep: Any, make_customer: Any, vip: Tag, key_account: Tag) -> dict[str, Customer]:
    return {
        "both": make_customer(rep, name="Both Ltd", tags=["VIP", "key account"]),
        "vip": make_customer(rep, name="Vip Ltd", tags=["VIP"]),
        "key": make_customer(rep, name="Key Ltd", tags=["key account"]),
        "none": make_customer(rep, name="Plain Ltd"),
    }


# ---------------------------------------------------------------- list column and filter


def test_tags_column_can_be_chosen_and_shows_coloured_badges(rep: Any, tagged: dict[str, Customer]) -> None:
    client = logged_in(rep)

    default = client.get("/customers/")
    assert "tags" in default.context["all_columns"]
    assert "tags" not in default.context["columns"]

    body = client.get("/customers/?cols=name&cols=tags").content.decode()
    assert '<span class="kehu-tag" style="--kehu-tag-bg: #d63939; --kehu-tag-fg: #ffffff;">VIP</span>' in body
    assert "--kehu-tag-bg: #fab005; --kehu-tag-fg: #1d273b;" in body  # dark text on a light colour


def test_list_filter_by_tags_matches_any_or_all(rep: Any, tagged: dict[str, Customer]) -> None:
    client = logged_in(rep)

    def names(query: str) -> set[str]:
        response = client.get(f"/customers/?{query}")
        assert response.status_code == 200
        return {obj.name for obj in response.context["rows"]}

    assert names("tags=VIP&tags=key+account") == {"Both Ltd", "Vip Ltd", "Key Ltd"}
    assert names("tags=VIP&tags=key+account&tags_match=all") == {"Both Ltd"}
    assert names("tags=VIP,key+account&tags_match=all") == {"Both Ltd"}
    assert names("tags=VIP") == {"Both Ltd", "Vip Ltd"}


def test_list_filter_offers_the_types_tags_and_keeps_the_chosen_ones(
    rep: Any, tagged: dict[str, Customer], admin_user: Any
) -> None:
    make_tag(admin_user, "Decision maker", record_type="contact")
    response = logged_in(rep).get("/customers/?tags=VIP&tags=key+account&tags_match=all")

    form = response.context["filter_form"]
    assert [value for value, _label in form.fields["tags"].widget.choices] == ["key account", "VIP"]
    body = response.content.decode()
    assert '<option value="VIP" selected>' in body
    assert '<option value="key account" selected>' in body
    assert '<option value="all" selected>' in body
    assert response.context["active_filters"] == 2


def test_an_unknown_tag_in_the_list_filter_is_reported_not_a_crash(rep: Any, tagged: dict[str, Customer]) -> None:
    response = logged_in(rep).get("/customers/?tags=Nope")

    assert response.status_code == 200
    assert list(response.context["rows"]) == []
    assert "Nope" in response.content.decode()


def test_list_with_the_tags_column_takes_no_more_queries_for_more_rows(
    rep: Any, vip: Tag, key_account: Tag, make_customer: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(3):
        make_customer(rep, name=f"C{i}", tags=["VIP", "key account"])
    client = logged_in(rep)
    url = "/customers/?cols=name&cols=tags&cols=owner"
    filtered = url + "&tags=VIP&tags=key+account&tags_match=all"
    client.get(url)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(18) as few:
        client.get(url)
    with django_assert_max_num_queries(20) as few_filtered:
        client.get(filtered)
    for i in range(40):
        make_customer(rep, name=f"D{i}", tags=["VIP"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
    with django_assert_max_num_queries(len(few_filtered.captured_queries)):
        client.get(filtered)


# ---------------------------------------------------------------- export


def test_export_has_a_tags_column_when_chosen(rep: Any, tagged: dict[str, Customer]) -> None:
    response = logged_in(rep).get("/customers/export.csv?cols=name&cols=tags&sort=name")

    rows = export_rows(response)
    assert rows[0] == ["name", "tags"]
    assert rows[1:] == [
        ["Both Ltd", "key account, VIP"],
        ["Key Ltd", "key account"],
        ["Plain Ltd", ""],
        ["Vip Ltd", "VIP"],
    ]


def test_export_uses_the_same_tag_filter(rep: Any, tagged: dict[str, Customer]) -> None:
    response = logged_in(rep).get("/customers/export.csv?cols=name&tags=VIP&tags=key+account&tags_match=all")

    assert export_rows(response)[1:] == [["Both Ltd"]]
    entry = AuditEntry.objects.filter(action=AuditAction.EXPORT).first()
    assert entry.extra["count"] == 1


def test_export_of_tags_is_protected_against_spreadsheet_formulas(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", tags=["=cmd"])

    rows = export_rows(logged_in(rep).get("/customers/export.csv?cols=name&cols=tags"))

    assert rows[1] == ["Acme", "'=cmd"]


def test_export_reads_tags_in_one_query_whatever_the_rows(
    rep: Any, vip: Tag, make_customer: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(3):
        make_customer(rep, name=f"C{i}", tags=["VIP"])
    client = logged_in(rep)
    url = "/customers/export.csv?cols=name&cols=tags"
    export_rows(client.get(url))
    with django_assert_max_num_queries(20) as few:
        export_rows(client.get(url))
    for i in range(30):
        make_customer(rep, name=f"D{i}", tags=["VIP"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = export_rows(client.get(url))
    assert len(rows) == 34
    assert all(row[1] == "VIP" for row in rows[1:])


# ---------------------------------------------------------------- bulk add and remove


def test_bulk_bar_offers_add_and_remove_tags_to_users_who_may_change(
    rep: Any, reader: Any, tagged: dict[str, Customer]
) -> None:
    assert 'value="add_tags"' in logged_in(rep).get("/customers/").content.decode()
    assert 'value="remove_tags"' in logged_in(rep).get("/contacts/").content.decode()  # no bulk fields needed
    assert 'value="add_tags"' not in logged_in(reader).get("/customers/").content.decode()


def test_bulk_add_tags_to_selected_records(
    rep: Any, other_rep: Any, tagged: dict[str, Customer], make_customer: Any
) -> None:
    theirs = make_customer(other_rep, name="Southern Ltd")
    client = logged_in(rep)
    ids = [tagged["key"].pk, tagged["none"].pk, theirs.pk]

    page = client.post("/customers/bulk/", {"ids": ids, "action": "add_tags"})
    assert page.status_code == 200
    assert [tag.name for tag in page.context["form"].fields["tags"].queryset] == ["key account", "VIP"]
    assert {obj.pk for obj in page.context["objs"]} == {tagged["key"].pk, tagged["none"].pk}

    vip = Tag.objects.get(name="VIP")
    response = client.post(
        "/customers/bulk/",
        {
            "ids": ids,
            "action": "add_tags",
            "apply": "1",
            "tags": [vip.pk],
            "new_tags": "Q3 campaign",
            "next": "/customers/",
        },
    )
    assert response.status_code == 302
    assert stored_names(tagged["key"]) == ["key account", "Q3 campaign", "VIP"]
    assert stored_names(tagged["none"]) == ["Q3 campaign", "VIP"]
    assert stored_names(theirs) == []
    assert Tag.objects.get(name="Q3 campaign").record_type == "customer"


def test_bulk_remove_offers_only_the_tags_on_the_selection(rep: Any, tagged: dict[str, Customer]) -> None:
    client = logged_in(rep)
    ids = [tagged["vip"].pk, tagged["none"].pk]

    page = client.post("/customers/bulk/", {"ids": ids, "action": "remove_tags"})
    assert [tag.name for tag in page.context["form"].fields["tags"].queryset] == ["VIP"]
    assert "new_tags" not in page.context["form"].fields

    vip = Tag.objects.get(name="VIP")
    response = client.post("/customers/bulk/", {"ids": ids, "action": "remove_tags", "apply": "1", "tags": [vip.pk]})
    assert response.status_code == 302
    assert stored_names(tagged["vip"]) == []
    assert stored_names(tagged["both"]) == ["key account", "VIP"]  # not selected


def test_bulk_tags_without_a_tag_shows_an_inline_error(rep: Any, tagged: dict[str, Customer]) -> None:
    response = logged_in(rep).post("/customers/bulk/", {"ids": [tagged["none"].pk], "action": "add_tags", "apply": "1"})

    assert response.status_code == 422
    assert response.context["form"].errors["tags"]


def test_bulk_tags_is_forbidden_for_read_only(reader: Any, tagged: dict[str, Customer]) -> None:
    vip = Tag.objects.get(name="VIP")
    response = logged_in(reader).post(
        "/customers/bulk/", {"ids": [tagged["none"].pk], "action": "add_tags", "apply": "1", "tags": [vip.pk]}
    )

    assert response.status_code == 403
    assert stored_names(tagged["none"]) == []


# ---------------------------------------------------------------- forms, detail, history


def test_create_form_offers_the_types_tags_and_new_names(rep: Any, vip: Tag, key_account: Tag, admin_user: Any) -> None:
    make_tag(admin_user, "Decision maker", record_type="contact")
    client = logged_in(rep)

    form = client.get("/customers/new/").context["form"]
    assert [tag.name for tag in form.fields["tags"].queryset] == ["key account", "VIP"]
    assert "new_tags" in form.fields

    response = client.post(
        "/customers/new/", {"kind": "company", "name": "Tagged Ltd", "tags": [vip.pk], "new_tags": "Hot lead, Q3"}
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    customer = Customer.objects.get(name="Tagged Ltd")
    assert stored_names(customer) == ["Hot lead", "Q3", "VIP"]


def test_tag_picker_renders_toggles_in_the_tags_colours(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    body = logged_in(rep).get(f"/customers/{customer.pk}/edit/").content.decode()

    assert 'class="kehu-tag-picker"' in body
    assert "--kehu-tag-bg: #d63939;" in body
    assert f'name="tags" value="{vip.pk}"' in body
    assert "checked" in body.split(f'name="tags" value="{vip.pk}"')[1].split(">")[0]


def test_edit_form_can_untick_every_tag(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    response = logged_in(rep).post(f"/customers/{customer.pk}/edit/", {"kind": "company", "name": "Acme", "version": 1})

    assert response.status_code == 302
    assert stored_names(customer) == []


def test_users_without_add_tag_get_no_new_tags_field_and_cannot_sneak_one_in(
    rep: Any, vip: Tag, make_customer: Any
) -> None:
    Role.objects.get(key="sales").permissions.remove(Permission.objects.get(codename="add_tag"))
    client = logged_in(rep)

    assert "new_tags" not in client.get("/customers/new/").context["form"].fields
    response = client.post("/customers/new/", {"kind": "company", "name": "Sneaky", "new_tags": "Invented"})
    assert response.status_code == 302
    assert not Tag.objects.filter(name="Invented").exists()


def test_a_bad_new_tag_name_is_an_inline_error(rep: Any) -> None:
    response = logged_in(rep).post("/customers/new/", {"kind": "company", "name": "Acme", "new_tags": "x" * 60})

    assert response.status_code == 422
    assert response.context["form"].errors["tags"]
    assert not Customer.objects.exists()


def test_contact_form_has_tags_too(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    client = logged_in(rep)

    response = client.post("/contacts/new/", {"customer": customer.pk, "name": "Li Lei", "tags": [vip.pk]})

    assert response.status_code == 302
    assert stored_names(Contact.objects.get(name="Li Lei")) == ["VIP"]


def test_detail_page_shows_the_tags_and_history_shows_the_change(rep: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    client = logged_in(rep)
    assert "No tags" in client.get(f"/customers/{customer.pk}/").content.decode()

    tags.record_set_tags(CUSTOMER, Context(user=rep), customer, ["VIP"])

    assert ">VIP</span>" in client.get(f"/customers/{customer.pk}/").content.decode()
    history = client.get(f"/customers/{customer.pk}/history/")
    [row] = [row for row in history.context["history"] if row["entry"].action == AuditAction.UPDATE]
    assert row["changes"] == [("tags", "—", "VIP")]


# ---------------------------------------------------------------- settings page


def test_tag_settings_page_lists_tags_with_usage_per_record_type(
    admin_user: Any, rep: Any, tagged: dict[str, Customer], make_contact: Any
) -> None:
    make_contact(rep, tagged["vip"], tags=["VIP"])

    response = logged_in(admin_user).get("/settings/tags/")

    assert response.status_code == 200
    rows = {row["tag"].name: row for row in response.context["rows"]}
    assert rows["VIP"]["usage"] == [("Customers", 2), ("Contacts", 1)]
    assert rows["VIP"]["type_label"] == "All record types"
    assert rows["key account"]["usage"] == [("Customers", 2)]
    body = response.content.decode()
    assert "Delete the tag “VIP”? 3 records will lose it." in body


def test_tag_settings_page_filters_by_record_type_and_name(admin_user: Any, vip: Tag, key_account: Tag) -> None:
    client = logged_in(admin_user)

    def names(query: str) -> list[str]:
        return [row["tag"].name for row in client.get(f"/settings/tags/?{query}").context["rows"]]

    assert names("") == ["key account", "VIP"]
    assert names("scope=shared") == ["VIP"]
    assert names("scope=customer") == ["key account"]
    assert names("scope=contact") == []
    assert names("q=acc") == ["key account"]
    assert names("scope=planet") == ["key account", "VIP"]


def test_create_a_tag_on_the_settings_page(admin_user: Any) -> None:
    client = logged_in(admin_user)

    response = client.post("/settings/tags/", {"name": "Partner", "color": "#2fb344", "record_type": "contact"})

    assert response.status_code == 302
    assert Tag.objects.filter(name="Partner", color="#2fb344", record_type="contact").exists()
    duplicate = client.post("/settings/tags/", {"name": "partner", "color": "#000000", "record_type": "contact"})
    assert duplicate.status_code == 422
    assert duplicate.context["form"].errors["name"]
    bad_colour = client.post("/settings/tags/", {"name": "Other", "color": "green", "record_type": ""})
    assert bad_colour.context["form"].errors["color"]


def test_rename_and_recolour_on_the_edit_page(make_user: Any, vip: Tag) -> None:
    manager = make_user("chief", "manager")
    client = logged_in(manager)

    page = client.get(f"/settings/tags/{vip.pk}/")
    assert page.status_code == 200
    assert not page.context["may"]["delete"]
    response = client.post(f"/settings/tags/{vip.pk}/", {"name": "V.I.P.", "color": "#000000", "record_type": ""})

    assert response.status_code == 302
    vip.refresh_from_db()
    assert (vip.name, vip.color) == ("V.I.P.", "#000000")


def test_delete_on_the_settings_page_reports_how_many_records_lost_it(
    admin_user: Any, tagged: dict[str, Customer]
) -> None:
    vip = Tag.objects.get(name="VIP")
    client = logged_in(admin_user)

    page = client.get(f"/settings/tags/{vip.pk}/")
    assert "Delete the tag “VIP”? 2 records will lose it." in page.content.decode()
    response = client.post(f"/settings/tags/{vip.pk}/delete/", follow=True)

    assert not Tag.objects.filter(name="VIP").exists()
    assert "Tag “VIP” deleted; 2 records lost it." in response.content.decode()
    assert stored_names(tagged["both"]) == ["key account"]


def test_settings_page_permissions(admin_user: Any, rep: Any, reader: Any, make_user: Any, vip: Tag) -> None:
    manager = make_user("chief", "manager")

    assert logged_in(reader).get("/settings/tags/").status_code == 403
    assert logged_in(reader).post("/settings/tags/", {"name": "X", "color": "#000000"}).status_code == 403
    sales_page = logged_in(rep).get("/settings/tags/")
    assert sales_page.status_code == 200
    assert sales_page.context["form"] is not None  # sales may create tags
    assert f"/settings/tags/{vip.pk}/" not in sales_page.content.decode()  # but not edit them
    assert logged_in(rep).post(f"/settings/tags/{vip.pk}/", {"name": "X", "color": "#000000"}).status_code == 403
    assert logged_in(manager).post(f"/settings/tags/{vip.pk}/delete/").status_code == 403
    assert logged_in(rep).post(f"/settings/tags/{vip.pk}/delete/").status_code == 403
    assert Tag.objects.filter(pk=vip.pk).exists()
    assert logged_in(admin_user).get("/settings/tags/999999/").status_code == 404
    assert Client().get("/settings/tags/").status_code == 302  # to the login page


def test_user_menu_links_to_the_tag_settings_for_users_with_tag_permissions(
    admin_user: Any, rep: Any, reader: Any
) -> None:
    assert 'href="/settings/tags/"' in logged_in(admin_user).get("/").content.decode()
    assert 'href="/settings/tags/"' in logged_in(rep).get("/").content.decode()
    assert 'href="/settings/tags/"' not in logged_in(reader).get("/").content.decode()


def test_nul_characters_in_tag_filters_are_no_server_error(admin_user: Any, vip: Tag) -> None:
    client = logged_in(admin_user)

    assert client.get("/customers/?tags=VIP%00").status_code == 200
    assert client.get("/settings/tags/?q=V%00").status_code == 200
