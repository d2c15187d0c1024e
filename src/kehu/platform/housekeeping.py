"""Catch-up sweeps for work that falls due with time rather than with a write: reminders
whose time has come, contracts past their end date. A module registers a background task
that takes no arguments and is safe to run any number of times; ``kehu worker`` queues every
sweep when it starts, ``kehu housekeeping`` runs them at once (from cron, say), and the
scheduler of the production set-up will queue them on a timetable."""

from __future__ import annotations

from typing import Any

_sweeps: dict[str, Any] = {}


def register(name: str, sweep: Any) -> Any:
    """Register ``sweep`` (a django-tasks task without arguments) under ``name``."""
    _sweeps[name] = sweep
    return sweep


def sweeps() -> dict[str, Any]:
    return dict(_sweeps)


def enqueue_all() -> None:
    """Queue every sweep for the workers."""
    for sweep in _sweeps.values():
        sweep.enqueue()


def run_all() -> dict[str, Any]:
    """Run every sweep now, in this process; answers what each returned."""
    return {name: sweep.call() for name, sweep in _sweeps.items()}
