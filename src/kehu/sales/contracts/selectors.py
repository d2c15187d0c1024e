"""Reading contracts, orders, payments and receivables: every query starts from ``visible_to``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from kehu.platform import money
from kehu.platform.access import visible_to
from kehu.platform.errors import NotVisible
from kehu.sales.contracts import receivables
from kehu.sales.contracts.models import ZERO, Contract, Order, Payment


def visible_contracts(user: Any) -> QuerySet[Contract]:
    from kehu.sales.contracts.records import CONTRACT

    return visible_to(user, Contract.objects.all(), CONTRACT)


def visible_orders(user: Any) -> QuerySet[Order]:
    from kehu.sales.contracts.records import ORDER

    return visible_to(user, Order.objects.all(), ORDER)


def visible_payments(user: Any) -> QuerySet[Payment]:
    from kehu.sales.contracts.records import PAYMENT

    return visible_to(user, Payment.objects.all(), PAYMENT)


def customer_get(user: Any, customer_id: Any) -> Any:
    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER

    try:
        return visible_to(user, Customer.objects.all(), CUSTOMER).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def opportunity_get(user: Any, pk: Any) -> Any:
    from kehu.platform.records import registry

    rt = registry.get("opportunity")
    if rt is None:
        raise NotVisible
    try:
        return visible_to(user, rt.model.objects.all(), rt).select_related("customer").get(pk=pk)
    except (rt.model.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def products_for(user: Any) -> list[Any]:
    """Active products for the order lines' product choice."""
    from kehu.platform.records import registry

    rt = registry.get("product")
    if rt is None:
        return []
    queryset = visible_to(user, rt.model.objects.all(), rt)
    if hasattr(rt.model, "active"):
        queryset = queryset.filter(active=True)
    return list(queryset.order_by("code")[:1000])


def owner_choices(user: Any) -> list[Any]:
    from kehu.accounts.models import User

    return list(User.objects.filter(is_active=True).order_by("username"))


def team_choices(user: Any) -> list[Any]:
    from kehu.accounts.models import Team

    return list(Team.objects.order_by("name"))


@dataclass
class ReceivableRow:
    customer: Any
    figures: receivables.Receivable


@dataclass
class ReceivablesReport:
    currency: str
    rows: list[ReceivableRow] = field(default_factory=list)
    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(receivables.BUCKETS, ZERO))
    missing_rates: list[str] = field(default_factory=list)


def receivables_report(
    user: Any,
    *,
    owner: int | None = None,
    team: int | None = None,
    overdue_only: bool = False,
    today: datetime.date | None = None,
) -> ReceivablesReport:
    """One row per customer (that ``user`` may see) owing money on the contracts and orders
    ``user`` may see, biggest overdue first, with totals per bucket; ``owner`` and ``team``
    filter by the customer's owner and team. A fixed number of queries."""
    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER

    customers = visible_to(user, Customer.objects.all(), CUSTOMER)
    if owner is not None:
        customers = customers.filter(owner_id=owner)
    if team is not None:
        customers = customers.filter(team_id=team)
    ids = customers.values("id")
    figures = receivables.receivables_for(
        None,
        contracts=visible_contracts(user).filter(customer_id__in=ids),
        orders=visible_orders(user).filter(customer_id__in=ids),
        today=today,
    )
    owing = {cid: f for cid, f in figures.items() if f.outstanding or f.missing_rates}
    if overdue_only:
        owing = {cid: f for cid, f in owing.items() if f.overdue}
    # What the page and the API show of each customer: not its personal fields, which
    # would be decrypted for thousands of rows; the few owners once each.
    shown = ("id", "number", "name", "owner", "credit_limit", "credit_rating", "deleted_at")
    names = Customer.objects.filter(pk__in=list(owing)).only(*shown).in_bulk() if owing else {}
    owners = get_user_model()._default_manager.in_bulk({c.owner_id for c in names.values() if c.owner_id})
    for customer in names.values():
        if customer.owner_id in owners:
            customer.owner = owners[customer.owner_id]
    report = ReceivablesReport(currency=money.reporting_currency())
    for cid, found in owing.items():
        report.rows.append(ReceivableRow(names[cid], found))
        report.outstanding += found.outstanding
        report.overdue += found.overdue
        report.missing_rates.extend(found.missing_rates)
        for bucket, value in found.buckets.items():
            report.buckets[bucket] += value
    report.rows.sort(key=lambda row: (-row.figures.overdue, -row.figures.outstanding, row.customer.name))
    return report


@dataclass
class CustomerSummary:
    figures: receivables.Receivable
    payments: list[Payment]
    limit: Decimal | None
    rating: str
    available: Decimal | None  # credit left (limit − outstanding), None without a limit
    today: datetime.date


def customer_summary(user: Any, customer: Any, *, today: datetime.date | None = None) -> CustomerSummary:
    """The customer's whole exposure (credit is about the customer, whoever asks) and the
    payments ``user`` may see."""
    today = today or timezone.localdate()
    figures = receivables.receivables_for([customer.pk], today=today)[customer.pk]
    limit = customer.credit_limit
    return CustomerSummary(
        figures=figures,
        payments=receivables.payment_history(user, customer, limit=10),
        limit=limit,
        rating=customer.get_credit_rating_display() if customer.credit_rating else "",
        available=None if limit is None else limit - figures.outstanding,
        today=today,
    )
