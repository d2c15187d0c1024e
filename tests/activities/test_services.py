"""Interaction and task rules: logging with a follow-up in one transaction, completion and
recurrence, dates and links, visibility."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kehu.activities import services
from kehu.activities.models import Interaction, Task, TaskStatus
from kehu.activities.records import INTERACTION, TASK
from kehu.platform import services as record_services
from kehu.platform.models import AuditAction, AuditEntry
from tests.activities.conftest import ctx_of

pytestmark = pytest.mark.django_db(transaction=True)

TOMORROW = datetime.timedelta(days=1)


def test_log_interaction_without_follow_up(rep: Any, customer: Any, contact: Any, log: Any) -> None:
    interaction = log(rep, customer, contacts=[contact.pk], participants=[rep.pk], duration_minutes=15)
    assert interaction.number.startswith("I-")
    assert interaction.owner_id == customer.owner_id
    assert interaction.team_id == customer.team_id
    assert list(interaction.contacts.all()) == [contact]
    assert list(interaction.participants.all()) == [rep]
    assert not Task.objects.exists()
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_id=interaction.pk, object_repr__startswith="I-")
    assert entry.changes["contacts"] == [None, [str(contact)]]  # labels, sorted


def test_log_interaction_with_follow_up_creates_linked_task(rep: Any, customer: Any, contact: Any, log: Any) -> None:
    due = timezone.now() + TOMORROW
    interaction = log(
        rep,
        customer,
        follow_up={"title": "Send the quote", "due_at": due, "priority": "high"},
        contacts=[contact],
        next_step="Send the quote",
    )
    task = Task.objects.get()
    assert task.interaction_id == interaction.pk
    assert task.customer_id == customer.pk
    assert task.contact_id == contact.pk
    assert task.owner_id == rep.pk
    assert task.priority == "high"
    assert task.status == TaskStatus.OPEN
    assert task.due_at == due


def test_bad_follow_up_rolls_back_the_interaction_and_names_the_field(rep: Any, customer: Any, log: Any) -> None:
    due = timezone.now() + TOMORROW
    with pytest.raises(ValidationError) as caught:
        log(rep, customer, follow_up={"title": "Later", "due_at": due, "remind_at": due + TOMORROW})
    assert "follow_up.remind_at" in caught.value.message_dict
    assert not Interaction.all_objects.exists()
    assert not Task.all_objects.exists()


def test_follow_up_without_due_date_is_refused(rep: Any, customer: Any, log: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        log(rep, customer, follow_up={"title": "Later"})
    assert "follow_up.due_at" in caught.value.message_dict
    assert not Interaction.all_objects.exists()


def test_follow_up_unknown_field_is_refused(rep: Any, customer: Any, log: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        log(rep, customer, follow_up={"title": "Later", "due_at": timezone.now(), "status": "done"})
    assert "follow_up.status" in caught.value.message_dict


def test_interaction_contacts_must_belong_to_its_customer(
    rep: Any, customer: Any, make_customer: Any, make_contact: Any, log: Any
) -> None:
    elsewhere = make_contact(rep, make_customer(rep, name="Beta"), name="Zhao Lei")
    with pytest.raises(ValidationError) as caught:
        log(rep, customer, contacts=[elsewhere.pk])
    assert "Zhao Lei" in caught.value.message_dict["contacts"][0]
    assert not Interaction.all_objects.exists()


def test_negative_duration_is_refused(rep: Any, customer: Any, log: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        log(rep, customer, duration_minutes=-5)
    assert "duration_minutes" in caught.value.message_dict


def test_rep_cannot_log_on_another_teams_customer(rep: Any, foreign_customer: Any, log: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        log(rep, foreign_customer)
    assert "customer" in caught.value.message_dict


def test_rep_cannot_add_another_teams_contact_or_inactive_user(
    rep: Any, other_rep: Any, customer: Any, foreign_customer: Any, make_contact: Any, log: Any
) -> None:
    stranger = make_contact(other_rep, foreign_customer, name="Hidden")
    with pytest.raises(ValidationError) as caught:
        log(rep, customer, contacts=[stranger.pk])
    assert str(stranger.pk) in caught.value.message_dict["contacts"][0]
    other_rep.is_active = False
    other_rep.save()
    with pytest.raises(ValidationError) as caught:
        log(rep, customer, participants=[other_rep.pk])
    assert "participants" in caught.value.message_dict


def test_reader_cannot_log(reader: Any, rep: Any, customer: Any, log: Any) -> None:
    with pytest.raises(PermissionDenied):
        log(reader, customer)


def test_rep_cannot_see_other_teams_tasks_or_interactions(
    rep: Any, other_rep: Any, foreign_customer: Any, make_task: Any, log: Any
) -> None:
    make_task(other_rep, customer=foreign_customer)
    log(other_rep, foreign_customer)
    from kehu.platform.selectors import record_list

    assert not record_list(TASK, user=rep).exists()
    assert not record_list(INTERACTION, user=rep).exists()
    assert record_list(TASK, user=other_rep).count() == 1


def test_task_contact_must_belong_to_its_customer(
    rep: Any, customer: Any, make_customer: Any, make_contact: Any, make_task: Any
) -> None:
    elsewhere = make_contact(rep, make_customer(rep, name="Beta"))
    with pytest.raises(ValidationError) as caught:
        make_task(rep, customer=customer, contact=elsewhere)
    assert "contact" in caught.value.message_dict


def test_task_customer_defaults_to_the_contacts(rep: Any, contact: Any, make_task: Any) -> None:
    task = make_task(rep, contact=contact)
    assert task.customer_id == contact.customer_id


def test_task_reminder_after_due_time_is_refused(rep: Any, make_task: Any) -> None:
    due = timezone.now() + TOMORROW
    with pytest.raises(ValidationError) as caught:
        make_task(rep, due_at=due, remind_at=due + datetime.timedelta(minutes=1))
    assert caught.value.message_dict["remind_at"] == ["The reminder must not be later than the due time."]


def test_task_repeat_every_zero_days_is_refused(rep: Any, make_task: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        make_task(rep, repeat_every_days=0)
    assert "repeat_every_days" in caught.value.message_dict


def test_rep_cannot_assign_a_task_to_someone_else(rep: Any, other_rep: Any, make_task: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        make_task(rep, owner=other_rep)
    assert "owner" in caught.value.message_dict


def test_complete_sets_completed_at_audits_and_reopen_clears(rep: Any, customer: Any, make_task: Any) -> None:
    task = make_task(rep, customer=customer)
    done = services.task_complete(ctx_of(rep), task, version=task.version)
    stored = Task.objects.get(pk=task.pk)
    assert stored.status == TaskStatus.DONE
    assert stored.completed_at is not None
    assert done.version == 2
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=task.pk).latest("id")
    assert entry.changes["status"] == ["open", "done"]
    assert entry.changes["completed_at"][0] is None
    services.task_reopen(ctx_of(rep), stored)
    stored = Task.objects.get(pk=task.pk)
    assert stored.status == TaskStatus.OPEN
    assert stored.completed_at is None


def test_completing_a_done_task_again_changes_nothing(rep: Any, make_task: Any) -> None:
    task = services.task_complete(ctx_of(rep), make_task(rep))
    again = services.task_complete(ctx_of(rep), Task.objects.get(pk=task.pk))
    assert again.version == task.version
    assert Task.objects.count() == 1


def test_complete_with_a_stale_version_changes_nothing(rep: Any, make_task: Any) -> None:
    from kehu.platform.errors import StaleVersion

    task = make_task(rep)
    with pytest.raises(StaleVersion):
        services.task_complete(ctx_of(rep), task, version=task.version + 1)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_completing_a_recurring_task_creates_the_next_one(rep: Any, customer: Any, make_task: Any) -> None:
    due = timezone.now() + datetime.timedelta(hours=3)
    task = make_task(rep, customer=customer, kind="revisit", repeat_every_days=90, due_at=due, remind_at=due - TOMORROW)
    services.task_complete(ctx_of(rep), task)
    following = Task.objects.get(status=TaskStatus.OPEN)
    assert following.pk != task.pk
    assert following.due_at == due + datetime.timedelta(days=90)
    assert following.remind_at == due - TOMORROW + datetime.timedelta(days=90)
    assert (following.owner_id, following.customer_id, following.kind) == (rep.pk, customer.pk, "revisit")
    assert following.repeat_every_days == 90
    assert following.reminded_at is None


def test_status_done_through_the_generic_update_recurs_too(rep: Any, make_task: Any) -> None:
    task = make_task(rep, repeat_every_days=7)
    record_services.record_update(TASK, ctx=ctx_of(rep), obj=task, data={"status": "done"})
    assert Task.objects.filter(status=TaskStatus.OPEN).count() == 1
    assert Task.objects.get(pk=task.pk).completed_at is not None


def test_cancelling_a_recurring_task_does_not_recur(rep: Any, make_task: Any) -> None:
    task = make_task(rep, repeat_every_days=7)
    record_services.record_update(TASK, ctx=ctx_of(rep), obj=task, data={"status": "cancelled"})
    assert Task.objects.count() == 1
    assert Task.objects.get(pk=task.pk).completed_at is not None


def test_teammate_completing_a_revisit_leaves_the_next_one_with_its_owner(
    rep: Any, make_user: Any, customer: Any, make_task: Any
) -> None:
    mate = make_user("mate", "sales", "East sales")
    task = make_task(rep, customer=customer, repeat_every_days=30)
    services.task_complete(ctx_of(mate), task)
    following = Task.objects.get(status=TaskStatus.OPEN)
    assert following.owner_id == rep.pk
    from kehu.platform.audit import history_for

    created = history_for(following).get(action="create")
    assert (created.actor_id, created.source) == (mate.pk, "system")  # who did it, not who got it


def test_changing_the_reminder_time_resets_reminded_at(rep: Any, make_task: Any) -> None:
    due = timezone.now() + datetime.timedelta(days=3)
    task = make_task(rep, due_at=due, remind_at=due - TOMORROW)
    Task.objects.filter(pk=task.pk).update(reminded_at=timezone.now())
    task = Task.objects.get(pk=task.pk)
    record_services.record_update(TASK, ctx=ctx_of(rep), obj=task, data={"title": "Renamed"})
    assert Task.objects.get(pk=task.pk).reminded_at is not None
    task = Task.objects.get(pk=task.pk)
    record_services.record_update(TASK, ctx=ctx_of(rep), obj=task, data={"remind_at": due - 2 * TOMORROW})
    assert Task.objects.get(pk=task.pk).reminded_at is None


def test_interactions_and_tasks_go_to_the_trash_and_back_with_their_customer(
    rep: Any, customer: Any, log: Any, make_task: Any
) -> None:
    from kehu.customers.records import CUSTOMER

    log(rep, customer)
    make_task(rep, customer=customer)
    record_services.record_delete(CUSTOMER, ctx=ctx_of(rep), obj=customer)
    assert not Interaction.objects.exists()
    assert not Task.objects.exists()
    record_services.record_restore(CUSTOMER, ctx=ctx_of(rep), obj=type(customer).all_objects.get(pk=customer.pk))
    assert Interaction.objects.count() == 1
    assert Task.objects.count() == 1


def test_interaction_follows_its_customer_to_a_new_owner(
    rep: Any, admin_user: Any, customer: Any, make_user: Any, log: Any
) -> None:
    interaction = log(rep, customer)
    assert interaction.owner_id == rep.pk


def test_bulk_status_done_completes_and_recurs(rep: Any, make_task: Any) -> None:
    tasks = [make_task(rep, title="Once"), make_task(rep, title="Every week", repeat_every_days=7)]
    record_services.record_bulk_update(TASK, ctx=ctx_of(rep), objs=tasks, data={"status": "done"})
    assert not Task.objects.filter(pk__in=[t.pk for t in tasks], completed_at__isnull=True).exists()
    assert list(Task.objects.filter(status=TaskStatus.OPEN).values_list("title", flat=True)) == ["Every week"]
