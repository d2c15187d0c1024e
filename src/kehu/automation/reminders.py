"""Task reminders through the worker.

When a task is created, restored or changed with a reminder time, ``send_task_reminder`` is
queued to run at that time (the database queue defers it; a backend that cannot defer runs it
at once when the reminder is already due and leaves later ones to the sweep). The task re-reads the
row and notifies the owner only if the task is still open, the reminder time is still the one
it was queued for and no reminder went out yet; it claims the reminder with a compare-and-set
``UPDATE … WHERE reminded_at IS NULL`` in the same transaction as the notification, so two
workers never send it twice. ``send_due_reminders`` sweeps every due, unsent reminder in
batches: ``kehu worker`` queues it when it starts and ``kehu remind`` runs it at once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from kehu.activities.models import Task, TaskStatus
from kehu.automation.services import notify_each
from kehu.platform import housekeeping
from kehu.platform.events import Event, subscribe_batch

KIND = "task_reminder"
BATCH_SIZE = 500
# More reminders already due than this in one transaction (an import): one sweep instead.
SWEEP_THRESHOLD = 50
# Fields whose change may arm a reminder again (a new time, a task opened again).
ARMING_FIELDS = frozenset({"remind_at", "status"})


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def reminder_message(task_obj: Any) -> dict[str, str]:
    """Title, body and link of the reminder of ``task_obj``, in its owner's language."""
    owner = task_obj.owner
    with translation.override(getattr(owner, "language", "") or settings.LANGUAGE_CODE):
        title = _("Reminder: %(title)s") % {"title": task_obj.title}
        lines = [_("Due %(due)s") % {"due": _local(task_obj.due_at)}]
        if task_obj.customer_id is not None:
            lines.append(_("Customer: %(customer)s") % {"customer": task_obj.customer.name})
    return {"title": title, "body": "\n".join(lines), "url": task_obj.get_absolute_url()}


def _claim_and_notify(tasks: Sequence[Any]) -> int:
    """Claim each task's reminder (compare-and-set on ``reminded_at``) and notify the owners
    of the claimed ones, all in one transaction; returns how many reminders went out."""
    now = timezone.now()
    with transaction.atomic():
        claimed = [
            obj
            for obj in tasks
            if Task.objects.filter(
                pk=obj.pk,
                owner_id=obj.owner_id,
                status=TaskStatus.OPEN,
                remind_at=obj.remind_at,
                reminded_at__isnull=True,
            ).update(reminded_at=now)
        ]
        notify_each(
            {"recipient": obj.owner_id, "kind": KIND, "record": ("task", obj.pk), **reminder_message(obj)}
            for obj in claimed
        )
    return len(claimed)


@task()
def send_task_reminder(task_id: int, remind_at_iso: str) -> bool:
    """Notify the owner of task ``task_id`` if its reminder at ``remind_at_iso`` is still
    wanted and not sent yet; True when it was sent by this call."""
    expected = datetime.datetime.fromisoformat(remind_at_iso)
    found = (
        Task.objects.select_related("customer", "owner")
        .filter(pk=task_id, status=TaskStatus.OPEN, remind_at=expected, reminded_at__isnull=True)
        .first()
    )
    return found is not None and _claim_and_notify([found]) == 1


def remind_due(*, now: datetime.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Send every reminder that is due and not sent yet, ``batch_size`` tasks at a time;
    returns how many went out."""
    now = now or timezone.now()
    sent, last_pk = 0, 0
    while True:
        batch = list(
            Task.objects.select_related("customer", "owner")
            .filter(status=TaskStatus.OPEN, remind_at__lte=now, reminded_at__isnull=True, pk__gt=last_pk)
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return sent
        last_pk = batch[-1].pk
        sent += _claim_and_notify(batch)


@task()
def send_due_reminders() -> int:
    """The sweep as a background task (queued by ``kehu worker`` when it starts)."""
    return remind_due()


housekeeping.register(
    "reminders", send_due_reminders, every=datetime.timedelta(minutes=5)
)  # catch-up; each reminder is its own deferred job


def schedule_reminders(task_ids: Iterable[int]) -> int:
    """Queue the reminder of each of these tasks that is open, has a reminder time and has
    not been reminded; returns how many jobs were queued."""
    ids = sorted(set(task_ids))
    if not ids:
        return 0
    rows: list[tuple[int, datetime.datetime]] = []
    for start in range(0, len(ids), BATCH_SIZE):
        rows.extend(
            Task.objects.filter(
                pk__in=ids[start : start + BATCH_SIZE],
                status=TaskStatus.OPEN,
                remind_at__isnull=False,
                reminded_at__isnull=True,
            ).values_list("pk", "remind_at")
        )
    now = timezone.now()
    due = [(pk, remind_at) for pk, remind_at in rows if remind_at <= now]
    later = [(pk, remind_at) for pk, remind_at in rows if remind_at > now]
    queued = 0
    if len(due) > SWEEP_THRESHOLD:
        send_due_reminders.enqueue()  # an import of many overdue tasks: one sweep, not a job each
        due, queued = [], 1
    for pk, remind_at in due:
        send_task_reminder.enqueue(pk, remind_at.isoformat())
        queued += 1
    if send_task_reminder.get_backend().supports_defer:
        for pk, remind_at in later:
            send_task_reminder.using(run_after=remind_at).enqueue(pk, remind_at.isoformat())
            queued += 1
    # (without deferral the sweep — kehu worker start, kehu remind — sends the later ones)
    return queued


@subscribe_batch("record.created", "record.updated", "record.restored")
def _on_task_events(events: list[Event]) -> None:
    ids = [
        event.record_id
        for event in events
        if event.record_type == "task"
        and event.record_id is not None
        and (event.type != "record.updated" or ARMING_FIELDS.intersection(event.data.get("changed", ())))
    ]
    if ids:
        schedule_reminders(ids)
