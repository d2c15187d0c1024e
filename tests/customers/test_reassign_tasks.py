"""Reassigning customers moves their open tasks along (activities.reassign, a follower) and
their interactions (visibility follows the customer)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from kehu.activities import services as activity_services
from kehu.activities.models import Interaction, Task
from kehu.customers import reassign
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditAction, AuditEntry
from tests.customers.reassign_support import copies, many_customers, ref

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _task_follower() -> None:
    from kehu.activities import reassign as activities_reassign  # registers the follower (also from ready())

    assert reassign._followers["tasks"].fn is activities_reassign.move_open_tasks


@pytest.fixture
def chief(make_user: Any, east: Any, south: Any) -> Any:
    return make_user("chief", "manager", "Head office")


@pytest.fixture
def teammate(make_user: Any, east: Any) -> Any:
    return make_user("mate", "sales", "East sales")


def ctx(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


def task(user: Any, customer: Any, **data: Any) -> Any:
    data.setdefault("title", "Call back")
    data.setdefault("due_at", timezone.now() + datetime.timedelta(days=1))
    return activity_services.task_create(ctx(user), {"customer": customer, **data})


def task_entries() -> Any:
    return AuditEntry.objects.filter(
        action=AuditAction.UPDATE, content_type=ContentType.objects.get_for_model(Task), extra__reassign=True
    )


def test_open_tasks_of_the_previous_owner_go_to_the_new_owner(
    chief: Any, rep: Any, other_rep: Any, teammate: Any, east: Any, south: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    open_task = task(rep, customer, title="Quote")
    done_task = task(rep, customer, title="Intro call")
    activity_services.task_complete(ctx(rep), done_task)
    teammates_task = task(chief, customer, title="After-sales call", owner=teammate)

    result = reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)

    assert result.related["tasks"] == 1
    moved = Task.objects.get(pk=open_task.pk)
    assert (moved.owner, moved.team, moved.version) == (other_rep, south, open_task.version + 1)
    assert Task.objects.get(pk=done_task.pk).owner == rep
    assert Task.objects.get(pk=teammates_task.pk).owner == teammate
    [entry] = task_entries()
    assert entry.object_id == open_task.pk
    assert entry.changes == {"owner": [ref(rep), ref(other_rep)], "team": [ref(east), ref(south)]}


def test_without_include_related_tasks_stay(chief: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    open_task = task(rep, customer)

    result = reassign.customers_reassign(ctx(chief), [customer.pk], other_rep, include_related=False)

    assert result.related == {}
    assert Task.objects.get(pk=open_task.pk).owner == rep


def test_the_message_says_how_many_tasks_moved(chief: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    from kehu.customers.reassign_views import result_message

    customer = make_customer(rep, name="Acme")
    task(rep, customer)
    task(rep, customer)

    result = reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)

    assert result_message(result) == f"Reassigned 1 customer to {other_rep} (2 open tasks moved)."


def test_interactions_follow_their_customer(
    chief: Any, rep: Any, other_rep: Any, south: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    interaction = activity_services.interaction_log(
        ctx(rep), {"customer": customer, "subject": "Hello", "kind": "call"}
    )

    reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)

    stored = Interaction.objects.get(pk=interaction.pk)
    assert (stored.owner, stored.team) == (other_rep, south)


def test_tasks_of_a_thousand_customers_move_in_bulk(
    chief: Any,
    rep: Any,
    other_rep: Any,
    make_customer: Any,
    make_contact: Any,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customers = many_customers(make_customer, make_contact, rep, 1000, contacts=False)
    template = task(rep, customers[0])
    copies(Task, template, 999, customer_id=lambda index: customers[index + 1].pk, title="Call back")
    ids = [customer.pk for customer in customers]

    with django_assert_max_num_queries(100), django_capture_on_commit_callbacks(execute=True):
        result = reassign.customers_reassign(ctx(chief), ids, other_rep)

    assert (result.reassigned, result.related["tasks"]) == (1000, 1000)
    assert set(Task.objects.filter(customer_id__in=ids).values_list("owner_id", flat=True)) == {other_rep.pk}
    assert task_entries().count() == 1000
    assert all(entry.changes["owner"][1]["id"] == other_rep.pk for entry in task_entries())
