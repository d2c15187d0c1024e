"""Contracts, orders and payments as record types of the spine (all three live inside a
customer: tabs on its page, trashed and restored with it)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from kehu.platform.access import can
from kehu.platform.records import Child, NavLink, Panel, RecordType, register, registry
from kehu.sales.contracts import services
from kehu.sales.contracts.forms import ContractForm, OrderForm, PaymentForm
from kehu.sales.contracts.models import Contract, Order, Payment
from kehu.sales.contracts.pages import contract_page_context, order_page_context

CONTRACT = register(
    RecordType(
        model=Contract,
        key="contract",
        plural="contracts",
        number_prefix="CT",
        area="sales",
        form=ContractForm,
        fields=[*ContractForm.Meta.fields],
        system_fields=["status", "status_reason"],
        list_columns=["number", "title", "customer", "status", "amount", "currency", "start_date", "end_date", "owner"],
        filter_fields=["status", "customer", "opportunity", "currency", "owner", "team"],
        extra_filters={
            "ends_after": django_filters.DateFilter(
                field_name="end_date", lookup_expr="gte", label=_("Ends on or after")
            ),
            "ends_before": django_filters.DateFilter(field_name="end_date", lookup_expr="lt", label=_("Ends before")),
        },
        search_fields=["title", "number"],
        search_extra=["terms"],
        search_title="title",
        search_parent="customer",
        sortable=[
            "number",
            "title",
            "status",
            "amount",
            "start_date",
            "end_date",
            "signed_date",
            "created_at",
            "updated_at",
        ],
        bulk_fields=["owner", "team"],
        ordering="-start_date",
        prepare=services.contract_prepare,
        after_save=services.contract_after_save,
        select_related=["customer", "owner"],
        icon="ti-file-certificate",
        detail_template="contracts/contract_detail.html",
        detail_context=contract_page_context,
    )
)

ORDER = register(
    RecordType(
        model=Order,
        key="order",
        plural="orders",
        number_prefix="SO",
        area="sales",
        form=OrderForm,
        fields=[*OrderForm.Meta.fields],
        system_fields=["status", "subtotal", "tax", "total"],
        list_columns=["number", "order_date", "customer", "status", "total", "currency", "contract", "owner"],
        filter_fields=["status", "customer", "contract", "opportunity", "currency", "owner", "team"],
        extra_filters={
            "ordered_after": django_filters.DateFilter(
                field_name="order_date", lookup_expr="gte", label=_("Ordered on or after")
            ),
            "ordered_before": django_filters.DateFilter(
                field_name="order_date", lookup_expr="lt", label=_("Ordered before")
            ),
        },
        search_fields=["number"],
        search_extra=["notes"],
        search_title="number",
        search_parent="customer",
        sortable=["number", "order_date", "status", "total", "created_at", "updated_at"],
        bulk_fields=["owner", "team"],
        ordering="-order_date",
        prepare=services.order_prepare,
        after_save=services.order_after_save,
        select_related=["customer", "owner", "contract"],
        icon="ti-shopping-cart",
        detail_template="contracts/order_detail.html",
        detail_context=order_page_context,
    )
)

PAYMENT = register(
    RecordType(
        model=Payment,
        key="payment",
        plural="payments",
        number_prefix="PAY",
        area="sales",
        form=PaymentForm,
        fields=[*PaymentForm.Meta.fields, "customer"],  # the customer is the contract's or order's
        list_columns=["number", "received_on", "customer", "amount", "currency", "method", "contract", "order"],
        filter_fields=["customer", "contract", "order", "method", "currency", "owner", "team"],
        extra_filters={
            "received_after": django_filters.DateFilter(
                field_name="received_on", lookup_expr="gte", label=_("Received on or after")
            ),
            "received_before": django_filters.DateFilter(
                field_name="received_on", lookup_expr="lt", label=_("Received before")
            ),
        },
        search_fields=["number", "reference", "invoice_number"],
        search_extra=["notes"],
        search_title="number",
        search_parent="customer",
        sortable=["number", "received_on", "amount", "method", "created_at", "updated_at"],
        bulk_fields=["method"],
        ordering="-received_on",
        prepare=services.payment_prepare,
        select_related=["customer", "contract", "order", "owner"],
        icon="ti-cash",
        in_nav=False,
    )
)

registry.add_child("customer", Child(key="contract", fk="customer"))
registry.add_child("customer", Child(key="order", fk="customer"))
registry.add_child("customer", Child(key="payment", fk="customer"))
registry.add_panel(
    "customer",
    Panel(
        key="receivables",
        title=_("Receivables"),
        url_name="customer_receivables",
        icon="ti-report-money",
        visible=lambda user: can(user, CONTRACT, "view"),
        refresh_on="kehu:receivables-changed",
        order=40,
    ),
)

# The "Sales" menu of the top bar: opportunities, contracts, orders, payments, products, and
# the receivables page.
registry.name_group("sales", _("Sales"))
registry.add_nav_link(
    NavLink(
        group="sales",
        key="receivables",
        label=_("Receivables"),
        url_name="receivables",
        icon="ti-report-money",
        visible=lambda user: can(user, CONTRACT, "view"),
    )
)
