"""Catch-up sweeps for work that falls due with time rather than with a write: reminders
whose time has come, contracts past their end date. A module registers a background task
that takes no arguments and is safe to run any number of times, with how often it should run;
``kehu worker`` queues every sweep when it starts, ``kehu housekeeping`` runs them at once (from
cron, say), and ``kehu scheduler`` queues each on its timetable (``platform/scheduler.py``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Schedule:
    """When a sweep runs: every ``every``, or on the crontab line ``cron`` (in KEHU_TIME_ZONE)."""

    every: dt.timedelta | None = None
    cron: str = ""

    def describe(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.every}"


_sweeps: dict[str, Any] = {}
_schedules: dict[str, Schedule] = {}
DEFAULT_EVERY = dt.timedelta(hours=1)


def register(name: str, sweep: Any, *, every: dt.timedelta | None = None, cron: str = "") -> Any:
    """Register ``sweep`` (a django-tasks task without arguments) under ``name``, to run every
    ``every`` (default: hourly) or on the crontab line ``cron`` (``"0 3 * * *"``)."""
    if every is not None and cron:
        raise ValueError("give every or cron, not both")
    _sweeps[name] = sweep
    _schedules[name] = Schedule(every=None if cron else (every or DEFAULT_EVERY), cron=cron)
    return sweep


def sweeps() -> dict[str, Any]:
    return dict(_sweeps)


def schedules() -> dict[str, Schedule]:
    return dict(_schedules)


def enqueue_all() -> None:
    """Queue every sweep for the workers."""
    for sweep in _sweeps.values():
        sweep.enqueue()


def run_all() -> dict[str, Any]:
    """Run every sweep now, in this process; answers what each returned."""
    return {name: sweep.call() for name, sweep in _sweeps.items()}
