"""Domain events (platform/events.py): delivered only after the transaction commits, never for
a rolled-back write, naming the record type, id and action; a failing subscriber breaks nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import transaction

from kehu.customers.models import Customer
from kehu.customers.records import CUSTOMER
from kehu.platform import events, services
from kehu.platform.context import Context, Source
from kehu.platform.models import NumberSequence


class Boom(Exception):
    pass


def create_then_roll_back(user: Any, name: str, created: list[Customer]) -> None:
    """Create a customer in a transaction that then fails; ``created`` gets the lost record."""
    with transaction.atomic():
        created.append(services.record_create(CUSTOMER, ctx=Context(user=user), data={"name": name}))
        raise Boom


@pytest.mark.django_db(transaction=True)
def test_event_is_published_only_after_the_transaction_commits(rep: Any, published: list[events.Event]) -> None:
    with transaction.atomic():
        customer = services.record_create(CUSTOMER, ctx=Context(user=rep, source=Source.API), data={"name": "Acme"})
        assert published == []

    [event] = published
    assert event.type == "record.created"
    assert (event.record_type, event.record_id) == ("customer", customer.pk)
    assert event.data == {"number": customer.number}
    assert (event.actor_id, event.source) == (rep.pk, "api")


@pytest.mark.django_db(transaction=True)
def test_no_event_is_published_when_the_transaction_rolls_back(rep: Any, published: list[events.Event]) -> None:
    with pytest.raises(Boom):
        create_then_roll_back(rep, "Acme", [])

    assert published == []
    assert not Customer.all_objects.exists()
    assert not NumberSequence.objects.filter(prefix="C").exists()


@pytest.mark.django_db(transaction=True)
def test_failing_subscriber_neither_undoes_the_write_nor_stops_other_subscribers(
    rep: Any, published: list[events.Event], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: events.Event) -> None:
        raise RuntimeError("subscriber bug")

    events.subscribe("record.created")(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="kehu.platform.events"):
            customer = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "Acme"})
    finally:
        events.unsubscribe("record.created", broken)

    assert Customer.objects.filter(pk=customer.pk).exists()
    assert [e.type for e in published] == ["record.created"]
    assert "event subscriber failed" in caplog.text


@pytest.mark.django_db
def test_rolled_back_savepoint_drops_its_events_and_keeps_the_numbers_gap_free(
    rep: Any, published: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    discarded: list[Customer] = []
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Boom):
            create_then_roll_back(rep, "Discarded", discarded)
        kept = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "Kept"})

    assert [(e.type, e.record_id) for e in published] == [("record.created", kept.pk)]
    assert kept.number == discarded[0].number
    assert not Customer.all_objects.filter(name="Discarded").exists()


@pytest.mark.django_db
def test_update_event_lists_the_changed_fields(
    rep: Any, make_customer: Any, published: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.record_update(
            CUSTOMER, ctx=Context(user=rep), obj=customer, data={"name": "Acme Ltd", "city": "Xi'an"}
        )

    [event] = published
    assert (event.type, event.record_type, event.record_id) == ("record.updated", "customer", customer.pk)
    assert event.data == {"number": customer.number, "changed": ["city", "name"]}


@pytest.mark.django_db
def test_update_without_changes_publishes_nothing(
    rep: Any, make_customer: Any, published: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.record_update(CUSTOMER, ctx=Context(user=rep), obj=customer, data={"name": "Acme"})

    assert published == []


@pytest.mark.django_db
def test_delete_and_restore_publish_events_for_the_record_and_its_children(
    rep: Any,
    make_customer: Any,
    make_contact: Any,
    published: list[events.Event],
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer = make_customer(rep, name="Acme")
    contact = make_contact(rep, customer)
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.record_delete(CUSTOMER, ctx=Context(user=rep), obj=customer)
    deleted = [(e.type, e.record_type, e.record_id) for e in published]
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.record_restore(CUSTOMER, ctx=Context(user=rep), obj=Customer.all_objects.get(pk=customer.pk))

    assert deleted == [("record.deleted", "customer", customer.pk), ("record.deleted", "contact", contact.pk)]
    assert [(e.type, e.record_type, e.record_id) for e in published] == [
        ("record.restored", "customer", customer.pk),
        ("record.restored", "contact", contact.pk),
    ]


@pytest.mark.django_db
def test_bulk_update_publishes_one_event_per_changed_record(
    rep: Any, make_customer: Any, published: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    first = make_customer(rep, name="First")
    second = make_customer(rep, name="Second", industry="Steel")
    published.clear()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.record_bulk_update(CUSTOMER, ctx=Context(user=rep), objs=[first, second], data={"industry": "Steel"})
        assert published == []

    assert len(callbacks) == 1
    [event] = published
    assert (event.type, event.record_id, event.data["changed"]) == ("record.updated", first.pk, ["industry"])


@pytest.mark.django_db
def test_subscriber_for_one_event_type_receives_only_that_type(
    rep: Any, make_customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    deletions: list[events.Event] = []
    events.subscribe("record.deleted")(deletions.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            customer = make_customer(rep, name="Acme")
            services.record_delete(CUSTOMER, ctx=Context(user=rep), obj=customer)
    finally:
        events.unsubscribe("record.deleted", deletions.append)

    assert [(e.type, e.record_id) for e in deletions] == [("record.deleted", customer.pk)]
