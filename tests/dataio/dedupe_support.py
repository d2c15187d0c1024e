"""Fixtures for the duplicate finder and merge tests (imported by their modules)."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.platform.context import Context, Source


def ctx_of(user: Any, source: str = Source.WEB) -> Context:
    return Context(user=user, source=source)


@pytest.fixture
def manager(make_user: Any, east: Any, south: Any) -> Any:
    """A manager of the head office: sees and merges both teams' records."""
    return make_user("chief", "manager", "Head office")
