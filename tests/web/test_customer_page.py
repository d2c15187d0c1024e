"""The customer page (Customer 360): key facts, panels, and the timeline partial with its
kind filter and paging, for those who may see the customer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kehu.platform import timeline

pytestmark = pytest.mark.django_db(transaction=True)  # the timeline follows commits

timeline.register_kind("test-page-note", "Page note")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_customer_page_shows_key_facts_and_loads_the_timeline(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme Trading", industry="Logistics", phone="+86 138 1234 5678")

    body = logged_in(rep).get(f"/customers/{customer.pk}/").content.decode()

    assert 'data-testid="key-facts"' in body
    assert 'data-testid="customer-stage"' in body  # a new customer is a lead
    assert "Logistics" in body
    assert 'href="tel:' in body
    assert f"/customers/{customer.pk}/timeline/" in body


def test_timeline_partial_lists_entries_newest_first(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme Trading")
    make_contact(rep, customer, name="Wang Fang")

    body = logged_in(rep).get(f"/customers/{customer.pk}/timeline/", HTTP_HX_REQUEST="true").content.decode()

    assert body.index("Wang Fang") < body.index("Acme Trading")
    assert 'data-testid="timeline-kind-contact"' in body


def test_timeline_filters_by_kind_and_pages_with_a_cursor(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    start = timezone.now() - timedelta(days=100)
    for day in range(35):
        timeline.add(
            subject=("customer", customer.pk),
            kind="test-page-note",
            title=f"note-{day:02d}",
            occurred_at=start + timedelta(days=day),
        )
    client = logged_in(rep)

    first = client.get(f"/customers/{customer.pk}/timeline/?kind=test-page-note").content.decode()
    assert "note-34" in first
    assert "note-04" not in first
    assert "Acme" not in first  # the "created" entry is another kind
    assert "cursor=" in first

    cursor = first.split("cursor=")[1].split("&")[0].split('"')[0]
    from urllib.parse import unquote

    more = client.get(
        f"/customers/{customer.pk}/timeline/", {"cursor": unquote(cursor), "kind": "test-page-note"}
    ).content.decode()
    assert "note-04" in more
    assert "note-34" not in more
    assert 'data-testid="timeline-kind-all"' not in more  # appended rows only


def test_rep_gets_404_for_another_teams_customer_timeline(rep: Any, other_rep: Any, make_customer: Any) -> None:
    theirs = make_customer(other_rep, name="Southern Ltd")

    assert logged_in(rep).get(f"/customers/{theirs.pk}/timeline/").status_code == 404


def test_panels_show_in_their_order_and_only_to_those_allowed(rep: Any, make_user: Any, make_customer: Any) -> None:
    from django.contrib.auth.models import Permission

    customer = make_customer(rep)
    body = logged_in(rep).get(f"/customers/{customer.pk}/").content.decode()
    assert body.index('data-testid="panel-tasks"') < body.index('data-testid="panel-lifecycle"')

    no_tasks = make_user("no_tasks", "sales", "East sales")
    no_tasks.role.permissions.remove(*Permission.objects.filter(codename="view_task"))
    no_tasks = type(no_tasks).objects.get(pk=no_tasks.pk)
    shared = make_customer(no_tasks)
    assert 'data-testid="panel-tasks"' not in logged_in(no_tasks).get(f"/customers/{shared.pk}/").content.decode()


def test_record_types_without_a_timeline_have_no_timeline_page(rep: Any, make_customer: Any, make_contact: Any) -> None:
    contact = make_contact(rep, make_customer(rep))

    assert logged_in(rep).get(f"/contacts/{contact.pk}/timeline/").status_code == 404
