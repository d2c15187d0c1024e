"""Task reminders: queued when a task gets a reminder time, sent once by the worker (or the
sweep) to the task's owner while the task is open, re-armed when the time changes."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from kehu.activities import services as activities
from kehu.activities.models import Task, TaskStatus
from kehu.automation import reminders
from kehu.automation.models import Notification
from tests.automation.conftest import ctx_of

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def _reminders(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=reminders.KIND))


def test_a_due_reminder_notifies_the_owner_at_once_without_a_deferring_backend(rep: Any, make_task: Any) -> None:
    """The test settings run tasks immediately (no deferral): a reminder already due is sent
    when the task is saved."""
    due = timezone.now() + HOUR
    task = make_task(rep, title="Call Mr Wang", due_at=due, remind_at=timezone.now() - HOUR)
    [notification] = _reminders(rep)
    assert notification.title == "Reminder: Call Mr Wang"
    assert notification.url == f"/tasks/{task.pk}/"
    assert (notification.record_type, notification.record_id) == ("task", task.pk)
    assert timezone.localtime(due).strftime("%Y-%m-%d %H:%M") in notification.body
    task.refresh_from_db()
    assert task.reminded_at is not None


def test_the_reminder_names_the_customer(
    rep: Any, make_task: Any, make_customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # its events delivered, as after a real commit
        customer = make_customer(rep, name="Acme Trading")
    make_task(rep, customer=customer, remind_at=timezone.now() - HOUR)
    [notification] = _reminders(rep)
    assert "Acme Trading" in notification.body


def test_the_reminder_is_written_in_the_owners_language(make_user: Any, make_task: Any, monkeypatch: Any) -> None:
    from django.utils import translation

    monkeypatch.setattr(reminders, "_", lambda text: f"[{translation.get_language()}] {text}")
    user = make_user("lihua", "sales")
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    make_task(user, title="回访", remind_at=timezone.now() - HOUR)
    [notification] = _reminders(user)
    assert notification.title.startswith("[zh-hans] ")
    assert "回访" in notification.title


def test_a_future_reminder_waits_for_the_sweep(rep: Any, make_task: Any) -> None:
    task = make_task(rep, due_at=timezone.now() + 3 * HOUR, remind_at=timezone.now() + HOUR)
    assert _reminders(rep) == []
    assert reminders.remind_due() == 0
    assert reminders.remind_due(now=timezone.now() + 2 * HOUR) == 1
    assert [n.record_id for n in _reminders(rep)] == [task.pk]


def test_done_cancelled_and_trashed_tasks_get_no_reminder(
    rep: Any, make_task: Any, django_capture_on_commit_callbacks: Any
) -> None:
    past = timezone.now() - HOUR
    make_task(rep, status=TaskStatus.DONE, remind_at=past)
    make_task(rep, status=TaskStatus.CANCELLED, remind_at=past)
    trashed = make_task(rep, remind_at=timezone.now() + HOUR)
    from kehu.activities.records import TASK
    from kehu.platform import services

    services.record_delete(TASK, ctx=ctx_of(rep), obj=trashed)
    assert reminders.remind_due(now=timezone.now() + 2 * HOUR) == 0
    assert _reminders(rep) == []


def test_the_task_skips_a_reminder_whose_time_changed_or_was_sent(rep: Any, make_task: Any) -> None:
    remind_at = timezone.now() + HOUR
    task = make_task(rep, remind_at=remind_at)
    assert reminders.send_task_reminder.call(task.pk, (remind_at - HOUR).isoformat()) is False  # not its time any more
    assert reminders.send_task_reminder.call(task.pk, remind_at.isoformat()) is True
    assert reminders.send_task_reminder.call(task.pk, remind_at.isoformat()) is False  # already sent
    assert reminders.send_task_reminder.call(999999, remind_at.isoformat()) is False  # gone
    assert len(_reminders(rep)) == 1


def test_two_workers_racing_send_the_reminder_once(rep: Any, make_task: Any) -> None:
    task = make_task(rep, remind_at=timezone.now() + HOUR)
    first_read = Task.objects.get(pk=task.pk)
    second_read = Task.objects.get(pk=task.pk)  # both read the row before either claims it
    assert reminders._claim_and_notify([first_read]) == 1
    assert reminders._claim_and_notify([second_read]) == 0
    assert len(_reminders(rep)) == 1


def test_changing_the_reminder_time_arms_it_again(rep: Any, make_task: Any, update_task: Any) -> None:
    task = make_task(rep, remind_at=timezone.now() - 2 * HOUR)
    assert len(_reminders(rep)) == 1
    task.refresh_from_db()
    update_task(rep, task, remind_at=timezone.now() - HOUR)
    assert len(_reminders(rep)) == 2
    task.refresh_from_db()
    update_task(rep, task, title="Call back later")  # nothing about the reminder changed
    assert len(_reminders(rep)) == 2


def test_the_reminder_goes_to_the_current_owner(
    rep: Any, make_user: Any, east: Any, make_task: Any, update_task: Any
) -> None:
    mate = make_user("mate", "sales", "East sales")
    task = make_task(rep, remind_at=timezone.now() + HOUR)
    boss = make_user("boss2", "admin")
    update_task(boss, task, owner=mate)
    assert reminders.remind_due(now=timezone.now() + 2 * HOUR) == 1
    assert _reminders(rep) == []
    assert len(_reminders(mate)) == 1


def test_the_sweep_works_in_batches_and_sends_each_reminder_once(rep: Any, make_task: Any) -> None:
    later = timezone.now() + HOUR
    tasks = [make_task(rep, title=f"Task {n}", remind_at=later) for n in range(5)]
    assert reminders.remind_due(now=later, batch_size=2) == 5
    assert reminders.remind_due(now=later, batch_size=2) == 0
    assert sorted(n.record_id for n in _reminders(rep)) == sorted(t.pk for t in tasks)


def test_kehu_remind_runs_the_sweep(rep: Any, make_task: Any, capsys: Any) -> None:
    make_task(rep, remind_at=timezone.now() + datetime.timedelta(seconds=1))
    Task.objects.update(remind_at=timezone.now() - HOUR)  # fell due while nothing ran
    call_command("remind")
    assert "1 reminder(s) sent." in capsys.readouterr().out
    assert len(_reminders(rep)) == 1


def test_a_deferring_backend_queues_the_reminder_for_its_time(rep: Any, settings: Any, make_task: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    remind_at = timezone.now() + HOUR
    task = make_task(rep, remind_at=remind_at)
    [queued] = DBTaskResult.objects.filter(task_path="kehu.automation.reminders.send_task_reminder")
    assert queued.run_after == remind_at
    assert queued.args_kwargs == {"args": [task.pk, remind_at.isoformat()], "kwargs": {}}
    assert _reminders(rep) == []


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_a_past_reminder_once_and_again_after_a_change(
    rep: Any, make_user: Any, settings: Any
) -> None:
    """Acceptance: with the database queue, a task whose reminder is in the past gives its
    owner exactly one notification when the worker runs; running it again adds none; a done
    task gets none; a new reminder time arms it again."""
    from kehu.activities.records import TASK
    from kehu.platform import services

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    ctx = ctx_of(rep)
    due = timezone.now() + HOUR
    task = activities.task_create(ctx, {"title": "Visit Acme", "due_at": due, "remind_at": timezone.now() - HOUR})
    done = activities.task_create(
        ctx, {"title": "Done already", "due_at": due, "remind_at": timezone.now() - HOUR, "status": TaskStatus.DONE}
    )
    assert _reminders(rep) == []  # queued, not sent: nothing runs until the worker does

    call_command("worker", batch=True, verbosity=0)
    [notification] = _reminders(rep)
    assert notification.record_id == task.pk
    assert notification.title == "Reminder: Visit Acme"

    call_command("worker", batch=True, verbosity=0)
    assert len(_reminders(rep)) == 1
    assert not Notification.objects.filter(record_type="task", record_id=done.pk).exists()

    task.refresh_from_db()
    services.record_update(TASK, ctx=ctx, obj=task, data={"remind_at": timezone.now() - datetime.timedelta(minutes=5)})
    call_command("worker", batch=True, verbosity=0)
    assert [n.record_id for n in _reminders(rep)] == [task.pk, task.pk]


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_reminders_that_fell_due_while_it_was_down(rep: Any, settings: Any) -> None:
    """Nothing queued for the task (it was saved with a later reminder on a backend that cannot
    defer): the sweep the worker queues when it starts sends it."""
    task = activities.task_create(
        ctx_of(rep), {"title": "Revisit", "due_at": timezone.now() + 2 * HOUR, "remind_at": timezone.now() + HOUR}
    )
    Task.objects.filter(pk=task.pk).update(remind_at=timezone.now() - HOUR)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call_command("worker", batch=True, verbosity=0)
    assert [n.record_id for n in _reminders(rep)] == [task.pk]


def test_a_restored_task_is_reminded(rep: Any, make_task: Any, django_capture_on_commit_callbacks: Any) -> None:
    from kehu.activities.records import TASK
    from kehu.platform import services

    task = make_task(rep, remind_at=timezone.now() + datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.record_delete(TASK, ctx=ctx_of(rep), obj=task)
    Task.all_objects.filter(pk=task.pk).update(remind_at=timezone.now() - HOUR)  # fell due in the trash
    assert reminders.remind_due() == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.record_restore(TASK, ctx=ctx_of(rep), obj=Task.all_objects.get(pk=task.pk))
    assert [n.record_id for n in _reminders(rep)] == [task.pk]


def test_many_overdue_reminders_at_once_queue_one_sweep(rep: Any, settings: Any, monkeypatch: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(reminders, "SWEEP_THRESHOLD", 2)
    past, ahead = timezone.now() - HOUR, timezone.now() + HOUR
    due = [
        activities.task_create(ctx_of(rep), {"due_at": ahead, "remind_at": past, "title": f"T{n}"}) for n in range(3)
    ]
    later = activities.task_create(ctx_of(rep), {"due_at": ahead + HOUR, "remind_at": ahead, "title": "Later"})
    assert reminders.schedule_reminders([t.pk for t in [*due, later]]) == 2
    paths = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths == ["kehu.automation.reminders.send_due_reminders", "kehu.automation.reminders.send_task_reminder"]
