"""Fixtures for the customers tests, on top of tests/conftest.py (users, teams, record factories)."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.accounts.services import token_create
from kehu.platform.context import Context, Source


@pytest.fixture
def issue_token(db: Any) -> Any:
    """``issue_token(user, "read")`` → (ApiToken, raw secret), as `kehu token create` makes it."""

    def issue(user: Any, scopes: str = "write") -> Any:
        return token_create(ctx=Context(user=user, source=Source.CLI), user=user, scopes=scopes.split(","))

    return issue


@pytest.fixture
def api_as(issue_token: Any) -> Any:
    """``api_as(user, scopes="write")`` → a JSON client holding a fresh token of ``user``."""
    from tests.api.support import ApiClient

    def make(user: Any, scopes: str = "write") -> Any:
        _token, raw = issue_token(user, scopes)
        return ApiClient(raw)

    return make


@pytest.fixture
def cli(rep: Any) -> Context:
    """The rep acting from the command line."""
    return Context(user=rep, source=Source.CLI)
