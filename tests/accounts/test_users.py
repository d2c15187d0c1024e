"""Creating users (accounts/services.py), permissions from roles (accounts/backends.py) and the
user's language preference (services and middleware)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import ValidationError
from django.test import Client

from kehu.accounts.models import Role, Team, User
from kehu.accounts.services import user_create, user_set_language

pytestmark = pytest.mark.django_db

PASSWORD = "Users-test-pass-2026"


def fresh(user: User) -> User:
    """The user read again: Django caches permissions on the instance."""
    return User.objects.get(pk=user.pk)


# --- user_create -------------------------------------------------------------------------


def test_user_create_sets_role_team_email_and_a_hashed_password() -> None:
    user = user_create(
        username="wang",
        password=PASSWORD,
        role="sales",
        team="East sales",
        email="wang@example.com",
        language="zh-hans",
    )

    stored = fresh(user)
    assert (stored.role.key, stored.team.name, stored.email, stored.language) == (
        "sales",
        "East sales",
        "wang@example.com",
        "zh-hans",
    )
    assert stored.is_active
    assert not stored.is_staff
    assert stored.password != PASSWORD
    assert stored.check_password(PASSWORD)


def test_user_create_makes_a_missing_team_at_the_top_level() -> None:
    user_create(username="wang", password=PASSWORD, role="sales", team="Brand new team")

    assert Team.objects.get(name="Brand new team").parent is None


def test_admin_users_are_staff_for_the_django_admin() -> None:
    boss = user_create(username="boss", password=PASSWORD, role="admin")

    assert boss.is_staff
    assert boss.is_kehu_admin
    assert not boss.is_superuser


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!x", "too short"),
        ("qwertyuiop", "too common"),
        ("8264019375310", "entirely numeric"),
        ("zhangwei2026", "too similar"),
    ],
)
def test_user_create_refuses_weak_passwords_and_creates_nothing(password: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        user_create(username="zhangwei", password=password, role="sales", team="East sales")

    assert reason in " ".join(raised.value.message_dict["password"])
    assert not User.objects.filter(username="zhangwei").exists()
    assert not Team.objects.filter(name="East sales").exists()


def test_user_create_refuses_a_taken_username_whatever_its_case() -> None:
    user_create(username="wang", password=PASSWORD, role="sales")

    with pytest.raises(ValidationError) as raised:
        user_create(username="WANG", password=PASSWORD, role="manager")

    assert "username" in raised.value.message_dict
    assert User.objects.get(username__iexact="wang").role.key == "sales"


def test_user_create_reports_unknown_role_and_taken_username_together() -> None:
    user_create(username="wang", password=PASSWORD, role="sales")

    with pytest.raises(ValidationError) as raised:
        user_create(username="wang", password=PASSWORD, role="boss")

    assert set(raised.value.message_dict) == {"role", "username"}
    assert "read_only" in raised.value.message_dict["role"][0]


@pytest.mark.parametrize(
    ("data", "field"),
    [({"email": "not-an-email"}, "email"), ({"language": "fr"}, "language"), ({"username": "bad name!"}, "username")],
)
def test_user_create_refuses_invalid_fields(data: dict[str, str], field: str) -> None:
    arguments: dict[str, Any] = {"username": "wang", "password": PASSWORD, "role": "sales", **data}

    with pytest.raises(ValidationError) as raised:
        user_create(**arguments)

    assert field in raised.value.message_dict
    assert not User.objects.exists()


def test_created_user_can_sign_in_with_username_or_email() -> None:
    user = user_create(username="wang", password=PASSWORD, role="sales", email="wang@example.com")

    assert authenticate(username="wang", password=PASSWORD) == user
    assert authenticate(email="wang@example.com", password=PASSWORD) == user
    assert authenticate(username="wang", password="Wrong-pass-2026") is None


def test_deactivated_user_cannot_sign_in() -> None:
    user = user_create(username="wang", password=PASSWORD, role="sales")
    user.is_active = False
    user.save()

    assert authenticate(username="wang", password=PASSWORD) is None


# --- RoleBackend -------------------------------------------------------------------------


def test_role_backend_grants_exactly_the_roles_permissions(make_user: Any) -> None:
    agent = make_user("agent", "service")

    assert agent.has_perm("customers.view_customer")
    assert agent.has_perm("customers.change_contact")
    assert not agent.has_perm("customers.add_customer")
    assert not agent.has_perm("customers.delete_customer")
    assert not agent.has_perm("accounts.reassign_records")
    from kehu.platform.records import registry

    customer_area = [rt for rt in registry if rt.area == "customers"]  # customers, contacts, tasks, …
    read_areas = [rt for rt in registry if rt.area in ("products", "sales")]  # the catalogue, sales records
    assert agent.get_all_permissions() == {
        *(rt.perm(action) for rt in customer_area for action in ("view", "change")),
        *(rt.perm("view") for rt in read_areas),
        "platform.add_tag",
    }
    assert agent.has_module_perms("customers")
    assert not agent.has_module_perms("accounts")


def test_permission_added_to_a_role_applies_to_all_its_users(make_user: Any) -> None:
    first, second = make_user("first", "marketing"), make_user("second", "marketing")
    assert not first.has_perm("customers.add_customer")

    Role.objects.get(key="marketing").permissions.add(Permission.objects.get(codename="add_customer"))

    assert fresh(first).has_perm("customers.add_customer")
    assert fresh(second).has_perm("customers.add_customer")


def test_moving_a_user_to_another_role_changes_their_permissions(make_user: Any) -> None:
    user = make_user("mover", "read_only")
    user.role = Role.objects.get(key="manager")
    user.save()

    assert fresh(user).has_perm("accounts.reassign_records")
    assert fresh(user).has_perm("customers.delete_customer")


def test_admin_role_has_every_permission_even_ones_not_granted(make_user: Any) -> None:
    boss = make_user("boss2", "admin")

    assert boss.has_perm("auth.delete_group")
    assert boss.has_perm("platform.view_auditentry")
    assert boss.has_module_perms("sessions")


def test_user_without_a_role_has_no_permissions(make_user: Any) -> None:
    user = make_user("nobody", "sales")
    user.role = None
    user.save()

    assert fresh(user).get_all_permissions() == set()
    assert not fresh(user).has_perm("customers.view_customer")


def test_inactive_user_has_no_permissions_even_as_admin(make_user: Any) -> None:
    boss = make_user("gone", "admin")
    boss.is_active = False
    boss.save()

    assert not fresh(boss).has_perm("customers.view_customer")
    assert not fresh(boss).has_module_perms("customers")


# --- language ----------------------------------------------------------------------------


def test_user_set_language_stores_the_preference(rep: Any) -> None:
    user_set_language(user=rep, language="zh-hans")

    assert fresh(rep).language == "zh-hans"


def test_user_set_language_ignores_anonymous_users(db: Any) -> None:
    anonymous = AnonymousUser()

    user_set_language(user=anonymous, language="zh-hans")

    assert not hasattr(anonymous, "language")


@pytest.mark.parametrize(
    ("language", "browser", "expected"), [("zh-hans", "en", "zh-hans"), ("en", "zh-CN", "en"), ("", "zh-CN", "zh-hans")]
)
def test_signed_in_users_language_wins_over_the_browsers(rep: Any, language: str, browser: str, expected: str) -> None:
    user_set_language(user=rep, language=language)
    client = Client()
    client.force_login(rep)

    response = client.get("/customers/", HTTP_ACCEPT_LANGUAGE=browser)

    assert response.status_code == 200
    assert response["Content-Language"] == expected
