"""Customer grades computed by a rule over purchase amount, frequency and recency.

The metrics come from providers other modules register (orders, once the sales module
exists): ``register_metrics(fn)`` where ``fn(customer_ids) -> {customer_id: Metrics}``.
``grade_for`` picks the first grade (by order) whose every threshold set is met;
``regrade`` applies it to customers in a few statements, leaving grades set by hand alone
unless ``force``."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from kehu.customers.models import Customer, Grade, GradeSource
from kehu.platform import audit as audit_log
from kehu.platform.access import require
from kehu.platform.context import Context
from kehu.platform.events import Event, publish_many
from kehu.platform.models import AuditAction, AuditEntry

BATCH = 500


@dataclass(frozen=True)
class Metrics:
    """What a customer bought over the period the provider looks at (the last year)."""

    amount: Decimal = Decimal(0)
    count: int = 0
    last_date: datetime.date | None = None


MetricsProvider = Callable[[Sequence[int]], Mapping[int, Metrics]]
_providers: list[MetricsProvider] = []


def register_metrics(provider: MetricsProvider) -> MetricsProvider:
    """Add a source of purchase metrics (usable as a decorator); metrics of several providers
    for the same customer are added up (amounts and counts; the latest date)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister_metrics(provider: MetricsProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def metrics_for(customer_ids: Sequence[int]) -> dict[int, Metrics]:
    """The combined metrics of every provider; customers no provider knows are left out."""
    combined: dict[int, Metrics] = {}
    for provider in _providers:
        for customer_id, found in provider(customer_ids).items():
            before = combined.get(customer_id)
            if before is None:
                combined[customer_id] = found
                continue
            dates = [d for d in (before.last_date, found.last_date) if d is not None]
            combined[customer_id] = Metrics(
                amount=before.amount + found.amount,
                count=before.count + found.count,
                last_date=max(dates) if dates else None,
            )
    return combined


def _as_date(value: datetime.date | datetime.datetime | None) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def grade_for(metrics: Metrics, grades: Iterable[Grade], *, today: datetime.date | None = None) -> Grade | None:
    """The first grade (by order) whose every threshold set is met; grades without any
    threshold are never chosen by the rule (they are for grading by hand)."""
    today = today or timezone.localdate()
    last = _as_date(metrics.last_date)
    for grade in sorted(grades, key=lambda g: (g.order, g.pk or 0)):
        if not grade.has_rule:
            continue
        if grade.min_amount is not None and Decimal(metrics.amount) < grade.min_amount:
            continue
        if grade.min_orders is not None and metrics.count < grade.min_orders:
            continue
        if grade.max_days_since_last is not None and (last is None or (today - last).days > grade.max_days_since_last):
            continue
        return grade
    return None


def regrade(ctx: Context, customer_ids: Iterable[int], *, force: bool = False) -> int:
    """Grade customers by the rule from the registered metrics; returns how many changed.
    Customers graded by hand keep their grade unless ``force``; customers no provider knows
    (or with no provider at all) are left as they are. Audited (one entry per customer) and
    announced (``record.updated`` with ``changed`` ["grade"]) in batches. Raises
    PermissionDenied."""
    from kehu.customers.records import CUSTOMER

    require(ctx, CUSTOMER, "change")
    ids = list(dict.fromkeys(customer_ids))
    if not _providers or not ids:
        return 0
    grades = list(Grade.objects.all())
    changed = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        metrics = metrics_for(chunk)
        customers = Customer.objects.filter(pk__in=list(metrics)).select_related("grade")
        if not force:
            customers = customers.exclude(grade_source=GradeSource.MANUAL, grade__isnull=False)
        changed += _apply(ctx, list(customers), metrics, grades)
    return changed


def _apply(ctx: Context, customers: list[Customer], metrics: Mapping[int, Metrics], grades: list[Grade]) -> int:
    now = timezone.now()
    touched: list[Customer] = []
    entries: list[AuditEntry] = []
    with transaction.atomic():
        for customer in customers:
            grade = grade_for(metrics[customer.pk], grades)
            if grade is None or (customer.grade_id == grade.key and customer.grade_source == GradeSource.RULE):
                continue
            before: dict[str, Any] = {
                "grade": audit_log.json_value(customer, "grade"),
                "grade_source": customer.grade_source,
            }
            customer.grade, customer.grade_source = grade, GradeSource.RULE
            after = {"grade": audit_log.json_value(customer, "grade"), "grade_source": customer.grade_source}
            changes = audit_log.diff(before, after)
            customer.version += 1
            customer.updated_at, customer.updated_by = now, ctx.user
            touched.append(customer)
            entries.append(audit_log.entry_for(ctx, AuditAction.UPDATE, customer, changes=changes))
        if not touched:
            return 0
        Customer.all_objects.bulk_update(
            touched, ["grade", "grade_source", "version", "updated_at", "updated_by"], batch_size=BATCH
        )
        AuditEntry.objects.bulk_create(entries, batch_size=BATCH)
        publish_many(
            [
                Event(
                    type="record.updated",
                    record_type="customer",
                    record_id=customer.pk,
                    data={"number": customer.number, "changed": sorted(entry.changes)},
                    actor_id=ctx.user.pk,
                    source=ctx.source,
                )
                for customer, entry in zip(touched, entries, strict=True)
            ]
        )
    return len(touched)
