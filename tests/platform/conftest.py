"""Fixtures for the spine's service-level tests, on top of tests/conftest.py (users, the
East/South teams under "Head office", record factories): a third tree level below East sales,
more users in it, and a recorder of published events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kehu.accounts.services import team_get_or_create
from kehu.platform import events


@pytest.fixture
def head(east: Any) -> Any:
    return east.parent


@pytest.fixture
def shanghai(east: Any) -> Any:
    """The third level of the tree: Head office → East sales → Shanghai."""
    return team_get_or_create(name="Shanghai", parent=east)


@pytest.fixture
def teammate(make_user: Any, east: Any) -> Any:
    return make_user("teammate", "sales", "East sales")


@pytest.fixture
def sub_rep(make_user: Any, shanghai: Any) -> Any:
    return make_user("sub_rep", "sales", "Shanghai")


@pytest.fixture
def manager(make_user: Any, east: Any) -> Any:
    return make_user("manager", "manager", "East sales")


@pytest.fixture
def published() -> Iterator[list[events.Event]]:
    """Every event delivered to subscribers while the test runs, in order."""
    received: list[events.Event] = []
    events.subscribe("*")(received.append)
    yield received
    events.unsubscribe("*", received.append)
