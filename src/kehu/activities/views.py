"""Quick logging on a customer, the customer's task list, completing tasks and My day. Thin:
reads through selectors, writes through services."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.activities import selectors, services
from kehu.activities.forms import QuickLogForm
from kehu.activities.records import INTERACTION, TASK
from kehu.platform.access import can
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.views import safe_next

TIMELINE_CHANGED = "kehu:timeline-changed"
TASKS_CHANGED = "kehu:tasks-changed"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _trigger(response: HttpResponse, *events: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({event: {} for event in events})
    return response


def _customer(request: HttpRequest, customer_id: int) -> Any:
    try:
        return selectors.customer_get(request.user, customer_id)
    except NotVisible:
        raise Http404 from None


@login_required
def quick_log(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Log an interaction (and its follow-up task) on a customer: a partial for htmx, which
    answers 200 with the form's errors inline so htmx swaps it in, and a page without htmx."""
    if not can(request.user, INTERACTION, "add"):
        raise PermissionDenied
    customer = _customer(request, customer_id)
    contacts = selectors.customer_contacts(request.user, customer)
    success = ""
    status = 200
    if request.method == "POST":
        form = QuickLogForm(request.POST, contacts=contacts)
        if form.is_valid():
            try:
                interaction = services.interaction_log(
                    Context.from_request(request), form.interaction_data(customer), form.follow_up_data()
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                follow_up = form.follow_up_data() is not None
                success = (
                    _("Logged %(record)s and created its follow-up task.") if follow_up else _("Logged %(record)s.")
                ) % {"record": interaction}
                if not _is_htmx(request):
                    messages.success(request, success)
                    return HttpResponseRedirect(safe_next(request, customer.get_absolute_url()))
                form = QuickLogForm(contacts=contacts)
        if form.errors and not _is_htmx(request):
            status = 422
    else:
        form = QuickLogForm(contacts=contacts)
    context = {"customer": customer, "form": form, "success": success}
    if _is_htmx(request):
        response = render(request, "activities/_quick_log.html", context, status=status)
        if success:
            _trigger(response, TIMELINE_CHANGED, TASKS_CHANGED)
        return response
    return render(request, "activities/quick_log.html", context, status=status)


@login_required
def customer_tasks(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A customer's tasks (open first) as a partial; a page without htmx."""
    if not can(request.user, TASK, "view"):
        raise PermissionDenied
    customer = _customer(request, customer_id)
    return _customer_tasks_response(request, customer)


def _customer_tasks_response(request: HttpRequest, customer: Any, *, error: str = "") -> HttpResponse:
    context = {
        "customer": customer,
        "tasks": selectors.customer_tasks(request.user, customer),
        "target": f"#customer-tasks-{customer.pk}",
        "now": timezone.now(),
        "can_change": can(request.user, TASK, "change"),
        "can_add": can(request.user, TASK, "add"),
        "error": error,
    }
    template = "activities/_customer_tasks.html" if _is_htmx(request) else "activities/customer_tasks.html"
    return render(request, template, context)


def _task_action(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    if not can(request.user, TASK, "change"):
        raise PermissionDenied
    try:
        task = selectors.task_get(request.user, pk)
    except NotVisible:
        raise Http404 from None
    version = request.POST.get("version") or None
    error = ""
    try:
        task = action(Context.from_request(request), task, version=int(version) if version else None)
    except (ValueError, TypeError):
        error = _("The form was not valid. Reload and try again.")
    except StaleVersion:
        error = str(StaleVersion.message)
    except ValidationError as invalid:
        error = "; ".join(invalid.messages)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("%(record)s saved.") % {"record": task})
        return HttpResponseRedirect(safe_next(request, reverse("my_day")))
    if request.POST.get("view") == "my_day":
        response = _my_day_response(request, partial=True, error=error)
    elif task.customer_id is not None:
        response = _customer_tasks_response(request, task.customer, error=error)
    else:
        response = _my_day_response(request, partial=True, error=error)
    if not error:  # the list that asked is re-rendered already
        _trigger(response, TIMELINE_CHANGED)
    return response


@login_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done (posting its version); from a customer's task list or My day."""
    return _task_action(request, pk, services.task_complete)


@login_required
@require_POST
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_action(request, pk, services.task_reopen)


def _my_day_response(request: HttpRequest, *, partial: bool, error: str = "") -> HttpResponse:
    day = selectors.my_day(request.user)
    context = {
        "day": day,
        "now": day.now,
        "target": "#my-day-tasks",
        "can_change": can(request.user, TASK, "change"),
        "can_log": can(request.user, INTERACTION, "add"),
        "error": error,
    }
    template = "activities/_my_day_tasks.html" if partial else "activities/my_day.html"
    return render(request, template, context)


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    """The user's open tasks (overdue, today, upcoming) and what they logged today."""
    return _my_day_response(request, partial=_is_htmx(request) and request.GET.get("partial") == "tasks")
