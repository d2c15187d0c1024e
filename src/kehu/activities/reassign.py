"""Open tasks go with their customer to its new owner (a follower of
``customers.reassign``; imported by ``ActivitiesConfig.ready``).

Only the open tasks assigned to the customer's *previous* owner move: a task someone else
was given on that customer (an after-sales call for a service agent) stays theirs, as done
work (done, cancelled) stays with whoever did it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F
from django.utils.formats import number_format
from django.utils.translation import ngettext

from kehu.customers.reassign import move_records, register_follower
from kehu.platform.context import Context
from kehu.platform.records import registry

if TYPE_CHECKING:
    from kehu.accounts.models import Team, User


def _describe(count: int) -> str:
    return ngettext("%(count)s open task moved", "%(count)s open tasks moved", count) % {
        "count": number_format(count, force_grouping=True)
    }


@register_follower(key="tasks", describe=_describe)
def move_open_tasks(ctx: Context, customer_ids: list[int], owner: User, team: Team | None) -> int:
    """Give the customers' open tasks of their current owner to ``owner`` and ``team``, in one
    UPDATE with one audit entry and event per task (runs before the customers change)."""
    from kehu.activities.models import Task, TaskStatus

    if not customer_ids:
        return 0
    tasks = list(
        Task.objects.filter(customer_id__in=customer_ids, status=TaskStatus.OPEN, owner_id=F("customer__owner_id"))
        .select_for_update(of=("self",))
        .only("id", "number", "title", "owner_id", "team_id", "version")
        .order_by("pk")
    )
    return len(move_records(ctx, registry["task"], tasks, owner, team))
