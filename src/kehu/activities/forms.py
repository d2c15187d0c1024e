from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.activities.models import Direction, Interaction, InteractionKind, Task, TaskPriority
from kehu.customers.models import Contact
from kehu.platform.forms import RecordForm

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class InteractionForm(RecordForm):
    class Meta:
        model = Interaction
        fields = [
            "customer",
            "kind",
            "direction",
            "occurred_at",
            "duration_minutes",
            "contacts",
            "participants",
            "subject",
            "content",
            "outcome",
            "next_step",
        ]
        widgets = {"content": forms.Textarea(attrs={"rows": 4}), "occurred_at": DATETIME_WIDGET}


class TaskForm(RecordForm):
    class Meta:
        model = Task
        fields = [
            "title",
            "kind",
            "customer",
            "contact",
            "opportunity",
            "due_at",
            "remind_at",
            "priority",
            "status",
            "repeat_every_days",
            "description",
            "owner",
            "team",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "due_at": DATETIME_WIDGET,
            "remind_at": DATETIME_WIDGET,
        }
        labels = {"owner": _("Assigned to")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            self.fields["owner"].label = _("Assigned to")


KIND_ICONS: dict[str, str] = {
    InteractionKind.CALL: "ti-phone",
    InteractionKind.EMAIL: "ti-mail",
    InteractionKind.MEETING: "ti-users",
    InteractionKind.VISIT: "ti-map-pin",
    InteractionKind.MESSAGE: "ti-brand-wechat",
    InteractionKind.NOTE: "ti-note",
}


def _contact_label(contact: Contact) -> str:
    return f"{contact.name} · {contact.title}" if contact.title else contact.name


class QuickLogForm(forms.Form):
    """Log an interaction with a customer in one step, optionally with its follow-up task."""

    kind = forms.ChoiceField(
        label=_("Type"), choices=InteractionKind.choices, initial=InteractionKind.CALL, widget=forms.RadioSelect
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=DATETIME_WIDGET)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=0, required=False)
    direction = forms.ChoiceField(label=_("Direction"), choices=[("", "—"), *Direction.choices], required=False)
    contacts = forms.ModelMultipleChoiceField(
        label=_("Contacts"), queryset=Contact.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    content = forms.CharField(label=_("Content"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)
    next_step = forms.CharField(label=_("Next step"), max_length=255, required=False)
    follow_up = forms.BooleanField(label=_("Create a follow-up task"), required=False)
    task_title = forms.CharField(
        label=_("Task"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use the next step."),
    )
    task_due_at = forms.DateTimeField(label=_("Due"), required=False, widget=DATETIME_WIDGET)
    task_remind_at = forms.DateTimeField(label=_("Remind me at"), required=False, widget=DATETIME_WIDGET)
    task_priority = forms.ChoiceField(
        label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL, required=False
    )

    # service error keys → form fields
    ERROR_FIELDS = {
        "follow_up.title": "task_title",
        "follow_up.due_at": "task_due_at",
        "follow_up.remind_at": "task_remind_at",
        "follow_up.priority": "task_priority",
    }

    def __init__(self, *args: Any, contacts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["contacts"].label_from_instance = _contact_label  # type: ignore[attr-defined]
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            tomorrow_nine = (now + datetime.timedelta(days=1)).replace(hour=9, minute=0)
            self.initial.setdefault("occurred_at", now)
            self.initial.setdefault("task_due_at", tomorrow_nine)

    def kind_buttons(self) -> list[dict[str, Any]]:
        """The kinds as a button group: value, label, icon, checked, id."""
        current = self["kind"].value() or InteractionKind.CALL
        return [
            {
                "value": value,
                "label": label,
                "icon": KIND_ICONS.get(value, "ti-point"),
                "checked": value == current,
                "id": f"{self.auto_id % 'kind'}_{value}" if isinstance(self.auto_id, str) else f"kind_{value}",
            }
            for value, label in InteractionKind.choices
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("follow_up"):
            if not (data.get("task_title") or "").strip():
                data["task_title"] = (data.get("next_step") or "").strip()
                if not data["task_title"]:
                    self.add_error("task_title", _("Give the task a title (or fill in the next step)."))
            if not data.get("task_due_at"):
                self.add_error("task_due_at", _("Give the date and time the task is due."))
        return data

    def interaction_data(self, customer: Any) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "customer": customer,
            "kind": data["kind"],
            "occurred_at": data["occurred_at"],
            "duration_minutes": data.get("duration_minutes"),
            "direction": data.get("direction") or "",
            "contacts": list(data.get("contacts") or []),
            "subject": data["subject"],
            "content": data.get("content") or "",
            "outcome": data.get("outcome") or "",
            "next_step": data.get("next_step") or "",
        }

    def follow_up_data(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("follow_up"):
            return None
        return {
            "title": data["task_title"],
            "due_at": data["task_due_at"],
            "remind_at": data.get("task_remind_at"),
            "priority": data.get("task_priority") or TaskPriority.NORMAL,
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """The service's errors on the fields they name (``follow_up.<field>`` on the task's)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            target = self.ERROR_FIELDS.get(name, name)
            self.add_error(target if target in self.fields else None, errors)
