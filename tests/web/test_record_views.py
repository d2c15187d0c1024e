"""The generic web views, proven on customers and contacts: who may see and change what,
forms with inline errors, concurrent edits, bulk actions, trash, saved views and export."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Contact, Customer
from kehu.platform.models import AuditEntry, SavedView

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_rep_list_shows_own_and_team_customers_only(
    rep: Any, other_rep: Any, make_user: Any, make_customer: Any
) -> None:
    mate = make_user("mate", "sales", "East sales")
    make_customer(rep, name="Mine Ltd")
    make_customer(mate, name="Teammate Ltd")
    make_customer(other_rep, name="Southern Ltd")
    response = logged_in(rep).get("/customers/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Mine Ltd" in body
    assert "Teammate Ltd" in body
    assert "Southern Ltd" not in body


def test_rep_gets_404_for_other_teams_customer_pages(rep: Any, other_rep: Any, make_customer: Any) -> None:
    theirs = make_customer(other_rep, name="Southern Ltd")
    client = logged_in(rep)
    assert client.get(f"/customers/{theirs.pk}/").status_code == 404
    assert client.get(f"/customers/{theirs.pk}/edit/").status_code == 404
    assert client.get(f"/customers/{theirs.pk}/history/").status_code == 404
    assert client.post(f"/customers/{theirs.pk}/edit/", {"name": "Hijacked", "kind": "company"}).status_code == 404
    assert client.post(f"/customers/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Southern Ltd"
    assert theirs.deleted_at is None


def test_manager_sees_their_team_tree_but_not_sibling_branches(make_user: Any, make_customer: Any) -> None:
    from kehu.accounts.services import team_get_or_create

    head = team_get_or_create(name="Head office")
    east = team_get_or_create(name="East region", parent=head)
    team_get_or_create(name="Hangzhou", parent=east)
    team_get_or_create(name="South region", parent=head)
    manager = make_user("east_boss", "manager", "East region")
    hangzhou_rep = make_user("hz", "sales", "Hangzhou")
    south_rep = make_user("sz", "sales", "South region")
    below = make_customer(hangzhou_rep, name="Hangzhou Tea")
    beside = make_customer(south_rep, name="Shenzhen Chips")
    client = logged_in(manager)
    body = client.get("/customers/").content.decode()
    assert "Hangzhou Tea" in body
    assert "Shenzhen Chips" not in body
    assert client.get(f"/customers/{below.pk}/").status_code == 200
    assert client.get(f"/customers/{beside.pk}/").status_code == 404
    search = client.get("/search/", {"q": "Shenzhen"}).content.decode()
    assert "Shenzhen Chips" not in search
    export = b"".join(client.get("/customers/export.csv").streaming_content).decode("utf-8-sig")
    assert "Hangzhou Tea" in export
    assert "Shenzhen Chips" not in export


def test_guessed_ids_of_invisible_and_missing_records_look_the_same(
    rep: Any, other_rep: Any, make_customer: Any, make_contact: Any
) -> None:
    theirs = make_customer(other_rep, name="Southern Ltd")
    their_contact = make_contact(other_rep, theirs, name="Wang Fang")
    client = logged_in(rep)
    missing = client.get("/customers/999999/")
    hidden = client.get(f"/customers/{theirs.pk}/")
    assert missing.status_code == hidden.status_code == 404
    assert client.get(f"/contacts/{their_contact.pk}/").status_code == 404
    assert client.get(f"/contacts/{their_contact.pk}/edit/").status_code == 404
    assert client.get("/customers/not-a-number/").status_code == 404


def test_list_requires_login(db: Any) -> None:
    response = Client().get("/customers/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_create_customer_through_form_normalizes_phone_and_audits(rep: Any) -> None:
    client = logged_in(rep)
    response = client.post("/customers/new/", {"kind": "company", "name": "新客户有限公司", "phone": "138 1234 5678"})
    customer = Customer.objects.get(name="新客户有限公司")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    assert customer.phone == "+8613812345678"
    assert customer.owner == rep
    entry = AuditEntry.objects.get(object_id=customer.pk, action="create", content_type__model="customer")
    assert entry.source == "web"
    assert entry.changes["name"] == [None, "新客户有限公司"]


def test_invalid_phone_in_form_shows_inline_error_and_writes_nothing(rep: Any) -> None:
    response = logged_in(rep).post("/customers/new/", {"kind": "company", "name": "Bad Phone Ltd", "phone": "12"})
    assert response.status_code == 422
    assert "Enter a valid phone number." in response.content.decode()
    assert not Customer.all_objects.filter(name="Bad Phone Ltd").exists()


def test_missing_name_is_refused_with_field_error(rep: Any) -> None:
    response = logged_in(rep).post("/customers/new/", {"kind": "company", "name": ""})
    assert response.status_code == 422
    assert response.context["form"].errors["name"]


def test_read_only_user_cannot_open_create_form_or_post(reader: Any) -> None:
    client = logged_in(reader)
    assert client.get("/customers/new/").status_code == 403
    assert client.post("/customers/new/", {"kind": "company", "name": "Nope"}).status_code == 403
    assert not Customer.objects.filter(name="Nope").exists()


def test_stale_edit_is_refused_and_changes_nothing(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    client = logged_in(rep)
    first = client.post(f"/customers/{customer.pk}/edit/", {"kind": "company", "name": "Acme One", "version": 1})
    assert first.status_code == 302
    stale = client.post(f"/customers/{customer.pk}/edit/", {"kind": "company", "name": "Acme Two", "version": 1})
    assert stale.status_code == 422
    assert "changed by someone else" in stale.content.decode()
    customer.refresh_from_db()
    assert customer.name == "Acme One"
    assert customer.version == 2


def test_history_tab_shows_before_and_after(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", city="Hangzhou")
    client = logged_in(rep)
    client.post(
        f"/customers/{customer.pk}/edit/", {"kind": "company", "name": "Acme", "city": "Shanghai", "version": 1}
    )
    response = client.get(f"/customers/{customer.pk}/history/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Hangzhou" in body
    assert "Shanghai" in body
    assert "City" in body


def test_delete_moves_customer_and_contacts_to_trash_and_restore_brings_them_back(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    contact = make_contact(rep, customer, name="Wang Wu")
    client = logged_in(rep)
    assert client.post(f"/customers/{customer.pk}/delete/", {"version": customer.version}).status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Contact.objects.filter(pk=contact.pk).exists()
    trash = client.get("/customers/trash/")
    assert "Acme" in trash.content.decode()
    assert client.post(f"/customers/{customer.pk}/restore/").status_code == 302
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_bulk_edit_changes_only_visible_selected_records(rep: Any, other_rep: Any, make_customer: Any) -> None:
    mine = [make_customer(rep, name=f"Mine {i}") for i in range(3)]
    theirs = make_customer(other_rep, name="Theirs")
    ids = [str(c.pk) for c in mine] + [str(theirs.pk)]
    client = logged_in(rep)
    form = client.post("/customers/bulk/", {"ids": ids, "action": "edit"})
    assert form.status_code == 200
    response = client.post(
        "/customers/bulk/", {"ids": ids, "action": "edit", "apply": "1", "apply_industry": "on", "industry": "Retail"}
    )
    assert response.status_code == 302
    assert set(Customer.objects.filter(industry="Retail").values_list("name", flat=True)) == {
        "Mine 0",
        "Mine 1",
        "Mine 2",
    }
    theirs.refresh_from_db()
    assert theirs.industry == ""
    assert AuditEntry.objects.filter(action="update", changes__has_key="industry").count() == 3


def test_bulk_delete_moves_selected_to_trash(rep: Any, make_customer: Any) -> None:
    first, second, _keep = (make_customer(rep, name=n) for n in ("One", "Two", "Keep"))
    response = logged_in(rep).post("/customers/bulk/", {"ids": [first.pk, second.pk], "action": "delete"})
    assert response.status_code == 302
    assert list(Customer.objects.values_list("name", flat=True)) == ["Keep"]


def test_bulk_delete_is_forbidden_for_read_only(reader: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Safe")
    response = logged_in(reader).post("/customers/bulk/", {"ids": [customer.pk], "action": "delete"})
    assert response.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_list_filters_sorts_and_searches(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Beta Person", kind="person", city="Beijing")
    make_customer(rep, name="Alpha Corp", kind="company", city="Shanghai")
    client = logged_in(rep)
    names = [c.name for c in client.get("/customers/?kind=person").context["rows"]]
    assert names == ["Beta Person"]
    names = [c.name for c in client.get("/customers/?sort=name").context["rows"]]
    assert names == ["Alpha Corp", "Beta Person"]
    names = [c.name for c in client.get("/customers/?q=shang").context["rows"]]
    assert names == ["Alpha Corp"]


def test_list_answers_table_partial_to_htmx(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme")
    response = logged_in(rep).get("/customers/?q=Acme", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="record-table")
    body = response.content.decode()
    assert "Acme" in body
    assert "<html" not in body


def test_chosen_columns_are_shown(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", website="https://acme.example")
    response = logged_in(rep).get("/customers/?cols=name&cols=website&cols=bogus")
    assert response.context["columns"] == ["name", "website"]
    assert "https://acme.example" in response.content.decode()


def test_saved_view_is_stored_and_listed(rep: Any, make_user: Any) -> None:
    client = logged_in(rep)
    response = client.post("/customers/views/", {"name": "People", "query": "kind=person&sort=name", "shared": "1"})
    view = SavedView.objects.get(user=rep, name="People")
    assert response.status_code == 302
    assert view.query == "kind=person&sort=name"
    mate = make_user("mate", "sales", "East sales")
    assert "People" in logged_in(mate).get("/customers/").content.decode()


def test_csv_export_has_bom_escapes_formulas_respects_visibility_and_is_audited(
    rep: Any, other_rep: Any, make_customer: Any
) -> None:
    make_customer(rep, name='=HYPERLINK("http://evil")')
    make_customer(rep, name="上海贸易")
    make_customer(other_rep, name="Hidden Ltd")
    response = logged_in(rep).get("/customers/export.csv?cols=number&cols=name")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    assert "'=HYPERLINK" in body
    assert "上海贸易" in body
    assert "Hidden Ltd" not in body
    entry = AuditEntry.objects.get(action="export")
    assert entry.extra["count"] == 2
    assert entry.actor == rep


def test_list_query_count_does_not_grow_with_rows(
    rep: Any, make_customer: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(3):
        make_customer(rep, name=f"C{i}", tags=["VIP"])
    client = logged_in(rep)
    client.get("/customers/")  # warm caches (content types, sessions)
    with django_assert_max_num_queries(16) as few:  # the filter choices of stages and grades included
        client.get("/customers/")
    with django_assert_max_num_queries(len(few.captured_queries) + 1) as few_with_tags:  # the tags, once
        client.get("/customers/?cols=name&cols=tags")
    for i in range(40):
        make_customer(rep, name=f"D{i}", tags=["VIP"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/customers/")
    with django_assert_max_num_queries(len(few_with_tags.captured_queries)):
        client.get("/customers/?cols=name&cols=tags")


def test_contact_form_offers_only_visible_customers(rep: Any, other_rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Visible Co")
    hidden = make_customer(other_rep, name="Hidden Co")
    client = logged_in(rep)
    form = client.get("/contacts/new/").context["form"]
    assert [c.name for c in form.fields["customer"].queryset] == ["Visible Co"]
    response = client.post("/contacts/new/", {"customer": hidden.pk, "name": "Sneaky"})
    assert response.status_code == 422
    assert not Contact.objects.filter(name="Sneaky").exists()


def test_contact_list_filter_offers_only_visible_customers(rep: Any, other_rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Visible Co")
    make_customer(other_rep, name="Hidden Co")
    response = logged_in(rep).get("/contacts/filters/")  # the panel's fields, fetched when it opens
    assert [c.name for c in response.context["filter_form"].fields["customer"].queryset] == ["Visible Co"]
    assert "Visible Co" in response.content.decode()
    assert "Hidden Co" not in response.content.decode()
    assert "Hidden Co" not in logged_in(rep).get("/contacts/").content.decode()


def test_list_page_renders_the_filter_fields_only_when_filters_are_in_use(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", kind="company")
    client = logged_in(rep)

    plain = client.get("/customers/")
    assert plain.context["filter_form"] is None
    assert 'hx-get="/customers/filters/"' in plain.content.decode()
    filtered = client.get("/customers/?kind=company")
    assert filtered.context["filter_form"] is not None
    assert '<option value="company" selected>' in filtered.content.decode()
    assert client.get("/customers/filters/?kind=person").context["filter_form"]["kind"].value() == "person"


def test_customer_detail_lists_its_contacts(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme")
    make_contact(rep, customer, name="Han Meimei", is_primary=True)
    body = logged_in(rep).get(f"/customers/{customer.pk}/related/contacts/").content.decode()  # the tab
    assert "Han Meimei" in body


def test_detail_page_shows_the_newest_related_rows_and_links_to_all_of_them(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    from kehu.platform.views import CHILD_ROWS

    customer = make_customer(rep, name="Big Account Ltd")
    for n in range(CHILD_ROWS + 1):
        make_contact(rep, customer, name=f"Person {n:02d}")
    small = make_customer(rep, name="Small Ltd")
    make_contact(rep, small, name="Only One")

    client = logged_in(rep)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Person " not in page  # the tab fetches its rows when opened
    assert re.search(
        rf'hx-get="/customers/{customer.pk}/related/contacts/"[^>]*>Contacts <span[^>]*>{CHILD_ROWS + 1}<', page
    )
    body = client.get(f"/customers/{customer.pk}/related/contacts/").content.decode()
    assert body.count("Person ") == CHILD_ROWS  # the newest first: the oldest is left out
    assert "Person 00" not in body
    assert f'href="/contacts/?customer={customer.pk}"' in body
    small_body = client.get(f"/customers/{small.pk}/related/contacts/").content.decode()
    assert "Only One" in small_body
    assert "child-more-contacts" not in small_body
