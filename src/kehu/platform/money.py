"""Exact money: amounts are ``Decimal`` values stored next to an ISO 4217 currency code.

There is no Money class; model fields hold ``amount`` + ``currency``. This module knows the
currencies' decimal places, rounds (``quantize``), finds exchange rates and converts.

Rounding rules (docs/admin-guide.md, "Currencies and exchange rates"):

- An amount in a currency is rounded **half up** (``ROUND_HALF_UP``: 0.005 → 0.01, −0.005 →
  −0.01) to the currency's decimal places: 2 for CNY, USD, EUR, HKD, GBP; 0 for JPY (from
  Babel's CLDR data; an admin can change it per currency).
- A conversion multiplies by the source currency's rate and divides by the target's with 34
  significant digits and rounds **once**, at the end, to the target's places — so it is off
  from the exact result by at most half a unit of the target's last place.
- A document total is the sum of its quantized line amounts (each line rounded first, then
  added), never the rounded sum of unrounded lines; ``allocate`` splits a total into parts
  that add up to it exactly (largest remainder).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext as _

PRECISION = 34  # significant digits for intermediate results (IEEE 754 decimal128)
ONE = Decimal(1)


class MissingRate(ValidationError):
    """No exchange rate for a currency on or before a day."""

    def __init__(self, code: str, day: dt.date) -> None:
        self.currency = code
        self.day = day
        super().__init__(
            _("No exchange rate for %(currency)s on or before %(date)s.") % {"currency": code, "date": day.isoformat()},
            code="missing_rate",
        )


def reporting_currency() -> str:
    """The currency reports and conversions are expressed in (``KEHU_DEFAULT_CURRENCY``)."""
    return str(getattr(settings, "KEHU_DEFAULT_CURRENCY", "CNY") or "CNY").upper()


def babel_places(code: str) -> int:
    """The number of decimal places CLDR gives a currency (JPY 0, most 2)."""
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(code.upper()))


def currency_name(code: str, default: str = "", locale: str | None = None) -> str:
    """The currency's name in ``locale`` (default: the active language), from Babel."""
    from babel.core import UnknownLocaleError
    from babel.numbers import get_currency_name

    loc = (locale or translation.get_language() or "en").replace("-", "_")
    if loc.lower() in ("zh_hans", "zh_cn"):
        loc = "zh_Hans_CN"
    try:
        name = get_currency_name(code.upper(), locale=loc)
    except (UnknownLocaleError, ValueError):
        return default or code
    return name if name and name != code.upper() else (default or code)


CACHE_SECONDS = 60.0  # another process's change of a currency's places shows within this
_places: dict[str, int] = {}
_loaded_at = -CACHE_SECONDS


def clear_cache() -> None:
    """Forget the cached decimal places (called when a currency is saved)."""
    global _loaded_at
    _places.clear()
    _loaded_at = -CACHE_SECONDS


def places(code: str) -> int:
    """Decimal places of a currency: the ``Currency`` row's, else Babel's. The table is small:
    read whole, once a minute at most."""
    global _loaded_at
    from kehu.platform.models import Currency

    code = code.upper()
    now = time.monotonic()
    if now - _loaded_at >= CACHE_SECONDS:
        try:
            rows = dict(Currency.objects.values_list("code", "decimal_places"))
        except DatabaseError:  # no table yet (a migration in progress): CLDR's places
            return babel_places(code)
        _places.clear()
        _places.update(rows)
        _loaded_at = now
    if code not in _places:
        _places[code] = babel_places(code)
    return _places[code]


def quantum(code: str) -> Decimal:
    return ONE.scaleb(-places(code))


def quantize(amount: Decimal | int | str, code: str) -> Decimal:
    """``amount`` rounded half up to the currency's decimal places."""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return value.quantize(quantum(code), rounding=ROUND_HALF_UP)


def rate_on(code: str, day: dt.date) -> Decimal:
    """Units of the reporting currency one unit of ``code`` is worth on ``day``: the latest
    rate on or before it; 1 for the reporting currency. Raises ``MissingRate``."""
    from kehu.platform.models import ExchangeRate

    code = code.upper()
    if code == reporting_currency():
        return ONE
    rate = (
        ExchangeRate.objects.filter(currency_id=code, rate_date__lte=day)
        .order_by("-rate_date")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise MissingRate(code, day)
    return rate


def convert_with(amount: Decimal, rate_from: Decimal, rate_to: Decimal, to: str) -> Decimal:
    """``amount × rate_from / rate_to`` at full precision, quantized once to ``to``'s places."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        exact = Decimal(amount) * rate_from / rate_to
        return exact.quantize(quantum(to), rounding=ROUND_HALF_UP)


def convert(amount: Decimal, code: str, day: dt.date, to: str | None = None) -> Decimal:
    """``amount`` in ``code`` expressed in ``to`` (default: the reporting currency) on ``day``,
    via the reporting currency, rounded half up to the target's places."""
    target = (to or reporting_currency()).upper()
    code = code.upper()
    if code == target:
        return quantize(amount, target)
    return convert_with(amount, rate_on(code, day), rate_on(target, day), target)


def rates_for(codes: Iterable[str], days: Iterable[dt.date]) -> dict[tuple[str, dt.date], Decimal]:
    """Rates of several currencies on several days in one query, for reports.

    Answers ``{(code, day): rate}`` for every pair that has a rate on or before the day (the
    reporting currency is always 1); pairs without one are missing from the result, so callers
    decide between skipping and raising ``MissingRate``."""
    from kehu.platform.models import ExchangeRate

    wanted = sorted({c.upper() for c in codes})
    wanted_days = sorted(set(days))
    result: dict[tuple[str, dt.date], Decimal] = {}
    if not wanted or not wanted_days:
        return result
    base = reporting_currency()
    others = [c for c in wanted if c != base]
    if base in wanted:
        for day in wanted_days:
            result[(base, day)] = ONE
    if not others:
        return result
    rows = (
        ExchangeRate.objects.filter(currency_id__in=others, rate_date__lte=wanted_days[-1])
        .order_by("currency_id", "rate_date")
        .values_list("currency_id", "rate_date", "rate")
    )
    series: dict[str, list[tuple[dt.date, Decimal]]] = {}
    for cur, day, rate in rows:
        series.setdefault(cur, []).append((day, rate))
    import bisect

    for cur, points in series.items():
        dates = [p[0] for p in points]
        for day in wanted_days:
            i = bisect.bisect_right(dates, day)
            if i:
                result[(cur, day)] = points[i - 1][1]
    return result


def total(amounts: Iterable[Decimal], code: str) -> Decimal:
    """The documented total rule: each amount quantized, then added (the sum is exact)."""
    result = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for amount in amounts:
            result += quantize(amount, code)
    return quantize(result, code)


def allocate(amount: Decimal, weights: Sequence[Decimal | int], code: str) -> list[Decimal]:
    """Split ``amount`` (quantized to ``code``) into ``len(weights)`` parts proportional to
    ``weights`` that add up to it exactly: each part is rounded toward zero to the currency's
    last place and the units left over go one each to the parts with the largest remainders
    (ties: the earlier part). Used for instalment plans."""
    if not weights:
        raise ValueError("allocate() needs at least one weight")
    ws = [Decimal(w) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    whole = sum(ws, Decimal(0))
    if whole == 0:
        raise ValueError("weights must not all be zero")
    target = quantize(amount, code)
    q = quantum(code)
    sign = -1 if target < 0 else 1
    magnitude = abs(target)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        exact = [magnitude * w / whole for w in ws]
        parts = [e.quantize(q, rounding=ROUND_DOWN) for e in exact]
        left = int((magnitude - sum(parts, Decimal(0))) / q)
        order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - parts[i]), i))
        for i in order[:left]:
            parts[i] += q
    return [p * sign if sign < 0 else p for p in parts]


def _babel_locale(locale: str | None) -> Any:
    """Babel's locale for a Django language code, parsed once per language instead of for every
    amount a page shows (a receivables page shows hundreds)."""
    loc = (locale or translation.get_language() or "en").replace("-", "_")
    return _parsed_locale("zh_Hans_CN" if loc.lower() in ("zh_hans", "zh_cn") else loc)


@functools.lru_cache(maxsize=64)
def _parsed_locale(name: str) -> Any:
    from babel.core import Locale

    return Locale.parse(name)


def fmt(amount: Decimal | None, code: str, locale: str | None = None) -> str:
    """``amount`` formatted for display with the currency's symbol and places (Babel)."""
    if amount is None:
        return ""
    from babel.core import UnknownLocaleError
    from babel.numbers import format_currency

    try:
        return format_currency(quantize(amount, code), code, locale=_babel_locale(locale))
    except (UnknownLocaleError, ValueError):  # an unknown locale: plain text
        return f"{quantize(amount, code)} {code}"


def fmt_number(amount: Decimal | None, code: str, locale: str | None = None) -> str:
    """``amount`` rounded to the currency's places with the reader's digit grouping and no
    symbol (``12,500.00``), for tables whose heading names the currency."""
    if amount is None:
        return ""
    from babel.core import UnknownLocaleError
    from babel.numbers import format_decimal

    value = quantize(amount, code)
    digits = places(code)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    try:
        return format_decimal(value, format=pattern, locale=_babel_locale(locale), decimal_quantization=False)
    except (UnknownLocaleError, ValueError):
        return str(value)
