"""Batch subscribers (events.subscribe_batch): one call per committed transaction with all of
its events, nothing for a rolled-back one, at once outside a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from kehu.customers.records import CUSTOMER
from kehu.platform import events, services
from kehu.platform.context import Context

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def create_then_fail(user: Any, name: str) -> None:
    with transaction.atomic():
        services.record_create(CUSTOMER, ctx=Context(user=user), data={"name": name})
        raise Boom


def bulk_create_then_fail(user: Any, name: str) -> None:
    with transaction.atomic():
        services.record_bulk_create(CUSTOMER, ctx=Context(user=user), objs_or_data=[{"name": name}])
        raise Boom


@pytest.fixture
def batches() -> Iterator[list[list[events.Event]]]:
    received: list[list[events.Event]] = []

    def handler(batch: list[events.Event]) -> None:
        received.append(list(batch))

    events.subscribe_batch("record.created", "record.updated")(handler)
    yield received
    events.unsubscribe_batch(handler)


def test_batch_subscriber_gets_a_transactions_events_in_one_call_after_commit(
    rep: Any, batches: list[list[events.Event]]
) -> None:
    with transaction.atomic():
        first = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "One"})
        second = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "Two"})
        services.record_update(CUSTOMER, ctx=Context(user=rep), obj=first, data={"name": "Uno"})
        assert batches == []

    [batch] = batches
    assert [(e.type, e.record_id) for e in batch] == [
        ("record.created", first.pk),
        ("record.created", second.pk),
        ("record.updated", first.pk),
    ]


def test_bulk_update_reaches_a_batch_subscriber_as_one_batch(
    rep: Any, make_customer: Any, batches: list[list[events.Event]]
) -> None:
    customers = [make_customer(rep, name=f"Firm {i}") for i in range(5)]
    batches.clear()

    services.record_bulk_update(CUSTOMER, ctx=Context(user=rep), objs=customers, data={"industry": "Tea"})

    assert len(batches) == 1
    assert sorted(e.record_id for e in batches[0]) == sorted(c.pk for c in customers)


def test_rolled_back_transaction_delivers_no_batch_and_the_next_one_is_fresh(
    rep: Any, batches: list[list[events.Event]]
) -> None:
    with pytest.raises(Boom):
        create_then_fail(rep, "Lost")
    assert batches == []

    kept = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "Kept"})

    assert [[e.record_id for e in batch] for batch in batches] == [[kept.pk]]


def test_batch_started_in_a_rolled_back_savepoint_is_replaced(rep: Any, batches: list[list[events.Event]]) -> None:
    with transaction.atomic():
        with pytest.raises(Boom):
            create_then_fail(rep, "Lost")  # a savepoint inside the outer transaction
        kept = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "Kept"})

    assert [[e.record_id for e in batch] for batch in batches] == [[kept.pk]]


def test_event_published_outside_a_transaction_is_delivered_at_once(batches: list[list[events.Event]]) -> None:
    events.publish(events.Event(type="record.created", record_type="customer", record_id=42))

    assert [[e.record_id for e in batch] for batch in batches] == [[42]]


def test_failing_batch_subscriber_breaks_neither_the_write_nor_other_subscribers(
    rep: Any, batches: list[list[events.Event]]
) -> None:
    def broken(batch: list[events.Event]) -> None:
        raise RuntimeError("subscriber bug")

    events.subscribe_batch("record.created")(broken)
    try:
        customer = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "Acme"})
    finally:
        events.unsubscribe_batch(broken)

    assert CUSTOMER.model.objects.filter(pk=customer.pk).exists()
    assert [[e.record_id for e in batch] for batch in batches] == [[customer.pk]]


def test_events_published_together_reach_both_kinds_of_subscriber_in_order_after_commit(
    rep: Any, batches: list[list[events.Event]]
) -> None:
    single: list[int] = []

    def handler(event: events.Event) -> None:
        single.append(event.record_id)

    events.subscribe("record.created")(handler)
    try:
        with transaction.atomic():
            first = services.record_create(CUSTOMER, ctx=Context(user=rep), data={"name": "First"})
            made = services.record_bulk_create(
                CUSTOMER, ctx=Context(user=rep), objs_or_data=[{"name": "Bulk 1"}, {"name": "Bulk 2"}]
            )
            assert single == []
            assert batches == []
        with pytest.raises(Boom):
            bulk_create_then_fail(rep, "Gone")
    finally:
        events.unsubscribe("record.created", handler)

    ids = [first.pk, *(obj.pk for obj in made)]
    assert single == ids
    assert [[event.record_id for event in batch] for batch in batches] == [ids]
