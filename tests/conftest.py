"""Fixtures shared by the web and API tests: users in a small team tree and records made
through the services, the way every real write is made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
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


@pytest.fixture
def key_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Encryption keys in a data directory of their own (``encryption.key``), none from the
    environment; the keyring is read afresh before and after the test."""
    from kehu.platform import crypto

    settings.DATA_DIR = tmp_path
    settings.KEHU_ENCRYPTION_KEY_FROM_ENV = False
    settings.KEHU_ENCRYPTION_OLD_KEYS = []
    (tmp_path / crypto.KEY_FILE).write_text(crypto.generate_key() + "\n")
    crypto.reset()
    yield tmp_path
    crypto.reset()


@pytest.fixture
def define(admin_user: Any) -> Any:
    """Define a custom field as an admin: ``define("budget", "money", label=...)``."""
    from kehu.platform.customfields import services as definitions

    def make(name: str, kind: str, record_type: str = "customer", **options: Any) -> Any:
        options.setdefault("label", name.replace("_", " ").title())
        return definitions.customfield_create(
            ctx=Context(user=admin_user, source=Source.CLI),
            data={"record_type": record_type, "name": name, "kind": kind, **options},
        )

    return make


@pytest.fixture
def web_as() -> Any:
    """``web_as(user)`` → a test client logged in as ``user``."""
    from django.test import Client

    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
