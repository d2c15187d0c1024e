"""Interactions and tasks as record types of the spine (both live inside a customer)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from kehu.activities import services
from kehu.activities.forms import InteractionForm, TaskForm
from kehu.activities.models import Interaction, Task
from kehu.platform.access import can
from kehu.platform.records import Child, Panel, RecordType, register, registry

INTERACTION = register(
    RecordType(
        model=Interaction,
        key="interaction",
        plural="interactions",
        number_prefix="I",
        area="customers",
        form=InteractionForm,
        fields=[*InteractionForm.Meta.fields],
        list_columns=["number", "occurred_at", "kind", "subject", "customer", "direction", "owner"],
        filter_fields=["kind", "direction", "customer", "owner", "team", "created_by"],
        extra_filters={
            "occurred_after": django_filters.IsoDateTimeFilter(
                field_name="occurred_at", lookup_expr="gte", label=_("Occurred on or after")
            ),
            "occurred_before": django_filters.IsoDateTimeFilter(
                field_name="occurred_at", lookup_expr="lt", label=_("Occurred before")
            ),
        },
        search_fields=["subject", "number", "content"],
        search_extra=["outcome", "next_step"],
        search_title="subject",
        search_parent="customer",
        sortable=["number", "occurred_at", "kind", "subject", "created_at", "updated_at"],
        bulk_fields=["kind", "direction"],
        visibility_via="customer",
        ordering="-occurred_at",
        prepare=services.interaction_prepare,
        select_related=["customer", "owner"],
        icon="ti-messages",
    )
)

TASK = register(
    RecordType(
        model=Task,
        key="task",
        plural="tasks",
        number_prefix="T",
        area="customers",
        form=TaskForm,
        fields=[*TaskForm.Meta.fields, "interaction"],  # set by logging, not offered in the form
        system_fields=["completed_at", "reminded_at"],
        list_columns=["number", "title", "due_at", "priority", "status", "customer", "owner"],
        filter_fields=["status", "priority", "kind", "owner", "team", "customer", "contact", "interaction"],
        extra_filters={
            "due_after": django_filters.IsoDateTimeFilter(
                field_name="due_at", lookup_expr="gte", label=_("Due on or after")
            ),
            "due_before": django_filters.IsoDateTimeFilter(
                field_name="due_at", lookup_expr="lt", label=_("Due before")
            ),
        },
        search_fields=["title", "number", "description"],
        search_title="title",
        search_parent="customer",
        sortable=["number", "title", "due_at", "priority", "status", "created_at", "updated_at", "owner"],
        bulk_fields=["owner", "team", "priority", "status", "kind"],
        ordering="due_at",
        prepare=services.task_prepare,
        after_save=services.task_after_save,
        select_related=["customer", "owner"],
        icon="ti-checklist",
    )
)

registry.add_child("customer", Child(key="interaction", fk="customer"))
registry.add_child("customer", Child(key="task", fk="customer"))
registry.add_panel(
    "customer",
    Panel(
        key="tasks",
        title=_("Tasks"),
        url_name="customer_tasks",
        icon="ti-checklist",
        visible=lambda user: can(user, TASK, "view"),
        order=10,  # a salesperson's next steps come first
    ),
)
