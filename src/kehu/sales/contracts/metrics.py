"""Orders are the purchase records analytics reads: the grading metrics provider (purchase
amount in the reporting currency, order count and last order date over the last year) for
``customers.grading``."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from kehu.customers.grading import Metrics, register_metrics
from kehu.platform import money
from kehu.sales.contracts.models import ORDER_BOOKED, Order

PERIOD_DAYS = 365


@register_metrics
def order_metrics(customer_ids: Sequence[int], *, today: datetime.date | None = None) -> Mapping[int, Metrics]:
    """Per customer: the total of its confirmed and fulfilled orders of the last year in the
    reporting currency (each day's orders converted at that day's rate; orders without a rate
    are counted but add no amount), how many, and the last order date. One query for the
    orders and one for the rates, however many customers."""
    today = today or timezone.localdate()
    rows = list(
        Order.objects.filter(
            customer_id__in=list(customer_ids),
            status__in=ORDER_BOOKED,
            order_date__gt=today - datetime.timedelta(days=PERIOD_DAYS),
            order_date__lte=today,
        )
        .values("customer_id", "currency", "order_date")
        .annotate(total=Sum("total"), count=Count("id"))
        .order_by()
    )
    base = money.reporting_currency()
    rates = money.rates_for({row["currency"] for row in rows}, {row["order_date"] for row in rows})
    amounts: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    last: dict[int, datetime.date] = {}
    for row in rows:
        customer_id = row["customer_id"]
        rate = rates.get((row["currency"].upper(), row["order_date"]))
        converted = Decimal(0) if rate is None else money.convert_with(row["total"], rate, Decimal(1), base)
        amounts[customer_id] = amounts.get(customer_id, Decimal(0)) + converted
        counts[customer_id] = counts.get(customer_id, 0) + row["count"]
        if customer_id not in last or row["order_date"] > last[customer_id]:
            last[customer_id] = row["order_date"]
    return {cid: Metrics(amount=amounts[cid], count=counts[cid], last_date=last[cid]) for cid in amounts}


def _products_in_orders(product_ids: list[int]) -> set[int]:
    from kehu.sales.contracts.models import OrderLine

    return set(OrderLine.objects.filter(product_id__in=product_ids).values_list("product_id", flat=True).distinct())


def _register_product_usage() -> None:
    from kehu.sales.products.services import register_usage

    register_usage("order_lines", _products_in_orders, label=gettext_lazy("order lines"))


_register_product_usage()  # a product on an order line is archived, never deleted
