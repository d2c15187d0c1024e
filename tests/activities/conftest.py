"""Fixtures for the activities tests: customers of two teams and a way to log and plan."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from kehu.activities import services
from kehu.platform.context import Context, Source


def ctx_of(user: Any, source: str = Source.WEB) -> Context:
    return Context(user=user, source=source)


@pytest.fixture
def customer(rep: Any, make_customer: Any) -> Any:
    return make_customer(rep, name="Acme Trading")


@pytest.fixture
def contact(rep: Any, customer: Any, make_contact: Any) -> Any:
    return make_contact(rep, customer, name="Wang Fang")


@pytest.fixture
def foreign_customer(other_rep: Any, make_customer: Any) -> Any:
    """A customer of the South team, which the (East) rep cannot see."""
    return make_customer(other_rep, name="Southern Star")


@pytest.fixture
def make_task() -> Any:
    def make(user: Any, **data: Any) -> Any:
        data.setdefault("title", "Call back")
        data.setdefault("due_at", timezone.now() + datetime.timedelta(days=1))
        return services.task_create(ctx_of(user), data)

    return make


@pytest.fixture
def log() -> Any:
    def make(user: Any, customer: Any, follow_up: dict[str, Any] | None = None, **data: Any) -> Any:
        data.setdefault("subject", "Price enquiry")
        data.setdefault("kind", "call")
        return services.interaction_log(ctx_of(user), {"customer": customer, **data}, follow_up)

    return make


from tests.api.conftest import api_as, issue_token  # noqa: E402, F401  (API clients with tokens)
