"""Open opportunities go with their customer to its new owner (a follower of
``customers.reassign``; imported by ``OpportunitiesConfig.ready``).

Only the open opportunities owned by the customer's *previous* owner move: one a colleague
works on that customer stays theirs, and won or lost ones stay with whoever closed them."""

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
    return ngettext("%(count)s open opportunity moved", "%(count)s open opportunities moved", count) % {
        "count": number_format(count, force_grouping=True)
    }


@register_follower(key="opportunities", describe=_describe)
def move_open_opportunities(ctx: Context, customer_ids: list[int], owner: User, team: Team | None) -> int:
    """Give the customers' open opportunities of their current owner to ``owner`` and ``team``
    in one UPDATE, with one audit entry and event each (runs before the customers change)."""
    from kehu.sales.opportunities.models import Opportunity, OpportunityStatus

    if not customer_ids:
        return 0
    opportunities = list(
        Opportunity.objects.filter(
            customer_id__in=customer_ids, status=OpportunityStatus.OPEN, owner_id=F("customer__owner_id")
        )
        .select_for_update(of=("self",))
        .only("id", "number", "name", "owner_id", "team_id", "version")
        .order_by("pk")
    )
    return len(move_records(ctx, registry["opportunity"], opportunities, owner, team))
