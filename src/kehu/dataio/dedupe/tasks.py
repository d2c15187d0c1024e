"""The duplicate scan as a background job ("Scan now", the API, housekeeping)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_tasks import task

from kehu.dataio.dedupe import finder
from kehu.platform.access import require
from kehu.platform.context import Context
from kehu.platform.records import registry


@task()
def scan_task(record_types: list[str]) -> list[dict[str, Any]]:
    """Scan each of ``record_types`` for duplicates; returns the counts of each."""
    return [finder.scan(key) for key in record_types]


def scan_start(*, ctx: Context, record_types: list[str] | None = None) -> list[str]:
    """Queue a scan of ``record_types`` (default: customers and contacts) after the current
    transaction commits; returns the types queued. Raises PermissionDenied (needs "change" on
    each type), KeyError for an unknown type."""
    keys = record_types or ["customer", "contact"]
    for key in keys:
        require(ctx, registry[key], "change")
    transaction.on_commit(lambda: scan_task.enqueue(record_types=keys))
    return keys


@task()
def nightly_scan() -> list[dict[str, Any]]:
    """Housekeeping: rescan customers and contacts (new records, changed names, trashed ones)."""
    return [finder.scan(key) for key in ("customer", "contact")]
