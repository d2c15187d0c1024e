"""Credit: a customer's limit (``Customer.credit_limit``, in the reporting currency, set by
managers through ``services.credit_set``) against its exposure (what it owes now, see
``receivables``). Going over the limit is a warning, never a refusal."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import money
from kehu.sales.contracts import receivables
from kehu.sales.contracts.models import CONTRACT_BILLED, ORDER_BOOKED, Contract, Order


def check(customer: Any, extra_amount: Decimal, currency: str, *, day: datetime.date | None = None) -> str | None:
    """A warning when the customer's exposure plus ``extra_amount`` (in ``currency``,
    converted at ``day``'s rate, default today) would be over its credit limit; ``None``
    when it has no limit or stays within it."""
    limit = customer.credit_limit
    if limit is None:
        return None
    day = day or timezone.localdate()
    base = money.reporting_currency()
    try:
        extra = money.convert(extra_amount, currency, day) if extra_amount else Decimal(0)
    except money.MissingRate as missing:
        return _("The credit limit could not be checked: %(error)s") % {"error": missing.messages[0]}
    owed = receivables.exposure(customer.pk)
    after = owed + extra
    if after <= limit:
        return None
    if not extra:
        return _("Over the credit limit: %(customer)s owes %(owed)s, %(over)s more than its limit of %(limit)s.") % {
            "customer": customer.name,
            "owed": money.fmt(owed, base),
            "over": money.fmt(after - limit, base),
            "limit": money.fmt(limit, base),
        }
    return _(
        "Over the credit limit: %(customer)s owes %(owed)s; with this %(extra)s it would owe %(after)s, "
        "%(over)s more than its limit of %(limit)s."
    ) % {
        "customer": customer.name,
        "owed": money.fmt(owed, base),
        "extra": money.fmt(extra, base),
        "after": money.fmt(after, base),
        "over": money.fmt(after - limit, base),
        "limit": money.fmt(limit, base),
    }


def check_record(obj: Contract | Order) -> str | None:
    """The warning for a contract or an order: a draft one is checked with its amount added
    (what its confirmation would do); one already owed is in the exposure already."""
    if isinstance(obj, Contract):
        counted = obj.status in CONTRACT_BILLED
        amount, day = obj.amount, obj.signed_date or obj.start_date
    else:
        counted = obj.status in ORDER_BOOKED or obj.contract_id is not None  # a contract's order: billed by it
        amount, day = obj.total, obj.order_date
    return check(obj.customer, Decimal(0) if counted else amount, obj.currency, day=day)


def warnings_for(obj: Contract | Order) -> list[str]:
    warning = check_record(obj)
    return [warning] if warning else []
