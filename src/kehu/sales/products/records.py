"""Products and services as a record type of the spine: a catalogue every user who may view
products sees whole (``shared``); changed by managers and admins."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from ninja import Field

from kehu.platform.access import can
from kehu.platform.records import Panel, RecordType, register, registry
from kehu.sales.products import services
from kehu.sales.products.forms import ProductForm

PRODUCT = register(
    RecordType(
        model=ProductForm.Meta.model,
        key="product",
        plural="products",
        number_prefix="PR",
        area="products",
        form=ProductForm,
        fields=[*ProductForm.Meta.fields],
        list_columns=["number", "code", "name", "kind", "category", "unit", "tax_rate", "active"],
        filter_fields=["kind", "category", "active", "owner", "team"],
        extra_filters={
            "currency": django_filters.CharFilter(
                field_name="prices__currency_id", lookup_expr="iexact", label=_("Has a price in"), distinct=True
            ),
        },
        search_fields=["code", "name", "number", "description"],
        search_extra=["unit"],
        sortable=["number", "code", "name", "kind", "category", "tax_rate", "active", "created_at", "updated_at"],
        bulk_fields=["kind", "category", "active", "tax_rate", "unit"],
        ordering="code",
        shared=True,
        before_delete=services.product_before_delete,
        select_related=["category", "owner"],
        prefetch_related=["prices"],
        api_out={
            "prices": (
                dict[str, str],
                Field(
                    default_factory=dict,
                    validation_alias="price_map",
                    description='Unit list prices by currency code, as decimal strings: {"CNY": "199.0000"}.',
                ),
            )
        },
        icon="ti-package",
        nav_group="sales",  # listed in the Sales menu; its own permission area
    )
)

registry.add_panel(
    "product",
    Panel(
        key="prices",
        title=_("Prices"),
        url_name="product_prices",
        icon="ti-currency-yuan",
        visible=lambda user: can(user, PRODUCT, "view"),
        order=10,
    ),
)
