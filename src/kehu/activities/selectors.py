"""Reading interactions and tasks: every query starts from ``visible_to``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from kehu.activities.models import Interaction, Task, TaskStatus
from kehu.platform.access import visible_to
from kehu.platform.errors import NotVisible

UPCOMING_DAYS = 7
CUSTOMER_DONE_SHOWN = 10


def visible_tasks(user: Any) -> QuerySet[Task]:
    from kehu.activities.records import TASK

    return visible_to(user, Task.objects.all(), TASK)


def visible_interactions(user: Any) -> QuerySet[Interaction]:
    from kehu.activities.records import INTERACTION

    return visible_to(user, Interaction.objects.all(), INTERACTION)


def customer_get(user: Any, customer_id: Any) -> Any:
    """A customer ``user`` may see; raises NotVisible."""
    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER

    try:
        return visible_to(user, Customer.objects.all(), CUSTOMER).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def customer_contacts(user: Any, customer: Any) -> QuerySet[Any]:
    """The contacts of ``customer`` that ``user`` may see, primary first."""
    from kehu.customers.models import Contact
    from kehu.customers.records import CONTACT

    return visible_to(user, Contact.objects.filter(customer=customer), CONTACT).order_by("-is_primary", "name", "id")


def task_get(user: Any, pk: Any) -> Task:
    """A task ``user`` may see; raises NotVisible."""
    try:
        return visible_tasks(user).select_related("customer", "owner").get(pk=pk)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


@dataclass
class CustomerTasks:
    open: list[Task] = field(default_factory=list)
    closed: list[Task] = field(default_factory=list)
    closed_count: int = 0


def customer_tasks(user: Any, customer: Any) -> CustomerTasks:
    """A customer's tasks that ``user`` may see: the open ones by due time, then the last
    completed or cancelled ones."""
    tasks = visible_tasks(user).filter(customer=customer).select_related("owner", "contact")
    closed = tasks.exclude(status=TaskStatus.OPEN)
    return CustomerTasks(
        open=list(tasks.filter(status=TaskStatus.OPEN).order_by("due_at", "id")),
        closed=list(closed.order_by("-completed_at", "-id")[:CUSTOMER_DONE_SHOWN]),
        closed_count=closed.count(),
    )


@dataclass
class MyDay:
    now: datetime.datetime
    today: datetime.date
    overdue: list[Task] = field(default_factory=list)
    due_today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        return len(self.overdue) + len(self.due_today) + len(self.upcoming)


def local_day_bounds(day: datetime.date, tz: Any) -> tuple[datetime.datetime, datetime.datetime]:
    """The first instant of ``day`` and of the next day in time zone ``tz``."""
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def my_day(user: Any, *, now: datetime.datetime | None = None, tz: Any = None) -> MyDay:
    """``user``'s open tasks in three groups, in their time zone (the site's, ``TIME_ZONE``,
    unless one is active): overdue (due before now), today (due from now to midnight) and
    upcoming (the next seven days); and the interactions they logged today."""
    tz = tz or timezone.get_current_timezone()
    now = now or timezone.now()
    today = now.astimezone(tz).date()
    start, tomorrow = local_day_bounds(today, tz)
    horizon = tomorrow + datetime.timedelta(days=UPCOMING_DAYS)
    tasks = list(
        visible_tasks(user)
        .filter(owner=user, status=TaskStatus.OPEN, due_at__lt=horizon)
        .select_related("customer", "contact")
        .annotate(
            rank=Case(
                When(priority="urgent", then=Value(0)),
                When(priority="high", then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("due_at", "rank", "id")
    )
    day = MyDay(now=now, today=today)
    for task in tasks:
        if task.due_at < now:
            day.overdue.append(task)
        elif task.due_at < tomorrow:
            day.due_today.append(task)
        else:
            day.upcoming.append(task)
    day.interactions = list(
        visible_interactions(user)
        .filter(created_by=user, occurred_at__gte=start, occurred_at__lt=tomorrow)
        .select_related("customer")
        .order_by("-occurred_at", "-id")
    )
    return day
