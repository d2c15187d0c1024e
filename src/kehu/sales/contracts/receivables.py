"""What customers owe: per contract paid / outstanding / overdue, and per customer the
receivables with ageing buckets and credit exposure, in the reporting currency.

Rules (docs/user-guide.md, "Receivables and credit"):

- A contract is owed once it is active (also when completed, expired or terminated); a draft
  or one under approval is not. Its amount is due by its payment plan; a contract without a
  plan is due in full on its start date.
- An order is owed once confirmed (or fulfilled) and due on its order date — unless it
  belongs to a contract, whose plan bills it (it is not counted twice).
- Payments of a contract pay its instalments first-due-first-paid.
- Overdue = the unpaid part of what fell due **before today**. Ageing is by due date: days
  past due 1–30 → "0–30", 31–60, 61–90, more → "90+".
- Amounts are converted to the reporting currency at the rate of the record's date (a
  contract's signed date, else its start date; an order's date) — the rule for every report.
  A record whose currency has no rate on that day is left out of the sums and named in
  ``missing_rates``.

Everything is computed in a fixed number of queries for any number of customers or
contracts (no query per row)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from kehu.platform import money
from kehu.sales.contracts.models import (
    CONTRACT_BILLED,
    ORDER_BOOKED,
    ZERO,
    Contract,
    Order,
    Payment,
    PaymentInstalment,
)

BUCKETS: tuple[str, ...] = ("0-30", "31-60", "61-90", "90+")


def bucket_for(days_past_due: int) -> str | None:
    """The ageing bucket of an amount ``days_past_due`` days after its due date (None when
    it is not overdue yet)."""
    if days_past_due <= 0:
        return None
    if days_past_due <= 30:
        return "0-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


@dataclass
class Due:
    """An amount that falls due (an instalment, a contract without a plan, an order)."""

    due_date: datetime.date
    amount: Decimal
    unpaid: Decimal = ZERO


@dataclass
class Balance:
    """One contract's or order's figures in its own currency."""

    amount: Decimal
    currency: str
    paid: Decimal = ZERO
    dues: list[Due] = field(default_factory=list)
    today: datetime.date = field(default_factory=timezone.localdate)

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid

    @property
    def overdue(self) -> Decimal:
        return sum((due.unpaid for due in self.dues if due.due_date < self.today), ZERO)

    def buckets(self) -> dict[str, Decimal]:
        result = dict.fromkeys(BUCKETS, ZERO)
        for due in self.dues:
            bucket = bucket_for((self.today - due.due_date).days)
            if bucket is not None and due.unpaid:
                result[bucket] += due.unpaid
        return result


def _apply_payments(dues: list[Due], paid: Decimal) -> None:
    """First due, first paid."""
    left = paid
    for due in sorted(dues, key=lambda d: d.due_date):
        covered = min(due.amount, left) if left > 0 else ZERO
        due.unpaid = due.amount - covered
        left -= covered


def contract_balances(
    contracts: Sequence[Any], *, today: datetime.date | None = None, ids: Any = None
) -> dict[int, Balance]:
    """Paid, outstanding, overdue and due amounts of ``contracts`` (objects or dicts with id,
    amount, currency, start_date) in two queries (``ids``: a subquery of their ids, for many)."""
    today = today or timezone.localdate()
    rows = [_as_dict(c, ("id", "amount", "currency", "start_date")) for c in contracts]
    if not rows:
        return {}
    if ids is None:
        ids = [row["id"] for row in rows]
    paid = dict(
        Payment.objects.filter(contract_id__in=ids)
        .values("contract_id")
        .annotate(total=Sum("amount"))
        .values_list("contract_id", "total")
    )
    plans: dict[int, list[Due]] = defaultdict(list)
    for contract_id, due_date, amount in PaymentInstalment.objects.filter(contract_id__in=ids).values_list(
        "contract_id", "due_date", "amount"
    ):
        plans[contract_id].append(Due(due_date, amount))
    result: dict[int, Balance] = {}
    for row in rows:
        dues = plans.get(row["id"]) or [Due(row["start_date"], row["amount"])]
        balance = Balance(row["amount"], row["currency"], paid.get(row["id"]) or ZERO, dues, today)
        _apply_payments(balance.dues, balance.paid)
        result[row["id"]] = balance
    return result


def order_balances(orders: Sequence[Any], *, today: datetime.date | None = None, ids: Any = None) -> dict[int, Balance]:
    """Paid and outstanding of ``orders`` (due on their order date), in one query."""
    today = today or timezone.localdate()
    rows = [_as_dict(o, ("id", "total", "currency", "order_date")) for o in orders]
    if not rows:
        return {}
    if ids is None:
        ids = [row["id"] for row in rows]
    paid = dict(
        Payment.objects.filter(order_id__in=ids)
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values_list("order_id", "total")
    )
    result: dict[int, Balance] = {}
    for row in rows:
        dues = [Due(row["order_date"], row["total"])]
        balance = Balance(row["total"], row["currency"], paid.get(row["id"]) or ZERO, dues, today)
        _apply_payments(balance.dues, balance.paid)
        result[row["id"]] = balance
    return result


def _as_dict(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    return {name: getattr(obj, name) for name in names}


@dataclass
class Receivable:
    """One customer's receivables in the reporting currency."""

    customer_id: int
    currency: str
    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    billed: Decimal = ZERO  # what contracts and orders amount to
    paid: Decimal = ZERO
    missing_rates: list[str] = field(default_factory=list)  # numbers of records left out

    @property
    def current(self) -> Decimal:
        """Outstanding but not yet due."""
        return self.outstanding - self.overdue


def receivables_for(
    customer_ids: Sequence[int] | None,
    *,
    contracts: QuerySet[Contract] | None = None,
    orders: QuerySet[Order] | None = None,
    today: datetime.date | None = None,
) -> dict[int, Receivable]:
    """Receivables of ``customer_ids`` (``None``: every customer of the given contracts and
    orders) from the given contracts and orders (default: all of them — a customer's exposure
    does not depend on who asks), in five queries."""
    today = today or timezone.localdate()
    contracts = Contract.objects.all() if contracts is None else contracts
    orders = Order.objects.all() if orders is None else orders
    contracts = contracts.filter(status__in=CONTRACT_BILLED)
    orders = orders.filter(status__in=ORDER_BOOKED, contract__isnull=True)
    if customer_ids is not None:
        ids = list(dict.fromkeys(customer_ids))
        contracts, orders = contracts.filter(customer_id__in=ids), orders.filter(customer_id__in=ids)
    contract_rows = list(
        contracts.values("id", "number", "customer_id", "amount", "currency", "start_date", "signed_date")
    )
    order_rows = list(orders.values("id", "number", "customer_id", "total", "currency", "order_date"))
    contract_figures = contract_balances(contract_rows, today=today, ids=contracts.values("id"))
    order_figures = order_balances(order_rows, today=today, ids=orders.values("id"))
    items: list[tuple[dict[str, Any], Balance, datetime.date]] = [
        (row, contract_figures[row["id"]], row["signed_date"] or row["start_date"]) for row in contract_rows
    ] + [(row, order_figures[row["id"]], row["order_date"]) for row in order_rows]
    base = money.reporting_currency()
    rates = money.rates_for({b.currency for _r, b, _d in items}, {d for _r, _b, d in items})
    result: dict[int, Receivable] = {}
    if customer_ids is not None:
        result = {customer_id: Receivable(customer_id, base) for customer_id in customer_ids}
    for row, balance, day in items:
        receivable = result.setdefault(row["customer_id"], Receivable(row["customer_id"], base))
        rate = rates.get((balance.currency.upper(), day))
        if rate is None:
            receivable.missing_rates.append(row["number"])
            continue

        def convert(amount: Decimal, rate: Decimal = rate, code: str = balance.currency) -> Decimal:  # type: ignore[assignment]
            return amount if code == base else money.convert_with(amount, rate, Decimal(1), base)

        receivable.billed += convert(balance.amount)
        receivable.paid += convert(balance.paid)
        receivable.outstanding += convert(balance.outstanding)
        for name, value in balance.buckets().items():
            if value:  # overdue is the sum of the converted buckets, so they always add up
                converted = convert(value)
                receivable.buckets[name] += converted
                receivable.overdue += converted
    return result


def exposure(customer_id: int, *, today: datetime.date | None = None) -> Decimal:
    """What the customer owes now (outstanding, reporting currency)."""
    return receivables_for([customer_id], today=today)[customer_id].outstanding


def payment_history(user: Any, customer: Any, *, limit: int = 50) -> list[Payment]:
    """The customer's payments ``user`` may see, newest first."""
    from kehu.platform.access import visible_to
    from kehu.sales.contracts.records import PAYMENT

    payments = visible_to(user, Payment.objects.filter(customer=customer), PAYMENT)
    return list(payments.select_related("contract", "order").order_by("-received_on", "-id")[:limit])
