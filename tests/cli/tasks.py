"""A task for the worker test: importable by path, as the database queue requires."""

from __future__ import annotations

from django_tasks import task

from kehu.accounts.services import team_get_or_create


@task()
def make_team(name: str) -> str:
    return team_get_or_create(name=name).name


FIRED: list[str] = []


@task()
def note_sweep() -> str:
    """A sweep for the scheduler test: it only notes that it ran."""
    FIRED.append("note")
    return "noted"
