"""Web test fixtures; the users and records they use live in tests/conftest.py."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Login throttling counts in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
