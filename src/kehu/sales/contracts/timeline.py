"""What contracts, orders and payments put on their customer's timeline (titles are data)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.platform import timeline


def _at(day: datetime.date | None, fallback: datetime.datetime) -> datetime.datetime:
    """A date as noon of that day (local time), so it sorts among the day's entries."""
    if day is None:
        return fallback
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


def _contract_data(contract: Any) -> dict[str, Any]:
    return {"status": contract.status, "amount": str(contract.amount), "currency": contract.currency}


def _money_data(obj: Any, amount: Any) -> dict[str, Any]:
    return {"amount": str(amount), "currency": obj.currency}


timeline.register(
    timeline.Source(
        record_type="contract",
        kind="contract",
        label=_("Contracts"),
        icon="ti-file-certificate",
        subjects=lambda contract: [("customer", contract.customer_id)],
        # signed: on its signing day; not yet signed: when it was drafted
        occurred_at=lambda contract: _at(contract.signed_date, contract.created_at),
        title=lambda contract: contract.title,
        summary=lambda contract: f"{contract.number} · {contract.amount} {contract.currency}",
        data=_contract_data,
    )
)

timeline.register(
    timeline.Source(
        record_type="order",
        kind="order",
        label=_("Orders"),
        icon="ti-shopping-cart",
        subjects=lambda order: [("customer", order.customer_id)],
        occurred_at=lambda order: _at(order.order_date, order.created_at),
        title=lambda order: order.number,
        summary=lambda order: f"{order.total} {order.currency}",
        data=lambda order: {**_money_data(order, order.total), "status": order.status},
    )
)

timeline.register(
    timeline.Source(
        record_type="payment",
        kind="payment",
        label=_("Payments received"),
        icon="ti-cash",
        subjects=lambda payment: [("customer", payment.customer_id)],
        occurred_at=lambda payment: _at(payment.received_on, payment.created_at),
        title=lambda payment: f"{payment.amount} {payment.currency}",
        summary=lambda payment: " · ".join(
            part for part in (payment.number, payment.reference, payment.invoice_number) if part
        ),
        data=lambda payment: {**_money_data(payment, payment.amount), "method": payment.method},
    )
)
