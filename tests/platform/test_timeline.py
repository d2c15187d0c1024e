"""The timeline (platform/timeline.py): entries of registered record types follow their records
through create, update, delete and restore; facts are added by services; reading pages by time,
filters by kind and hides what the reader may not see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import services, timeline
from kehu.platform.context import Context
from kehu.platform.models import TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)  # entries follow committed transactions

timeline.register_kind("test-note", "Test note", icon="ti-note")


def entries(customer: Any, **options: Any) -> list[TimelineEntry]:
    return timeline.entries_for(customer.owner, ("customer", customer.pk), **options).entries


def test_adding_a_contact_puts_it_on_its_customers_timeline(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme")
    make_contact(rep, customer, name="Wang Fang", title="CTO")

    kinds = [(entry.kind, entry.title) for entry in entries(customer)]

    assert ("contact", "Wang Fang") in kinds
    assert ("created", "Acme") in kinds


def test_a_renamed_contact_has_one_entry_with_the_new_name(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep)
    contact = make_contact(rep, customer, name="Wang Fang")

    services.record_update(CONTACT, ctx=Context(user=rep), obj=contact, data={"name": "Wang Fang (Ms)"})

    titles = [entry.title for entry in entries(customer, kinds=["contact"])]
    assert titles == ["Wang Fang (Ms)"]


def test_trashed_contacts_leave_the_timeline_and_come_back_when_restored(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep)
    contact = make_contact(rep, customer, name="Wang Fang")
    ctx = Context(user=rep)

    services.record_delete(CONTACT, ctx=ctx, obj=contact)
    assert entries(customer, kinds=["contact"]) == []

    contact.refresh_from_db()
    services.record_restore(CONTACT, ctx=ctx, obj=type(contact).all_objects.get(pk=contact.pk))
    assert [entry.title for entry in entries(customer, kinds=["contact"])] == ["Wang Fang"]


def test_facts_need_a_registered_kind(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    with pytest.raises(ValueError, match="not registered"):
        timeline.add(subject=("customer", customer.pk), kind="nope", title="x", occurred_at=timezone.now())


def test_pages_run_newest_first_and_the_cursor_continues_without_gaps(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    start = timezone.now() - timedelta(days=10)
    same_time = start + timedelta(days=5)
    for day in range(7):
        at = same_time if day in (3, 4) else start + timedelta(days=day)  # two entries share a time
        timeline.add(subject=("customer", customer.pk), kind="test-note", title=f"n{day}", occurred_at=at)

    seen: list[str] = []
    cursor = ""
    while True:
        page = timeline.entries_for(rep, ("customer", customer.pk), kinds=["test-note"], cursor=cursor, limit=2)
        seen.extend(entry.title for entry in page.entries)
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    assert sorted(seen) == [f"n{day}" for day in range(7)]
    assert len(seen) == 7
    assert seen[:2] == ["n6", "n5"]


def test_kind_filter_keeps_only_those_kinds(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep)
    make_contact(rep, customer, name="Wang Fang")
    timeline.add(subject=("customer", customer.pk), kind="test-note", title="note", occurred_at=timezone.now())

    assert {entry.kind for entry in entries(customer, kinds=["test-note"])} == {"test-note"}
    assert {kind.key for kind in timeline.kinds_in(("customer", customer.pk))} >= {"created", "contact", "test-note"}


def test_entries_about_records_the_reader_cannot_see_are_hidden(rep: Any, other_rep: Any, make_customer: Any) -> None:
    mine = make_customer(rep, name="Mine")
    theirs = make_customer(other_rep, name="Theirs")
    subject = ("customer", mine.pk)
    now = timezone.now()
    timeline.add(
        subject=subject, kind="test-note", title="about theirs", occurred_at=now, record=("customer", theirs.pk)
    )
    timeline.add(subject=subject, kind="test-note", title="about mine", occurred_at=now, record=("customer", mine.pk))

    titles = [entry.title for entry in timeline.entries_for(rep, subject, kinds=["test-note"]).entries]

    assert titles == ["about mine"]


def test_rebuild_rewrites_every_entry_of_a_source(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep)
    make_contact(rep, customer, name="Wang Fang")
    TimelineEntry.objects.filter(record_type="contact").delete()

    timeline.rebuild("contact")

    assert [entry.title for entry in entries(customer, kinds=["contact"])] == ["Wang Fang"]


def test_bulk_deleting_customers_writes_their_entries_in_few_queries(
    rep: Any, make_customer: Any, django_assert_max_num_queries: Any
) -> None:
    customers = [make_customer(rep, name=f"C{i}") for i in range(30)]
    ctx = Context(user=rep)

    with django_assert_max_num_queries(30):
        services.record_bulk_delete(CUSTOMER, ctx=ctx, objs=customers)

    assert not TimelineEntry.objects.filter(record_type="customer", record_id__in=[c.pk for c in customers]).exists()
