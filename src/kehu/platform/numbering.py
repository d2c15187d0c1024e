"""Human record numbers (``C-000123``), gap-free per prefix within committed transactions."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from kehu.platform.models import NumberSequence


def format_number(prefix: str, value: int) -> str:
    return f"{prefix}-{value:06d}"


def next_numbers(prefix: str, count: int = 1) -> list[str]:
    """Reserve ``count`` consecutive numbers for ``prefix`` (one query for any count)."""
    with transaction.atomic():
        updated = NumberSequence.objects.filter(prefix=prefix).update(last_value=F("last_value") + count)
        if not updated:
            try:
                with transaction.atomic():
                    NumberSequence.objects.create(prefix=prefix, last_value=count)
            except IntegrityError:  # another process created it first
                NumberSequence.objects.filter(prefix=prefix).update(last_value=F("last_value") + count)
        last = NumberSequence.objects.filter(prefix=prefix).values_list("last_value", flat=True).get()
    return [format_number(prefix, value) for value in range(last - count + 1, last + 1)]


def next_number(prefix: str) -> str:
    return next_numbers(prefix, 1)[0]
