"""Money in templates, in the reader's language: ``{{ x|amount:"CNY" }}`` with the currency's
symbol, ``{{ x|grouped:"CNY" }}`` as a bare figure with digit grouping (for tables whose
heading names the currency)."""

from __future__ import annotations

from decimal import Decimal

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
def grouped(value: Decimal | None, code: str = "") -> str:
    """``value`` rounded to the currency's places with digit grouping, no symbol."""
    if value is None:
        return "—"
    return money.fmt_number(Decimal(value), code or money.reporting_currency())
