from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from kehu.platform import money

register = template.Library()


@register.filter
def amount(value: Decimal | None, code: str = "") -> str:
    """``value`` with its currency, in the reader's language (``{{ x|amount:"CNY" }}``)."""
    if value is None:
        return "—"
    return money.fmt(Decimal(value), code or money.reporting_currency())


@register.filter
def bucket(buckets: dict[str, Any], name: str) -> Any:
    return buckets.get(name)
