"""Exact opportunity arithmetic (no floats): line amounts, tax and weighted amounts.

- A line's ``amount`` = quantity × unit price × (1 − discount % / 100), computed at full
  precision and rounded half up once to the opportunity currency's places
  (``money.quantize``); its ``tax_amount`` = amount × tax rate / 100, rounded the same way.
- An opportunity with lines has ``amount`` = the sum of its (rounded) line amounts.
- A weighted amount = amount × probability / 100, rounded to the currency's places."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, localcontext

from kehu.platform import money

HUNDRED = Decimal(100)


def line_amount(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, currency: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = money.PRECISION
        exact = Decimal(quantity) * Decimal(unit_price) * (HUNDRED - Decimal(discount_percent)) / HUNDRED
    return money.quantize(exact, currency)


def line_tax(amount: Decimal, tax_rate: Decimal, currency: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = money.PRECISION
        exact = Decimal(amount) * Decimal(tax_rate) / HUNDRED
    return money.quantize(exact, currency)


def lines_total(amounts: Iterable[Decimal], currency: str) -> Decimal:
    return money.total(amounts, currency)


def weighted(amount: Decimal, probability: Decimal, currency: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = money.PRECISION
        exact = Decimal(amount) * Decimal(probability) / HUNDRED
    return money.quantize(exact, currency)
