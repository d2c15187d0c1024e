"""Fixtures for the automation tests: tasks made through the activities services (so their
events reach the reminder subscriber), notifications, API clients with tokens."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from kehu.accounts.services import token_create
from kehu.activities import services as activities
from kehu.platform.context import Context, Source
from tests.api.support import ApiClient


def ctx_of(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


@pytest.fixture
def make_task(django_capture_on_commit_callbacks: Any) -> Any:
    """A task of ``user``, created with its after-commit events run (as in a real request)."""

    def make(user: Any, **data: Any) -> Any:
        data.setdefault("title", "Call back")
        data.setdefault("due_at", timezone.now() + datetime.timedelta(days=1))
        with django_capture_on_commit_callbacks(execute=True):
            return activities.task_create(ctx_of(user), data)

    return make


@pytest.fixture
def update_task(django_capture_on_commit_callbacks: Any) -> Any:
    def update(user: Any, task: Any, **data: Any) -> Any:
        from kehu.activities.records import TASK
        from kehu.platform import services

        with django_capture_on_commit_callbacks(execute=True):
            return services.record_update(TASK, ctx=ctx_of(user), obj=task, data=data)

    return update


@pytest.fixture
def api_as(db: Any) -> Any:
    """``api_as(user, scopes="write")`` → an ApiClient holding a fresh token of ``user``."""

    def make(user: Any, scopes: str = "write") -> ApiClient:
        _token, raw = token_create(ctx=ctx_of(user), user=user, scopes=scopes.split(","))
        return ApiClient(raw)

    return make


@pytest.fixture
def logged_in(client: Any) -> Any:
    def login(user: Any) -> Any:
        client.force_login(user)
        return client

    return login
