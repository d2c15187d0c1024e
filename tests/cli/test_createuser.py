from __future__ import annotations

import pytest
from django.core.management import CommandError

from kehu.accounts.models import User

PASSWORD = "Cli-test-pass-2026"


@pytest.mark.django_db
def test_createuser_creates_user_with_role_team_and_email(run_command, monkeypatch) -> None:
    monkeypatch.setenv("KEHU_PASSWORD", PASSWORD)
    out = run_command("createuser", "wang", "--role", "sales", "--team", "East sales", "--email", "wang@example.com")
    user = User.objects.get(username="wang")
    assert user.role.key == "sales"
    assert user.team.name == "East sales"
    assert user.email == "wang@example.com"
    assert user.check_password(PASSWORD)
    assert "Created user wang" in out


@pytest.mark.django_db
def test_createuser_unknown_role_fails_naming_the_roles(run_command, monkeypatch) -> None:
    monkeypatch.setenv("KEHU_PASSWORD", PASSWORD)
    with pytest.raises(CommandError, match="Unknown role wizard") as error:
        run_command("createuser", "wang", "--role", "wizard")
    assert "sales" in str(error.value)
    assert not User.objects.filter(username="wang").exists()


@pytest.mark.django_db
def test_createuser_weak_password_fails(run_command, monkeypatch) -> None:
    monkeypatch.setenv("KEHU_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        run_command("createuser", "wang", "--role", "sales")
    assert not User.objects.filter(username="wang").exists()


@pytest.mark.django_db
def test_createuser_taken_username_fails(run_command, monkeypatch) -> None:
    monkeypatch.setenv("KEHU_PASSWORD", PASSWORD)
    run_command("createuser", "wang", "--role", "sales")
    with pytest.raises(CommandError, match="already exists"):
        run_command("createuser", "WANG", "--role", "service")


@pytest.mark.django_db
@pytest.mark.usefixtures("no_tty")
def test_createuser_without_password_and_without_terminal_fails(run_command, monkeypatch) -> None:
    monkeypatch.delenv("KEHU_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="KEHU_PASSWORD"):
        run_command("createuser", "wang", "--role", "sales")
    assert not User.objects.filter(username="wang").exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("no_tty")
def test_init_creates_first_admin_from_environment_once(run_command, monkeypatch) -> None:
    monkeypatch.setenv("KEHU_ADMIN_USERNAME", "root")
    monkeypatch.setenv("KEHU_PASSWORD", PASSWORD)
    run_command("init")
    run_command("init")
    admin = User.objects.get(username="root")
    assert admin.role.key == "admin"
    assert User.objects.filter(role__key="admin").count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("no_tty")
def test_init_without_terminal_or_environment_creates_no_admin(run_command, monkeypatch) -> None:
    monkeypatch.delenv("KEHU_ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("KEHU_PASSWORD", raising=False)
    out = run_command("init")
    assert "No admin user yet" in out
    assert not User.objects.exists()
