"""Background work: the scan asked for with "Scan now" (or ``kehu quality scan``) and the
housekeeping sweep that rescans each type at most once a day."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from kehu.dataio.quality import services
from kehu.platform import housekeeping


@task()
def quality_scan(record_types: list[str] | None = None) -> dict[str, Any]:
    results = services.scan_types(record_types or None)
    return {r.record_type: {"records": r.records, "findings": r.findings} for r in results}


@task()
def quality_sweep() -> dict[str, Any]:
    """Scan the types whose last scan is a day old or more (cron-safe: at most daily)."""
    due = services.due_for_scan()
    if not due:
        return {}
    results = services.scan_types(due)
    return {r.record_type: {"records": r.records, "findings": r.findings} for r in results}


housekeeping.register("data_quality", quality_sweep)
