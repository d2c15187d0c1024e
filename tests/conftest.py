"""Fixtures shared by the web and API tests: users in a small team tree and records made
through the services, the way every real write is made."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.accounts.services import team_get_or_create, user_create
from kehu.customers import services as customer_services
from kehu.platform.context import Context, Source


@pytest.fixture
def make_user(db: Any) -> Any:
    def make(username: str, role: str, team: str | None = None) -> Any:
        return user_create(username=username, password="Web-test-pass-2026", role=role, team=team)

    return make


@pytest.fixture
def east(db: Any) -> Any:
    head = team_get_or_create(name="Head office")
    return team_get_or_create(name="East sales", parent=head)


@pytest.fixture
def south(db: Any) -> Any:
    head = team_get_or_create(name="Head office")
    return team_get_or_create(name="South sales", parent=head)


@pytest.fixture
def rep(make_user: Any, east: Any) -> Any:
    return make_user("rep", "sales", "East sales")


@pytest.fixture
def other_rep(make_user: Any, south: Any) -> Any:
    return make_user("other", "sales", "South sales")


@pytest.fixture
def admin_user(make_user: Any) -> Any:
    return make_user("boss", "admin")


@pytest.fixture
def reader(make_user: Any) -> Any:
    return make_user("reader", "read_only")


@pytest.fixture
def make_customer() -> Any:
    def make(user: Any, **data: Any) -> Any:
        data.setdefault("name", "Acme")
        return customer_services.customer_create(ctx=Context(user=user, source=Source.CLI), data=data)

    return make


@pytest.fixture
def make_contact() -> Any:
    def make(user: Any, customer: Any, **data: Any) -> Any:
        data.setdefault("name", "Li Lei")
        return customer_services.contact_create(
            ctx=Context(user=user, source=Source.CLI), data={"customer": customer, **data}
        )

    return make


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """A request in Chinese leaves the thread's language active (Django never deactivates it);
    every test starts and ends in the default language."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
