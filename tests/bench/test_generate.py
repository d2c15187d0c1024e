"""The benchmark data generator: proportions, determinism, and data the product reads like
its own (encrypted phones found by their blind index, search, timelines, visibility)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from kehu.activities.models import Interaction, Task
from kehu.bench.generate import Generator, Volumes
from kehu.customers.models import Contact, Customer
from kehu.platform import search, timeline
from kehu.platform.access import visible_to
from kehu.platform.fields import encrypted_lookup_q
from kehu.sales.contracts.models import Order, OrderLine

pytestmark = pytest.mark.django_db

ANCHOR = date(2026, 11, 1)


class _Undo(Exception):
    pass


def _generate_and_read(customers: int, seed: int) -> list[tuple[Any, ...]]:
    """What a run writes (customers with their people and history), rolled back after."""
    try:
        with transaction.atomic():
            Generator(Volumes(customers), seed=seed, anchor=ANCHOR).run()
            rows = list(
                Customer.objects.order_by("pk").values_list("name", "phone", "email", "owner__username", "created_at")
            )
            rows += list(Interaction.objects.order_by("pk").values_list("customer__name", "subject", "occurred_at"))
            raise _Undo
    except _Undo:
        return rows


def test_generator_writes_every_record_type_in_proportion_to_the_customers() -> None:
    report = Generator(Volumes(40), seed=3, anchor=ANCHOR).run()

    assert Customer.objects.count() == 40
    assert Contact.objects.count() == 80
    assert Interaction.objects.count() == 400
    assert Task.objects.count() == 40
    assert Order.objects.count() == 20
    assert OrderLine.objects.filter(order__in=Order.objects.all()).count() >= 20
    assert report.rows["customers"] == 40
    assert report.total_rows > 600
    # Every customer has a first lifecycle transition and a contact; orders total their lines.
    assert all(c.transitions.count() == 1 and c.contacts.exists() for c in Customer.objects.all())
    order = Order.objects.prefetch_related("lines").first()
    assert order is not None
    assert order.subtotal == sum(line.amount for line in order.lines.all())


def test_generated_records_are_read_like_records_made_through_the_services() -> None:
    Generator(Volumes(30), seed=5, anchor=ANCHOR).run()
    customer = Customer.objects.exclude(phone="").order_by("pk").first()
    assert customer is not None

    # Personal fields are encrypted at rest and found through their blind index.
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM customers_customer WHERE id = %s", [customer.pk])
        stored = cursor.fetchone()[0]
    assert customer.phone not in stored
    assert Customer.objects.filter(encrypted_lookup_q_for(customer.phone)).filter(pk=customer.pk).exists()

    # The owner finds it by name in the global search and sees its history on the timeline.
    groups = search.search(customer.owner, customer.name, limit=8)
    assert customer.pk in [hit.id for group in groups for hit in group.hits]
    page = timeline.entries_for(customer.owner, ("customer", customer.pk))
    kinds = {entry.kind for entry in page.entries}
    assert "created" in kinds or "interaction" in kinds

    # A salesperson sees their own and their team's records only.
    rep = customer.owner
    assert all(c.team_id == rep.team_id or c.owner_id == rep.pk for c in visible_to(rep, Customer.objects.all()))
    assert visible_to(rep, Customer.objects.all()).count() < Customer.objects.count()


def encrypted_lookup_q_for(phone: str) -> Any:
    from kehu.customers.records import CUSTOMER

    return encrypted_lookup_q(CUSTOMER, phone)


def test_the_same_seed_writes_the_same_data_and_another_seed_other_data() -> None:
    first = _generate_and_read(12, seed=7)
    again = _generate_and_read(12, seed=7)
    other = _generate_and_read(12, seed=8)

    assert first == again
    assert first != other


def test_bench_generate_refuses_a_database_that_already_holds_customers(make_user: Any) -> None:
    Customer.objects.create(number="C-999999", name="真实客户", owner=make_user("boss", "admin"))

    with pytest.raises(CommandError, match="already holds customers"):
        call_command("bench", "generate", "--customers", "20", verbosity=0)
    assert Customer.objects.count() == 1
