"""Reassigning a customer takes along its contracts and orders that are still being worked
on — draft or under-approval contracts and draft orders of the customer's previous owner
(a follower of ``customers.reassign``). Signed contracts, confirmed orders and payments stay
with whoever closed them: they are that person's results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F
from django.utils.formats import number_format
from django.utils.translation import ngettext

from kehu.customers.reassign import move_records, register_follower
from kehu.platform.context import Context
from kehu.platform.records import registry
from kehu.sales.contracts.models import Contract, ContractStatus, Order, OrderStatus

if TYPE_CHECKING:
    from kehu.accounts.models import Team, User


def _describe(count: int) -> str:
    return ngettext("%(count)s draft contract or order moved", "%(count)s draft contracts and orders moved", count) % {
        "count": number_format(count, force_grouping=True)
    }


@register_follower(key="contracts", describe=_describe)
def move_drafts(ctx: Context, customer_ids: list[int], owner: User, team: Team | None) -> int:
    if not customer_ids:
        return 0
    moved = 0
    drafts = (
        (registry["contract"], Contract, {"status__in": [ContractStatus.DRAFT, ContractStatus.UNDER_APPROVAL]}),
        (registry["order"], Order, {"status": OrderStatus.DRAFT}),
    )
    for rt, model, condition in drafts:
        shown = ("title",) if model is Contract else ()
        objs = list(
            model.objects.filter(customer_id__in=customer_ids, owner_id=F("customer__owner_id"), **condition)
            .select_for_update(of=("self",))
            .only("id", "number", "owner_id", "team_id", "version", *shown)
            .order_by("pk")
        )
        moved += len(move_records(ctx, rt, objs, owner, team))
    return moved
