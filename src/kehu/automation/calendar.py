"""The iCalendar feed of a user's open tasks (RFC 5545), for calendar apps to subscribe to.

Each open task the user owns, due from 30 days ago to a year ahead, is a VEVENT: UID stable
per task, DTSTART at the due time in the site's time zone (TZID, with its VTIMEZONE),
30 minutes long, the customer and description in DESCRIPTION, a link to the task, and a
VALARM at the reminder time when one is set."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event

from kehu.activities.models import Task, TaskStatus
from kehu.platform.access import can, visible_to
from kehu.platform.records import registry

PAST = datetime.timedelta(days=30)
AHEAD = datetime.timedelta(days=365)
DURATION = datetime.timedelta(minutes=30)
REFRESH = datetime.timedelta(minutes=15)
PRIORITY = {"urgent": 1, "high": 3, "normal": 5, "low": 9}  # RFC 5545: 1 highest, 9 lowest


def feed_tasks(user: Any, *, now: datetime.datetime | None = None) -> QuerySet:
    """The open tasks ``user`` owns that the feed shows (none without permission to see tasks)."""
    rt = registry["task"]
    if not can(user, rt, "view"):
        return Task.objects.none()
    now = now or timezone.now()
    return (
        visible_to(user, Task.objects.all(), rt)
        .filter(owner=user, status=TaskStatus.OPEN, due_at__gte=now - PAST, due_at__lte=now + AHEAD)
        .select_related("customer", "contact")
        .order_by("due_at", "pk")
    )


def _description(task: Any) -> str:
    lines = [task.number]
    if task.customer_id is not None:
        lines.append(_("Customer: %(customer)s") % {"customer": task.customer.name})
    if task.contact_id is not None:
        lines.append(_("Contact: %(contact)s") % {"contact": task.contact.name})
    if task.description:
        lines.extend(["", task.description])
    return "\n".join(lines)


def task_event(task: Any, *, host: str, absolute_url: Callable[[str], str], zone: Any) -> Event:
    event = Event()
    event.add("uid", f"task-{task.pk}@{host}")
    event.add("dtstamp", task.updated_at)
    event.add("last-modified", task.updated_at)
    event.add("created", task.created_at)
    event.add("sequence", max(task.version - 1, 0))
    event.add("summary", task.title)
    start = task.due_at.astimezone(zone)
    event.add("dtstart", start)
    event.add("duration", DURATION)
    event.add("description", _description(task))
    event.add("url", absolute_url(task.get_absolute_url()))
    event.add("priority", PRIORITY.get(task.priority, 5))
    event.add("categories", [str(task.get_kind_display())])
    event.add("transp", "TRANSPARENT")
    if task.remind_at is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _("Reminder: %(title)s") % {"title": task.title})
        alarm.add("trigger", task.remind_at - task.due_at)  # relative to DTSTART
        event.add_component(alarm)
    return event


def build_feed(user: Any, *, host: str, absolute_url: Callable[[str], str]) -> bytes:
    """The whole feed of ``user`` as iCalendar bytes; ``host`` names the UIDs' domain and
    ``absolute_url`` turns a path into a full link."""
    zone = timezone.get_default_timezone()
    with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
        calendar = Calendar()
        calendar.add("prodid", "-//Kehu//Kehu CRM//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", _("Kehu tasks of %(user)s") % {"user": user.get_full_name() or user.username})
        calendar.add("x-wr-timezone", str(zone))
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", REFRESH)
        for task in feed_tasks(user):
            calendar.add_component(task_event(task, host=host, absolute_url=absolute_url, zone=zone))
        calendar.add_missing_timezones()
    return calendar.to_ical()
