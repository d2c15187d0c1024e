"""Which custom fields a record type has, read once per request.

Definitions change rarely and are read on every form, list, detail and API call, so they are
kept for the length of one request (a context variable set when the request starts and dropped
when it ends) or of a ``cached()`` block in batch jobs. Nothing outlives the request, so
several gunicorn workers never disagree for longer than a request that is already running;
a change made inside a request clears that request's copy at once. Outside both, every call
reads the table (one indexed query).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from kehu.platform.models import CustomField

Kind = CustomField.Kind

# Prefix of custom values wherever they share a namespace with model fields: audit diffs,
# validation errors, list columns and form fields (``custom.<name>``).
PREFIX = "custom."

_cache: ContextVar[dict[Any, Any] | None] = ContextVar("kehu_customfields_cache", default=None)


@receiver(request_started)
def _request_started(**kwargs: Any) -> None:
    _cache.set({})


@receiver(request_finished)
def _request_finished(**kwargs: Any) -> None:
    _cache.set(None)


@receiver(post_save, sender=CustomField)
@receiver(post_delete, sender=CustomField)
def _definition_changed(**kwargs: Any) -> None:
    invalidate()


def invalidate() -> None:
    """Forget the definitions read so far in this request or ``cached()`` block."""
    if _cache.get() is not None:
        _cache.set({})


@contextmanager
def cached() -> Iterator[None]:
    """Keep definitions (and looked-up names) for the length of the block: for batch jobs
    (imports, automation, the command line) that run outside a request."""
    token = _cache.set({} if _cache.get() is None else _cache.get())
    try:
        yield
    finally:
        _cache.reset(token)


def memo() -> dict[Any, Any] | None:
    """The request's scratch dictionary (``None`` outside a request or ``cached()`` block)."""
    return _cache.get()


def all_definitions(record_type: str) -> list[CustomField]:
    """Every definition of ``record_type``, active or not, in display order."""
    store = _cache.get()
    key = ("definitions", record_type)
    if store is not None and key in store:
        return list(store[key])
    found = list(CustomField.objects.filter(record_type=record_type).order_by("order", "id"))
    if store is not None:
        store[key] = found
    return list(found)


def definitions(record_type: str) -> list[CustomField]:
    """The active definitions of ``record_type``, in display order (``order``, then age)."""
    return [definition for definition in all_definitions(record_type) if definition.active]


def by_name(record_type: str, *, active_only: bool = False) -> dict[str, CustomField]:
    found = definitions(record_type) if active_only else all_definitions(record_type)
    return {definition.name: definition for definition in found}


def sections(found: list[CustomField]) -> list[tuple[str, list[CustomField]]]:
    """Definitions grouped by section: fields without a section first, then each section in
    the order of its first field."""
    groups: dict[str, list[CustomField]] = {"": []}
    for definition in found:
        groups.setdefault(definition.section.strip(), []).append(definition)
    return [(title, fields) for title, fields in groups.items() if fields]


def column_key(definition: CustomField) -> str:
    return f"{PREFIX}{definition.name}"


def column_keys(rt: Any) -> list[str]:
    """List columns a user may add for ``rt``'s active custom fields (``custom.<name>``)."""
    return [column_key(definition) for definition in definitions(rt.key)]


def definition_for_key(rt: Any, key: str) -> CustomField | None:
    """The definition named by ``custom.<name>`` (active or not), or ``None``."""
    if not key.startswith(PREFIX):
        return None
    return by_name(rt.key).get(key[len(PREFIX) :])
