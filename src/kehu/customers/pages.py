"""The customer page (Customer 360): what it shows besides the spine's detail tabs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from kehu.customers import reassign
from kehu.platform import display
from kehu.platform.access import can
from kehu.platform.context import Context
from kehu.platform.records import registry

# Key facts in the page's side box, in this order (those the model has; custom fields stay
# on the Details tab).
FACTS = (
    "stage",
    "grade",
    "phone",
    "email",
    "industry",
    "size",
    "source",
    "parent",
    "city",
    "website",
    "credit_limit",
)


def customer_page_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    """Key facts and, when the activities module is there and the user may use it, the quick
    interaction log and the new-task link."""
    rt = registry["customer"]
    names = [name for name in FACTS if display.has_field(rt.model, name)]
    facts = [(display.field_label(rt, name), display.display_value(customer, name), name) for name in names]
    context: dict[str, Any] = {
        "facts": facts,
        "can_log": False,
        "can_add_task": False,
        "can_reassign": reassign.may_reassign(Context.from_request(request)),
    }
    interaction_rt, task_rt = registry.get("interaction"), registry.get("task")
    if interaction_rt is not None and can(request.user, interaction_rt, "add"):
        context["quick_log_url"] = _url("interaction_quick_log", customer.pk)
        context["can_log"] = bool(context["quick_log_url"])
    if task_rt is not None and can(request.user, task_rt, "add"):
        context["task_create_url"] = _url(f"{task_rt.plural}_create")
        context["can_add_task"] = bool(context["task_create_url"])
    return context


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
