"""Customers in full: parent companies (group accounts) without loops, credit fields, stage and
grade in lists, filters, sorting and the API; contacts with decision roles, reporting lines
inside the customer and contact preferences."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kehu.customers import lifecycle
from kehu.customers.models import Contact, Customer
from kehu.customers.services import customer_update, subsidiaries
from kehu.platform import services
from kehu.platform.context import Context
from tests.api.support import assert_problem, error_fields

pytestmark = pytest.mark.django_db


def update(user: Any, customer: Any, **data: Any) -> Any:
    return customer_update(ctx=Context(user=user), customer=Customer.objects.get(pk=customer.pk), data=data)


# ---------------------------------------------------------------- group accounts


def test_a_customer_can_have_a_parent_company(rep: Any, make_customer: Any) -> None:
    group = make_customer(rep, name="Group")
    child = make_customer(rep, name="Subsidiary", parent=group)

    assert child.parent == group
    assert list(subsidiaries(rep, group)) == [child]


def test_a_customer_cannot_be_its_own_parent(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)

    with pytest.raises(ValidationError) as error:
        update(rep, customer, parent=customer.pk)

    assert error.value.message_dict == {"parent": ["A customer cannot be its own parent company."]}


def test_a_group_cannot_loop(rep: Any, make_customer: Any) -> None:
    top = make_customer(rep, name="Top")
    middle = make_customer(rep, name="Middle", parent=top)
    bottom = make_customer(rep, name="Bottom", parent=middle)

    with pytest.raises(ValidationError) as error:
        update(rep, top, parent=bottom.pk)

    assert error.value.message_dict == {
        "parent": ["Bottom belongs to this customer's group already; it cannot also be its parent."]
    }
    assert Customer.objects.get(pk=top.pk).parent_id is None


def test_the_parent_must_be_a_customer_the_user_can_see(rep: Any, other_rep: Any, make_customer: Any) -> None:
    theirs = make_customer(other_rep, name="Theirs")

    with pytest.raises(ValidationError) as error:
        make_customer(rep, parent=theirs)

    assert list(error.value.message_dict) == ["parent"]


def test_api_shows_stage_grade_parent_and_credit_fields(api_as: Any, rep: Any, make_customer: Any) -> None:
    group = make_customer(rep, name="Group")
    api = api_as(rep)

    created = api.post("/customers/", {"name": "Sub", "parent": group.pk, "grade": "A", "credit_rating": "AA"})
    refused = api.patch(f"/customers/{created.json()['id']}/", {"credit_limit": "100000"})
    loop = api.patch(f"/customers/{group.pk}/", {"parent": created.json()["id"]})

    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ("stage", "grade", "grade_source", "parent", "credit_rating", "credit_limit")} == {
        "stage": "lead",
        "grade": "A",
        "grade_source": "manual",
        "parent": group.pk,
        "credit_rating": "AA",
        "credit_limit": None,
    }
    assert refused.status_code == 200
    assert refused.json()["credit_limit"] is None  # reserved for the sales module: read-only
    assert error_fields(assert_problem(loop, 422)) == {"parent"}


def test_api_lists_filter_and_sort_by_stage_and_grade(api_as: Any, rep: Any, make_customer: Any) -> None:
    lead = make_customer(rep, name="L", grade="C")
    active = make_customer(rep, name="A", stage="active", grade="A")
    churned = make_customer(rep, name="X", stage="active")
    lifecycle.change_stage(Context(user=rep), churned, "churned", "Closed down")
    api = api_as(rep, "read")

    by_stage = api.get("/customers/", {"ordering": "stage"}).json()["items"]
    by_grade = api.get("/customers/", {"ordering": "grade", "stage": "active"}).json()["items"]
    bad = api.get("/customers/", {"ordering": "nope"})

    assert [row["id"] for row in by_stage] == [lead.pk, active.pk, churned.pk]  # in the stages' order
    assert [row["id"] for row in by_grade] == [active.pk]
    assert bad.status_code == 422


def test_customer_list_page_has_stage_and_grade_columns_and_filters(web_as: Any, rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Graded", grade="A", stage="prospect")
    make_customer(rep, name="Plain")

    page = web_as(rep).get("/customers/", {"stage": "prospect"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "Graded" in html
    assert "Plain" not in html
    assert "Prospect" in html
    assert 'name="stage"' in html
    assert 'name="grade"' in html


def test_the_customer_form_sets_the_stage_only_when_creating(web_as: Any, rep: Any, make_customer: Any) -> None:
    client = web_as(rep)

    new_form = client.get("/customers/new/").context["form"]
    created = client.post("/customers/new/", {"kind": "company", "name": "Formed", "stage": "prospect", "grade": "B"})
    customer = Customer.objects.get(name="Formed")
    edit_form = client.get(f"/customers/{customer.pk}/edit/").context["form"]

    assert "stage" in new_form.fields
    assert created.status_code == 302
    assert (customer.stage_id, customer.grade_id) == ("prospect", "B")
    assert "stage" not in edit_form.fields
    assert customer.pk not in [c.pk for c in edit_form.fields["parent"].queryset]


# ---------------------------------------------------------------- contacts in full


def test_contacts_carry_roles_preferences_and_accounts(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep)
    contact = make_contact(
        rep,
        customer,
        decision_role="decision_maker",
        birthday="1980-02-29",
        qq="12345678",
        linkedin="https://www.linkedin.com/in/li-lei",
        other_accounts="Weibo: @lilei",
        preferred_channel="wechat",
        best_time="weekday mornings",
        do_not_contact=True,
        do_not_contact_reason="Asked not to be called",
    )

    stored = Contact.objects.get(pk=contact.pk)
    assert stored.get_decision_role_display() == "Decision maker"
    assert str(stored.birthday) == "1980-02-29"
    assert (stored.preferred_channel, stored.do_not_contact) == ("wechat", True)


def test_reports_to_must_be_at_the_same_customer(rep: Any, make_customer: Any, make_contact: Any) -> None:
    one, two = make_customer(rep, name="One"), make_customer(rep, name="Two")
    boss = make_contact(rep, one, name="Boss")

    with pytest.raises(ValidationError) as error:
        make_contact(rep, two, name="Stranger", reports_to=boss)

    assert error.value.message_dict == {"reports_to": ["Choose a contact at the same customer."]}


def test_reporting_lines_cannot_loop(rep: Any, make_customer: Any, make_contact: Any) -> None:
    from kehu.customers.records import CONTACT

    customer = make_customer(rep)
    boss = make_contact(rep, customer, name="Boss")
    manager = make_contact(rep, customer, name="Manager", reports_to=boss)
    clerk = make_contact(rep, customer, name="Clerk", reports_to=manager)
    ctx = Context(user=rep)

    with pytest.raises(ValidationError) as loop:
        services.record_update(CONTACT, ctx=ctx, obj=Contact.objects.get(pk=boss.pk), data={"reports_to": clerk})
    with pytest.raises(ValidationError) as self_loop:
        services.record_update(CONTACT, ctx=ctx, obj=Contact.objects.get(pk=boss.pk), data={"reports_to": boss})

    assert loop.value.message_dict == {
        "reports_to": ["Clerk already reports to this contact (directly or through others)."]
    }
    assert self_loop.value.message_dict == {"reports_to": ["A contact cannot report to themselves."]}


def test_contact_api_filters_by_decision_role_and_do_not_contact(
    api_as: Any, rep: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep)
    champion = make_contact(rep, customer, name="Champ", decision_role="champion")
    make_contact(rep, customer, name="Quiet", do_not_contact=True)
    api = api_as(rep, "read")

    champions = api.get("/contacts/", {"decision_role": "champion"}).json()
    quiet = api.get("/contacts/", {"do_not_contact": "true"}).json()

    assert [row["id"] for row in champions["items"]] == [champion.pk]
    assert champions["items"][0]["decision_role"] == "champion"
    assert [row["name"] for row in quiet["items"]] == ["Quiet"]


def test_contact_form_offers_reporting_lines_at_the_same_customer_only(
    web_as: Any, rep: Any, make_customer: Any, make_contact: Any
) -> None:
    one, two = make_customer(rep, name="One"), make_customer(rep, name="Two")
    colleague = make_contact(rep, one, name="Colleague")
    make_contact(rep, two, name="Elsewhere")
    contact = make_contact(rep, one, name="Me")

    form = web_as(rep).get(f"/contacts/{contact.pk}/edit/").context["form"]

    assert [c.name for c in form.fields["reports_to"].queryset] == ["Colleague"]
    assert colleague.pk != contact.pk
    for name in ("decision_role", "birthday", "qq", "linkedin", "preferred_channel", "do_not_contact"):
        assert name in form.fields


def test_the_customer_page_loads_the_lifecycle_box(web_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)

    page = web_as(rep).get(f"/customers/{customer.pk}/")

    assert page.status_code == 200
    assert f'hx-get="/customers/{customer.pk}/stage/"' in page.content.decode()


def test_bulk_edit_sets_a_manual_grade(rep: Any, make_customer: Any) -> None:
    from kehu.customers.records import CUSTOMER

    customers = [make_customer(rep, name=f"Bulk {i}") for i in range(3)]

    changed = services.record_bulk_update(CUSTOMER, ctx=Context(user=rep), objs=customers, data={"grade": "B"})

    assert changed == 3
    assert set(Customer.objects.values_list("grade_id", "grade_source")) == {("B", "manual")}
