"""Interactions (calls, meetings, visits, messages, notes) and tasks (follow-ups, revisits)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.platform.models import BaseRecord


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    VISIT = "visit", _("Visit")
    MESSAGE = "message", _("WeChat / message")
    NOTE = "note", _("Note")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Interaction(BaseRecord):
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="interactions"
    )
    kind = models.CharField(_("type"), max_length=16, choices=InteractionKind.choices, default=InteractionKind.CALL)
    direction = models.CharField(_("direction"), max_length=16, choices=Direction.choices, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    content = models.TextField(_("content"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    next_step = models.CharField(_("next step"), max_length=255, blank=True)
    contacts = models.ManyToManyField(
        "customers.Contact", verbose_name=_("contacts"), blank=True, related_name="interactions"
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("our participants"), blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_idx"),
            models.Index(fields=["owner", "-occurred_at"], name="interaction_owner_idx"),
            models.Index(fields=["created_by", "-occurred_at"], name="interaction_creator_idx"),
            models.Index(fields=["-updated_at"], name="interaction_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}".strip() if self.number else self.subject

    @property
    def name(self) -> str:
        """What pages show as the record's name."""
        return self.subject


class TaskKind(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Follow-up")
    REVISIT = "revisit", _("Revisit")
    AFTER_SALES = "after_sales", _("After-sales call")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    OTHER = "other", _("Other")


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(BaseRecord):
    """A to-do of its owner (the assignee): a follow-up, a revisit, an after-sales call."""

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("type"), max_length=16, choices=TaskKind.choices, default=TaskKind.FOLLOW_UP)
    description = models.TextField(_("description"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
    )
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("interaction"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    # The opportunity whose follow-up plan this task is part of.
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    due_at = models.DateTimeField(_("due"))
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True, editable=False)
    priority = models.CharField(_("priority"), max_length=16, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)
    repeat_every_days = models.PositiveIntegerField(
        _("repeat every (days)"),
        null=True,
        blank=True,
        help_text=_("A recurring revisit: completing the task creates the next one this many days later."),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="task_owner_status_due_idx"),
            models.Index(fields=["status", "remind_at"], name="task_status_remind_idx"),
            models.Index(fields=["customer", "status", "due_at"], name="task_customer_idx"),
            models.Index(fields=["-updated_at"], name="task_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip() if self.number else self.title

    @property
    def name(self) -> str:
        """What pages show as the record's name."""
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN
