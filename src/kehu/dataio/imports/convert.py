"""Turning a spreadsheet cell into a field's value: dates in the forms people type them,
amounts with thousands separators and currency signs, yes/no in English and Chinese, choices by
value or label. Each converter raises ValidationError with a message for the row's report."""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform.exports import FORMULA_PREFIXES

EXCEL_EPOCH = datetime.date(1899, 12, 30)
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "对", "真", "有", "x", "✓", "√", "on"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "不", "不是", "假", "无", "off", "-"})
CURRENCY_SIGNS = "¥￥$€£₩元"
_ISO_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_SHORT_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(\d{1,2})[:时点](\d{2})(?:[:分](\d{2}))?(?:\.\d+)?秒?$")
_TAG_SEPARATORS = re.compile(r"[,;，；、|\n]")
_NUMBER_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def text(value: Any) -> str:
    """A cell as text: whole numbers without ``.0``, dates in ISO form, the apostrophe an
    export puts before a cell that looks like a formula removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, datetime.date):
        return value.isoformat()
    result = str(value).strip()
    if len(result) > 1 and result[0] == "'" and result[1] in FORMULA_PREFIXES:
        return result[1:]
    return result


def _date_from_parts(year: int, month: int, day: int) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise ValidationError(_("Enter a valid date."), code="invalid_date") from None


def _excel_serial(number: float) -> datetime.datetime:
    if not 1 <= number < 2958466:  # 1900-01-01 … 9999-12-31
        raise ValidationError(_("Enter a valid date."), code="invalid_date")
    return datetime.datetime.combine(EXCEL_EPOCH, datetime.time()) + datetime.timedelta(days=number)


def to_date(value: Any, *, day_first: bool = False) -> datetime.date | None:
    """2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, 20260301, 03/01/2026 (month first unless
    ``day_first``), a date of a spreadsheet or an Excel serial number."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial(float(value)).date()
    raw = text(value)
    if not raw:
        return None
    head = raw.split()[0] if " " in raw else raw.split("T")[0] if "T" in raw else raw
    if match := _ISO_DATE.match(head):
        return _date_from_parts(int(match[1]), int(match[2]), int(match[3]))
    if match := _SHORT_DATE.match(head):
        first, second = int(match[1]), int(match[2])
        day, month = (first, second) if day_first or first > 12 else (second, first)
        return _date_from_parts(int(match[3]), month, day)
    if match := _COMPACT_DATE.match(head):
        return _date_from_parts(int(match[1]), int(match[2]), int(match[3]))
    if re.fullmatch(r"\d{5}(\.\d+)?", raw):
        return _excel_serial(float(raw)).date()
    raise ValidationError(_("Enter a valid date, for example 2026-03-01."), code="invalid_date")


def to_datetime(value: Any, *, day_first: bool = False) -> datetime.datetime | None:
    """A date and a time (``2026-03-01 14:30``) in the current time zone; a date alone is
    midnight."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _excel_serial(float(value))
    else:
        raw = text(value).replace("T", " ")
        if not raw:
            return None
        parts = raw.split(None, 1)
        day = to_date(parts[0], day_first=day_first)
        assert day is not None
        clock = datetime.time()
        if len(parts) > 1:
            zone_free = re.sub(r"(Z|[+-]\d{2}:?\d{2})$", "", parts[1].strip())
            match = _TIME.match(zone_free)
            if not match:
                raise ValidationError(_("Enter a valid date and time, for example 2026-03-01 14:30."), code="invalid")
            try:
                clock = datetime.time(int(match[1]), int(match[2]), int(match[3] or 0))
            except ValueError:
                raise ValidationError(_("Enter a valid time."), code="invalid") from None
        moment = datetime.datetime.combine(day, clock)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def to_decimal(value: Any) -> decimal.Decimal | None:
    """1234.5, 1,234.50, ¥ 1,234.50, 1 234,50 is refused (ambiguous), 12% → 12."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(_("Enter a number."), code="invalid")
    if isinstance(value, int):
        return decimal.Decimal(value)
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    raw = text(value)
    for sign in CURRENCY_SIGNS:
        raw = raw.replace(sign, "")
    raw = re.sub(r"^(?:CNY|RMB|USD|EUR|HKD|JPY)\s*|\s*(?:CNY|RMB|USD|EUR|HKD|JPY)$", "", raw.strip(), flags=re.I)
    raw = raw.strip().removesuffix("%").strip()
    negative = raw.startswith("(") and raw.endswith(")")
    if negative:
        raw = raw[1:-1]
    if "," in raw:
        if not _NUMBER_GROUPS.match(raw):
            raise ValidationError(_("Enter a number, for example 1234.50."), code="invalid")
        raw = raw.replace(",", "")
    raw = raw.replace(" ", "")
    if not raw:
        return None
    try:
        number = decimal.Decimal(raw)
    except decimal.InvalidOperation:
        raise ValidationError(_("Enter a number, for example 1234.50."), code="invalid") from None
    if not number.is_finite():
        raise ValidationError(_("Enter a number, for example 1234.50."), code="invalid")
    return -number if negative else number


def to_integer(value: Any) -> int | None:
    number = to_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ValidationError(_("Enter a whole number."), code="invalid")
    return int(number)


def to_bool(value: Any) -> bool | None:
    """是/否, yes/no, true/false, 1/0, Y/N (an empty cell: not given)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    word = text(value).casefold()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("Enter yes or no (是/否, true/false, 1/0)."), code="invalid")


def split_list(value: Any) -> list[str]:
    """Tag names and the like: separated by , ; ， ； 、 | or a new line."""
    raw = text(value)
    return [part.strip() for part in _TAG_SEPARATORS.split(raw) if part.strip()]
