"""The "Reassign" bulk action of the customer list and "Change owner" of one customer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Contact, Customer
from tests.customers.reassign_support import many_customers, reassign_entries

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(make_user: Any, east: Any, south: Any) -> Any:
    """A manager of Head office (East and South sales below it)."""
    return make_user("chief", "manager", "Head office")


@pytest.fixture
def teammate(make_user: Any, east: Any) -> Any:
    return make_user("mate", "sales", "East sales")


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- the list's bulk bar --------------------------------------------------------------------


def test_the_bulk_bar_offers_reassign_only_to_those_who_may(manager: Any, rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme")

    assert b'data-testid="bulk-reassign"' in logged_in(manager).get("/customers/").content
    assert b'formaction="/customers/reassign/"' in logged_in(manager).get("/customers/").content
    assert b'data-testid="bulk-reassign"' not in logged_in(rep).get("/customers/").content
    assert b'data-testid="bulk-reassign"' not in logged_in(manager).get("/contacts/").content


def test_ticked_rows_open_the_form_with_every_id(manager: Any, rep: Any, make_customer: Any) -> None:
    first, second = make_customer(rep, name="First Co"), make_customer(rep, name="Second Co")

    response = logged_in(manager).post(
        "/customers/reassign/", {"ids": [first.pk, second.pk], "next": "/customers/?q=Co"}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="reassign-form"' in body
    assert f'name="ids" value="{first.pk},{second.pk}"' in body  # one field, however many
    assert "First Co" in body
    assert "Second Co" in body
    assert "checked" in body.split('name="include_related"')[1].split(">")[0]  # ticked by default
    assert Customer.objects.get(pk=first.pk).version == 1  # nothing changed yet


def test_a_thousand_customers_in_one_post(
    manager: Any,
    rep: Any,
    other_rep: Any,
    south: Any,
    make_customer: Any,
    make_contact: Any,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customers = many_customers(make_customer, make_contact, rep, 1000)
    ids = [customer.pk for customer in customers]
    client = logged_in(manager)
    form = client.post("/customers/reassign/", {"ids": ids[:200], "next": "/customers/"})  # a full page ticked
    assert form.status_code == 200

    started = time.perf_counter()
    with django_assert_max_num_queries(100) as queries, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/customers/reassign/",
            {"apply": "1", "ids": ",".join(map(str, ids)), "owner": other_rep.pk, "include_related": "on"},
        )
    print(f"\nweb reassign of 1,000: {time.perf_counter() - started:.2f} s, {len(queries.captured_queries)} queries")

    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    assert set(Customer.objects.filter(pk__in=ids).values_list("owner_id", "team_id")) == {(other_rep.pk, south.pk)}
    assert set(Contact.objects.filter(customer_id__in=ids).values_list("owner_id", flat=True)) == {other_rep.pk}
    assert reassign_entries().filter(source="web").count() == 1000
    page = client.get("/customers/")
    assert any(text.startswith(f"Reassigned 1,000 customers to {other_rep}") for text in messages_of(page))


def test_a_thousand_customers_matching_the_filters_from_one_ticked_row(
    manager: Any,
    rep: Any,
    other_rep: Any,
    make_customer: Any,
    make_contact: Any,
    django_assert_max_num_queries: Any,
) -> None:
    customers = many_customers(make_customer, make_contact, rep, 1000, contacts=False)
    someone_elses = make_customer(other_rep, name="Not rep's")
    back = f"/customers/?owner={rep.pk}&sort=name"
    client = logged_in(manager)

    form = client.post("/customers/reassign/", {"ids": [customers[0].pk], "next": back})
    assert "All 1,000 customers matching the list&#x27;s filters" in form.content.decode()
    with django_assert_max_num_queries(100):
        response = client.post(
            "/customers/reassign/",
            {"apply": "1", "ids": str(customers[0].pk), "scope": "matching", "owner": other_rep.pk, "next": back},
        )

    assert response["Location"] == back
    assert Customer.objects.filter(owner=other_rep).count() == 1001
    assert reassign_entries().count() == 1000
    assert Customer.objects.get(pk=someone_elses.pk).version == 1


def test_all_customers_matching_the_lists_filters(manager: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    steel = [make_customer(rep, name=f"Steel {index}", industry="Steel") for index in range(3)]
    paper = make_customer(rep, name="Paper", industry="Paper")
    client = logged_in(manager)
    back = "/customers/?industry=Steel&per_page=25"

    form = client.post("/customers/reassign/", {"ids": [steel[0].pk], "next": back})
    assert "All 3 customers matching the list&#x27;s filters" in form.content.decode()

    response = client.post(
        "/customers/reassign/",
        {"apply": "1", "ids": [steel[0].pk], "scope": "matching", "owner": other_rep.pk, "next": back},
    )

    assert response.status_code == 302
    assert response["Location"] == back
    assert {c.owner_id for c in Customer.objects.filter(pk__in=[c.pk for c in steel])} == {other_rep.pk}
    assert Customer.objects.get(pk=paper.pk).owner == rep


def test_only_the_ticked_rows_unless_asked_for_all_matching(
    manager: Any, rep: Any, other_rep: Any, make_customer: Any
) -> None:
    first, second = make_customer(rep, name="First"), make_customer(rep, name="Second")

    logged_in(manager).post(
        "/customers/reassign/",
        {"apply": "1", "ids": [first.pk], "scope": "selected", "owner": other_rep.pk, "next": "/customers/"},
    )

    assert Customer.objects.get(pk=first.pk).owner == other_rep
    assert Customer.objects.get(pk=second.pk).owner == rep


def test_sales_rep_gets_403(rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    client = logged_in(rep)

    assert client.post("/customers/reassign/", {"ids": [customer.pk]}).status_code == 403
    response = client.post("/customers/reassign/", {"apply": "1", "ids": [customer.pk], "owner": teammate.pk})
    assert response.status_code == 403
    assert client.get(f"/customers/{customer.pk}/reassign/").status_code == 403
    assert Customer.objects.get(pk=customer.pk).owner == rep


def test_anonymous_users_are_sent_to_log_in() -> None:
    response = Client().get("/customers/reassign/")

    assert response.status_code == 302
    assert "/login" in response["Location"] or "/accounts/" in response["Location"]


def test_inactive_owner_is_not_offered_and_refused(manager: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    other_rep.is_active = False
    other_rep.save()
    client = logged_in(manager)

    form = client.get("/customers/reassign/", {"ids": [customer.pk]})
    assert other_rep not in form.context["form"].fields["owner"].queryset
    response = client.post("/customers/reassign/", {"apply": "1", "ids": [customer.pk], "owner": other_rep.pk})

    assert response.status_code == 422
    assert response.context["form"].errors["owner"]
    assert Customer.objects.get(pk=customer.pk).owner == rep


def test_invisible_customers_are_skipped_and_said_so(
    make_user: Any, rep: Any, other_rep: Any, teammate: Any, make_customer: Any
) -> None:
    east_manager = make_user("east_boss", "manager", "East sales")
    ours = make_customer(rep, name="Ours")
    theirs = make_customer(other_rep, name="Theirs")
    client = logged_in(east_manager)

    form = client.post("/customers/reassign/", {"ids": [ours.pk, theirs.pk]})
    assert "Theirs" not in form.content.decode()  # no names of customers they cannot see
    response = client.post(
        "/customers/reassign/",
        {"apply": "1", "ids": [ours.pk, theirs.pk], "owner": teammate.pk, "next": "/customers/"},
        follow=True,
    )

    texts = messages_of(response)
    assert any("Reassigned 1 customer to" in text for text in texts)
    assert any("1 customer was skipped" in text for text in texts)
    assert Customer.objects.get(pk=theirs.pk).owner == other_rep


def test_nothing_ticked_goes_back_with_a_warning(manager: Any) -> None:
    response = logged_in(manager).post("/customers/reassign/", {"next": "/customers/"}, follow=True)

    assert any("Select at least one customer" in text for text in messages_of(response))


def test_a_foreign_next_url_is_not_followed(manager: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    response = logged_in(manager).post(
        "/customers/reassign/",
        {"apply": "1", "ids": [customer.pk], "owner": other_rep.pk, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/customers/"


def test_more_than_the_limit_matching_is_refused(
    manager: Any, rep: Any, other_rep: Any, make_customer: Any, monkeypatch: Any
) -> None:
    from kehu.customers import reassign

    customers = [make_customer(rep, name=f"Co {index}") for index in range(3)]
    monkeypatch.setattr(reassign, "MAX_IDS", 2)

    response = logged_in(manager).post(
        "/customers/reassign/",
        {"apply": "1", "ids": [customers[0].pk], "scope": "matching", "owner": other_rep.pk, "next": "/customers/"},
    )

    assert response.status_code == 422
    assert "At most 2 customers" in response.content.decode()
    assert not reassign_entries().exists()


# --- one customer ---------------------------------------------------------------------------


def test_change_owner_of_one_customer(manager: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    client = logged_in(manager)

    form = client.get(f"/customers/{customer.pk}/reassign/")
    assert form.status_code == 200
    assert "Change the owner of Acme" in form.content.decode()
    response = client.post(f"/customers/{customer.pk}/reassign/", {"apply": "1", "owner": other_rep.pk}, follow=True)

    assert response.redirect_chain[-1][0] == f"/customers/{customer.pk}/"
    assert Customer.objects.get(pk=customer.pk).owner == other_rep
    assert reassign_entries().count() == 1


def test_change_owner_of_an_invisible_customer_is_404(
    make_user: Any, other_rep: Any, rep: Any, make_customer: Any
) -> None:
    east_manager = make_user("east_boss", "manager", "East sales")
    theirs = make_customer(other_rep, name="Theirs")
    client = logged_in(east_manager)

    assert client.get(f"/customers/{theirs.pk}/reassign/").status_code == 404
    assert client.post(f"/customers/{theirs.pk}/reassign/", {"apply": "1", "owner": rep.pk}).status_code == 404
    assert Customer.objects.get(pk=theirs.pk).owner == other_rep


def test_the_page_works_in_chinese(manager: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="华为")
    client = logged_in(manager)
    client.cookies["django_language"] = "zh-hans"

    response = client.get(f"/customers/{customer.pk}/reassign/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert "华为" in response.content.decode()
