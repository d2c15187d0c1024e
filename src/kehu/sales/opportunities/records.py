"""Opportunities as a record type of the spine (a tab and a panel on the customer page, entries
on its timeline)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from kehu.platform import timeline
from kehu.platform.access import can
from kehu.platform.records import Child, ListLink, NavLink, Panel, RecordType, register, registry
from kehu.sales.opportunities import services
from kehu.sales.opportunities.forms import OpportunityForm
from kehu.sales.opportunities.models import Opportunity
from kehu.sales.opportunities.pages import opportunity_page_context

OPPORTUNITY = register(
    RecordType(
        model=Opportunity,
        key="opportunity",
        plural="opportunities",
        number_prefix="OPP",
        area="sales",
        form=OpportunityForm,
        # the pipeline and stage are set when it is created, then only by opportunity_move
        fields=[name for name in OpportunityForm.Meta.fields if name not in ("pipeline", "stage")],
        create_only=["pipeline", "stage"],
        system_fields=["status", "closed_at", "lost_reason"],
        list_columns=[
            "number",
            "name",
            "customer",
            "stage",
            "amount",
            "currency",
            "probability",
            "expected_close_date",
            "status",
            "owner",
        ],
        filter_fields=["pipeline", "stage", "status", "forecast_category", "source", "customer", "owner", "team"],
        extra_filters={
            "close_from": django_filters.DateFilter(
                field_name="expected_close_date", lookup_expr="gte", label=_("Expected close on or after")
            ),
            "close_to": django_filters.DateFilter(
                field_name="expected_close_date", lookup_expr="lte", label=_("Expected close on or before")
            ),
        },
        search_fields=["name", "number"],
        search_extra=["next_step", "description", "campaign"],
        search_parent="customer",
        sortable=[
            "number",
            "name",
            "amount",
            "probability",
            "expected_close_date",
            "status",
            "stage",
            "created_at",
            "updated_at",
            "owner",
        ],
        bulk_fields=["owner", "team", "expected_close_date", "forecast_category", "source"],
        prepare=services.opportunity_prepare,
        after_save=services.opportunity_after_save,
        select_related=["customer", "owner", "stage", "pipeline"],
        icon="ti-target-arrow",
        detail_template="opportunities/opportunity_detail.html",
        detail_context=opportunity_page_context,
        list_links=[
            ListLink(_("Board"), "opportunity_board", "ti-layout-kanban"),
            ListLink(_("Forecast"), "opportunity_forecast", "ti-chart-line"),
        ],
    )
)

registry.add_child("customer", Child(key="opportunity", fk="customer"))
registry.add_panel(
    "customer",
    Panel(
        key="opportunities",
        title=_("Opportunities"),
        url_name="customer_opportunities",
        icon="ti-target-arrow",
        visible=lambda user: can(user, OPPORTUNITY, "view"),
        refresh_on="kehu:opportunities-changed",
        order=20,
    ),
)


def _timeline_data(opp: Opportunity) -> dict[str, object]:
    return {
        "status": opp.status,
        "stage": opp.stage.display_name if opp.stage_id else "",
        "amount": str(opp.amount) if opp.amount is not None else None,
        "currency": opp.currency,
        "expected_close_date": opp.expected_close_date.isoformat() if opp.expected_close_date else None,
    }


timeline.register(
    timeline.Source(
        record_type="opportunity",
        kind="opportunity",
        label=_("Opportunities"),
        icon="ti-target-arrow",
        subjects=lambda opp: [("customer", opp.customer_id)],
        # an open opportunity sits where it was created; a closed one where it was won or lost
        occurred_at=lambda opp: opp.closed_at or opp.created_at,
        title=lambda opp: opp.name,
        summary=lambda opp: " · ".join(
            part
            for part in (
                opp.stage.name if opp.stage_id else "",
                f"{opp.amount} {opp.currency}" if opp.amount is not None else "",
                opp.lost_reason,
            )
            if part
        ),
        data=_timeline_data,
        select_related=("stage",),
    )
)

# The pipeline board and the forecast in the Sales menu, after the record types' lists.
for key, label, url_name, icon in (
    ("board", _("Pipeline board"), "opportunity_board", "ti-layout-kanban"),
    ("forecast", _("Forecast"), "opportunity_forecast", "ti-chart-line"),
):
    registry.add_nav_link(
        NavLink(
            group="sales",
            key=key,
            label=label,
            url_name=url_name,
            icon=icon,
            visible=lambda user: can(user, OPPORTUNITY, "view"),
        )
    )


def _products_on_opportunities(product_ids: list[int]) -> set[int]:
    from kehu.sales.opportunities.models import OpportunityLine

    lines = OpportunityLine.objects.filter(product_id__in=product_ids)
    return set(lines.values_list("product_id", flat=True).distinct())


def _register_product_usage() -> None:
    from kehu.sales.products.services import register_usage

    register_usage("opportunity_lines", _products_on_opportunities, label=_("opportunity lines"))


_register_product_usage()  # a product quoted on an opportunity is archived, never deleted
