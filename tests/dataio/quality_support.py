"""Helpers for the data quality tests: stored values written past validation (the way legacy
data or an old import left them), records aged by hand, and interactions."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from kehu.activities.models import Interaction
from kehu.platform.context import Context, Source
from kehu.platform.fields import EncryptedField, sync_blind_indexes
from kehu.platform.records import registry
from kehu.platform.services import record_create


def store_raw(obj: Any, **values: str) -> None:
    """Write ``values`` into ``obj``'s encrypted fields bypassing validation: ``update()``
    seals each value with the field's ``get_prep_value`` (the column gets the token of the bad
    value) and the blind index follows."""
    model = type(obj)
    update: dict[str, Any] = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        assert isinstance(field, EncryptedField)
        update[name] = value  # encrypted by the field on the way in, never validated
        setattr(obj, name, value)
    for index_name in sync_blind_indexes(obj, values):
        update[index_name] = getattr(obj, index_name)
    model.all_objects.filter(pk=obj.pk).update(**update)


def store_raw_custom(obj: Any, **values: str) -> None:
    """Write private custom values (phones, emails) bypassing validation."""
    model = type(obj)
    stored = dict(model.all_objects.filter(pk=obj.pk).values_list("custom", flat=True).get() or {})
    stored.update(values)
    model.all_objects.filter(pk=obj.pk).update(custom=stored)  # sealed (encrypted) by the field


def age(obj: Any, days: int) -> None:
    """Pretend ``obj`` was created ``days`` ago."""
    type(obj).all_objects.filter(pk=obj.pk).update(created_at=timezone.now() - datetime.timedelta(days=days))


def log_interaction(user: Any, customer: Any, days_ago: int, **data: Any) -> Interaction:
    data.setdefault("subject", "Call")
    data["occurred_at"] = timezone.now() - datetime.timedelta(days=days_ago)
    return record_create(
        registry["interaction"], ctx=Context(user=user, source=Source.CLI), data={"customer": customer, **data}
    )
