"""Keeping the report honest between scans."""

from __future__ import annotations

from kehu.dataio.quality import services
from kehu.platform import events


@events.subscribe_batch("record.updated")
def _forget_rewritten_values(batch: list[events.Event]) -> None:
    """A value written through the services was validated: its finding is out of date."""
    changed: dict[tuple[str, int], set[str]] = {}
    for event in batch:
        if event.record_id is None:
            continue
        names = set(event.data.get("changed") or ())
        if names:
            changed.setdefault((event.record_type, int(event.record_id)), set()).update(names)
    if changed:
        services.forget_changed(changed)
