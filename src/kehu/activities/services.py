"""Interaction and task rules on top of the platform's generic write path.

Task status rules live in ``task_prepare``/``task_after_save`` (the record type's hooks), so a
form, an API PATCH ``{"status": "done"}``, a bulk edit and ``task_complete`` behave the same:
completing sets ``completed_at`` and a recurring task creates its next occurrence."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.models import Interaction, Task, TaskStatus
from kehu.platform import services as record_services
from kehu.platform.context import Context, Source

MAX_REPEAT_DAYS = 3650
FOLLOW_UP_FIELDS = ("title", "due_at", "remind_at", "priority", "kind", "owner", "description", "repeat_every_days")


# ---------------------------------------------------------------- interactions


def interaction_prepare(interaction: Interaction, ctx: Context, is_new: bool) -> None:
    """An interaction belongs to its customer's owner and team (and is visible with it); the
    contacts who took part must be that customer's."""
    if interaction.customer_id is None:
        if interaction.owner_id is None:
            interaction.owner = ctx.user  # so that the missing customer is the only error
        return
    interaction.owner_id = interaction.customer.owner_id
    interaction.team_id = interaction.customer.team_id
    contacts = record_services.m2m_values(interaction, "contacts")
    strangers = [str(contact) for contact in contacts if contact.customer_id != interaction.customer_id]
    if strangers:
        raise ValidationError(
            {
                "contacts": _("%(contacts)s: not a contact of this customer.")
                % {"contacts": ", ".join(sorted(strangers))}
            }
        )


def interaction_log(ctx: Context, data: Mapping[str, Any], follow_up: Mapping[str, Any] | None = None) -> Interaction:
    """Log an interaction and, with ``follow_up`` (title, due_at, and optionally remind_at,
    priority, kind, owner, description, repeat_every_days), the task that follows it up, for
    the interaction's customer and first contact, in one transaction: either both are written
    or neither. A follow-up's errors name its fields as ``follow_up.<field>``. Raises
    PermissionDenied, ValidationError."""
    from kehu.activities.records import INTERACTION, TASK

    if follow_up is not None:
        unknown = sorted(name for name in follow_up if name not in FOLLOW_UP_FIELDS)
        if unknown:
            raise ValidationError({f"follow_up.{name}": _("This field cannot be set.") for name in unknown})
    with transaction.atomic():
        interaction = record_services.record_create(INTERACTION, ctx=ctx, data=data)
        if follow_up is not None:
            contacts = sorted(interaction.contacts.all(), key=lambda contact: contact.pk)
            task_data: dict[str, Any] = {
                **{name: value for name, value in follow_up.items() if value is not None or name == "due_at"},
                "customer": interaction.customer,
                "contact": contacts[0] if contacts else None,
                "interaction": interaction,
            }
            try:
                record_services.record_create(TASK, ctx=ctx, data=task_data)
            except ValidationError as error:
                raise ValidationError(_prefixed(error, "follow_up")) from error
    return interaction


def _prefixed(error: ValidationError, prefix: str) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {f"{prefix}.{name}": messages for name, messages in error.message_dict.items()}
    return {prefix: list(error.messages)}


# ---------------------------------------------------------------- tasks


def task_prepare(task: Task, ctx: Context, is_new: bool) -> None:
    """Check a task's dates and links and keep its system fields in step with its status and
    reminder time."""
    errors: dict[str, str] = {}
    interaction, contact, opportunity = task.interaction, task.contact, task.opportunity
    if interaction is not None and task.customer_id is None:
        task.customer_id = interaction.customer_id
    if opportunity is not None and task.customer_id is None:
        task.customer_id = opportunity.customer_id
    if opportunity is not None and opportunity.customer_id != task.customer_id:
        errors["opportunity"] = _("This opportunity is about another customer.")
    if contact is not None and task.customer_id is None:
        task.customer_id = contact.customer_id
    if contact is not None and contact.customer_id != task.customer_id:
        errors["contact"] = _("This contact is not a contact of the task's customer.")
    if interaction is not None and interaction.customer_id != task.customer_id:
        errors["interaction"] = _("This interaction is about another customer.")
    if task.due_at is None:
        errors["due_at"] = _("Give the date and time the task is due.")
    elif task.remind_at is not None and task.remind_at > task.due_at:
        errors["remind_at"] = _("The reminder must not be later than the due time.")
    if task.repeat_every_days is not None and not 1 <= task.repeat_every_days <= MAX_REPEAT_DAYS:
        errors["repeat_every_days"] = _("Repeat every 1 to %(max)d days, or leave empty.") % {"max": MAX_REPEAT_DAYS}
    if errors:
        raise ValidationError(errors)

    stored = None if is_new else Task.all_objects.filter(pk=task.pk).values("status", "remind_at").first()
    old_status = stored["status"] if stored else None
    if task.status != old_status:
        if task.status == TaskStatus.OPEN:
            task.completed_at = None
        elif old_status in (None, TaskStatus.OPEN) or task.completed_at is None:
            task.completed_at = timezone.now()
        task._kehu_completed = task.status == TaskStatus.DONE  # type: ignore[attr-defined]
    if stored is not None and stored["remind_at"] != task.remind_at:
        task.reminded_at = None  # a new reminder time: remind again


def task_after_save(task: Task, ctx: Context, is_new: bool) -> None:
    """A recurring task that was just completed gets its next occurrence."""
    if getattr(task, "_kehu_completed", False):
        task._kehu_completed = False  # type: ignore[attr-defined]
        if task.repeat_every_days:
            _create_next(ctx, task)


def _create_next(ctx: Context, task: Task) -> Task:
    from kehu.activities.records import TASK

    step = datetime.timedelta(days=task.repeat_every_days or 0)
    owner = task.owner if task.owner.is_active else ctx.user
    # The next occurrence is the system's doing (the actor completed this one): it stays with
    # the task's owner even when the actor may not assign tasks to others.
    actor = Context(user=ctx.user, source=Source.SYSTEM, ip=ctx.ip, token=ctx.token)
    data = {
        "title": task.title,
        "kind": task.kind,
        "description": task.description,
        "customer": task.customer,
        "contact": task.contact,
        "due_at": task.due_at + step,
        "remind_at": task.remind_at + step if task.remind_at is not None else None,
        "priority": task.priority,
        "repeat_every_days": task.repeat_every_days,
        "owner": owner,
    }
    return record_services.record_create(TASK, ctx=actor, data=data)


def task_create(ctx: Context, data: Mapping[str, Any]) -> Task:
    """Create a task. Raises PermissionDenied, ValidationError."""
    from kehu.activities.records import TASK

    return record_services.record_create(TASK, ctx=ctx, data=data)


def task_complete(ctx: Context, task: Task, version: int | None = None) -> Task:
    """Mark a task done (``completed_at`` now; a recurring task gets its next occurrence). A
    task that is already done stays as it is. Raises PermissionDenied, StaleVersion."""
    from kehu.activities.records import TASK

    if task.status == TaskStatus.DONE:
        return task
    return record_services.record_update(TASK, ctx=ctx, obj=task, data={"status": TaskStatus.DONE}, version=version)


def task_reopen(ctx: Context, task: Task, version: int | None = None) -> Task:
    """Open a done or cancelled task again (``completed_at`` cleared). Raises
    PermissionDenied, StaleVersion."""
    from kehu.activities.records import TASK

    if task.status == TaskStatus.OPEN:
        return task
    return record_services.record_update(TASK, ctx=ctx, obj=task, data={"status": TaskStatus.OPEN}, version=version)
