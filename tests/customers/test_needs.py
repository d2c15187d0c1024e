"""Needs (R5): records of the spine inside a customer — its owner and team, visibility through
the customer, the API, search and the trash with the customer."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kehu.customers.models import Need
from kehu.customers.records import CUSTOMER, NEED
from kehu.customers.services import customer_update, need_create
from kehu.platform import services
from kehu.platform.context import Context
from kehu.platform.records import registry
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_user(make_user: Any, east: Any) -> Any:
    return make_user("chief", "manager", "Head office")


@pytest.fixture
def make_need() -> Any:
    def make(user: Any, customer: Any, **data: Any) -> Need:
        data.setdefault("title", "50 laptops")
        return need_create(ctx=Context(user=user), data={"customer": customer, **data})

    return make


def test_need_is_a_child_record_type_outside_the_navigation() -> None:
    assert NEED.number_prefix == "N"
    assert NEED.area == "customers"
    assert not NEED.in_nav
    assert "need" in [child.key for child in registry["customer"].children]


def test_a_need_follows_its_customers_owner_and_team(
    rep: Any, manager_user: Any, make_customer: Any, make_need: Any
) -> None:
    customer = make_customer(rep)
    need = make_need(rep, customer, kind="service", priority="high", product="Installation")

    assert need.number.startswith("N-")
    assert (need.owner, need.team_id, need.status) == (rep, rep.team_id, "open")
    customer_update(ctx=Context(user=manager_user), customer=customer, data={"owner": manager_user.pk})
    assert Need.objects.get(pk=need.pk).owner == manager_user


def test_a_need_needs_a_visible_customer_and_a_title(
    rep: Any, other_rep: Any, make_customer: Any, make_need: Any
) -> None:
    theirs = make_customer(other_rep)

    with pytest.raises(ValidationError) as hidden:
        make_need(rep, theirs)
    with pytest.raises(ValidationError) as untitled:
        make_need(rep, make_customer(rep), title="")

    assert list(hidden.value.message_dict) == ["customer"]
    assert list(untitled.value.message_dict) == ["title"]


def test_needs_api_creates_lists_and_hides_other_teams_needs(
    api_as: Any, rep: Any, other_rep: Any, make_customer: Any, make_need: Any
) -> None:
    mine = make_customer(rep)
    theirs_need = make_need(other_rep, make_customer(other_rep), title="Secret project")
    api = api_as(rep)

    created = api.post(
        "/needs/", {"customer": mine.pk, "title": "ERP upgrade", "kind": "service", "priority": "urgent"}
    )
    listed = api.get("/needs/").json()
    hidden = api.get(f"/needs/{theirs_need.pk}/")
    bad = api.post("/needs/", {"customer": mine.pk, "title": "X", "priority": "whenever"})

    assert created.status_code == 201, created.content
    assert (created.json()["status"], created.json()["owner"]) == ("open", rep.pk)
    assert [row["title"] for row in listed["items"]] == ["ERP upgrade"]
    assert_problem(hidden, 404)
    assert_problem(bad, 422)
    done = api.patch(f"/needs/{created.json()['id']}/", {"status": "met", "version": 1})
    assert done.json()["status"] == "met"


def test_needs_go_to_the_trash_and_come_back_with_their_customer(rep: Any, make_customer: Any, make_need: Any) -> None:
    customer = make_customer(rep)
    need = make_need(rep, customer)
    ctx = Context(user=rep)

    services.record_delete(CUSTOMER, ctx=ctx, obj=customer)
    assert not Need.objects.filter(pk=need.pk).exists()
    services.record_restore(CUSTOMER, ctx=ctx, obj=type(customer).all_objects.get(pk=customer.pk))
    assert Need.objects.filter(pk=need.pk).exists()


def test_needs_are_found_by_the_global_search(
    rep: Any, other_rep: Any, make_customer: Any, make_need: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from kehu.platform import search

    with django_capture_on_commit_callbacks(execute=True):  # the index follows the committed events
        make_need(rep, make_customer(rep, name="Acme"), title="Cold storage", description="Three refrigerated trucks")
        make_need(other_rep, make_customer(other_rep, name="Other"), title="Refrigerated warehouse")

    groups = {group.rt.key: group for group in search.search(rep, "refrigerated")}

    assert [hit.title for hit in groups["need"].hits] == ["Cold storage"]


def test_needs_tab_on_the_customer_page(web_as: Any, rep: Any, make_customer: Any, make_need: Any) -> None:
    customer = make_customer(rep)
    make_need(rep, customer, title="Spare parts")

    client = web_as(rep)
    page = client.get(f"/customers/{customer.pk}/")
    tab = client.get(f"/customers/{customer.pk}/related/needs/")  # fetched when the tab opens

    assert page.status_code == 200
    assert 'data-testid="tab-needs"' in page.content.decode()
    assert "Spare parts" in tab.content.decode()
