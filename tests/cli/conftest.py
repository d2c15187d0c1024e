from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command


@pytest.fixture
def run_command() -> Any:
    """Run a management command; returns what it wrote to stdout."""

    def run(*args: str, **options: Any) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out, stderr=io.StringIO(), **options)
        return out.getvalue()

    return run


@pytest.fixture
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
