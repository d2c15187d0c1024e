"""Demo interactions and tasks: over the past year, for every customer, open tasks in every
My day group for the sales users, recurring revisits; searchable and on the timelines."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from kehu.accounts.models import User
from kehu.activities import selectors
from kehu.activities.models import Interaction, Task, TaskStatus
from kehu.customers.models import Customer
from kehu.platform.models import AuditEntry, SearchDocument, TimelineEntry

pytestmark = pytest.mark.django_db


def test_demo_adds_interactions_and_tasks(django_assert_max_num_queries: Any) -> None:
    out = io.StringIO()
    call_command("demo", "--customers", "12", "--password", "Demo-pass-2026", stdout=out, stderr=io.StringIO())
    assert "interactions" in out.getvalue()
    now = timezone.now()
    for customer in Customer.objects.all():
        assert 2 <= customer.interactions.count() <= 5
    oldest = Interaction.objects.order_by("occurred_at").first()
    assert oldest is not None
    assert oldest.occurred_at > now - datetime.timedelta(days=367)
    assert not Interaction.objects.filter(occurred_at__gt=now).exists()
    assert Interaction.contacts.through.objects.exists()
    subjects = set(Interaction.objects.values_list("subject", flat=True))
    assert any("\u4e00" <= ch <= "\u9fff" for s in subjects for ch in s)
    assert any(s.isascii() for s in subjects)

    for username in ("sales", "sales2"):
        day = selectors.my_day(User.objects.get(username=username))
        assert day.overdue
        assert day.due_today
        assert day.upcoming
    assert Task.objects.filter(repeat_every_days=90, status=TaskStatus.OPEN).exists()
    done = Task.objects.filter(status=TaskStatus.DONE)
    assert done.exists()
    assert not done.filter(completed_at__isnull=True).exists()
    assert Task.objects.filter(interaction__isnull=False).exists()

    total = Interaction.objects.count() + Task.objects.count()
    assert AuditEntry.objects.filter(object_repr__regex=r"^(I|T)-").count() == total
    assert SearchDocument.objects.filter(record_type__in=["interaction", "task"]).count() == total
    assert TimelineEntry.objects.filter(kind="interaction").count() == Interaction.objects.count()
