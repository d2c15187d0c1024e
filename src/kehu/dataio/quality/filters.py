"""The ``quality`` list filter every record type gets (web list, API list and export share
filtersets): ``?quality=invalid_phone``, ``?quality=missing_industry``, ``?quality=inactive``."""

from __future__ import annotations

import functools
from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _

from kehu.dataio.quality import services
from kehu.platform.records import RecordType, registry

FILTER_NAME = "quality"


class QualityFilter(django_filters.ChoiceFilter):
    """A choice of the type's checks (read from its policy when the form is made); the
    records it keeps are exactly those the report counts."""

    def __init__(self, *args: Any, record_type: str = "", **kwargs: Any) -> None:
        self.record_type = record_type
        kwargs.setdefault("label", _("Data quality"))
        kwargs["choices"] = functools.partial(_choices, record_type)
        super().__init__(*args, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in ("", None):
            return qs
        return services.filter_records(registry[self.record_type], qs, value)


def _choices(record_type: str) -> list[tuple[str, str]]:
    return services.filter_choices(registry[record_type])


def install() -> None:
    """Give every registered record type the filter (once)."""
    for rt in registry:
        add_to(rt)


def add_to(rt: RecordType) -> None:
    rt.extra_filters.setdefault(FILTER_NAME, QualityFilter(record_type=rt.key))
