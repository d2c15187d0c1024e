from __future__ import annotations

import pytest
from django.core.management import CommandError
from django.test import Client

from kehu.accounts.models import ApiToken
from kehu.accounts.services import user_create


@pytest.fixture
def alice(db):
    return user_create(username="alice", password="Cli-test-pass-2026", role="sales")


def test_token_create_prints_token_alone_on_last_line(run_command, alice) -> None:
    out = run_command("token", "create", "alice", "--scopes", "read", "--name", "reporting")
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith("kehu_")
    assert " " not in last
    token = ApiToken.objects.get(user=alice)
    assert token.name == "reporting"
    assert token.scopes == ["read"]
    assert last.startswith(token.prefix)


def test_token_from_cli_authenticates_against_the_api(run_command, alice) -> None:
    raw = run_command("token", "create", "alice").splitlines()[-1]
    response = Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 0}


def test_token_create_with_expiry_and_area_scope(run_command, alice) -> None:
    run_command("token", "create", "alice", "--scopes", "customers:write", "--expires-days", "30")
    token = ApiToken.objects.get(user=alice)
    assert token.scopes == ["customers:write"]
    assert token.expires_at is not None


def test_token_create_bad_scope_fails(run_command, alice) -> None:
    with pytest.raises(CommandError, match="Unknown scope"):
        run_command("token", "create", "alice", "--scopes", "everything")
    assert not ApiToken.objects.exists()


def test_token_create_for_unknown_user_fails(run_command, db) -> None:
    with pytest.raises(CommandError, match="No user named bob"):
        run_command("token", "create", "bob")


def test_token_list_shows_tokens_with_prefix_and_scopes(run_command, alice) -> None:
    run_command("token", "create", "alice", "--scopes", "read,customers:write", "--name", "sync")
    out = run_command("token", "list")
    header, _rule, row = out.splitlines()[:3]
    assert header.split()[:5] == ["id", "user", "name", "prefix", "scopes"]
    token = ApiToken.objects.get()
    assert f"{token.prefix}…" in row
    assert "customers:write,read" in row
    assert "sync" in row
    assert "alice" in run_command("token", "list", "alice")


def test_token_revoke_stops_the_token_working(run_command, alice) -> None:
    raw = run_command("token", "create", "alice").splitlines()[-1]
    token = ApiToken.objects.get()
    out = run_command("token", "revoke", str(token.pk))
    assert "Revoked" in out
    token.refresh_from_db()
    assert token.revoked_at is not None
    response = Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401


def test_token_revoke_unknown_id_fails(run_command, db) -> None:
    with pytest.raises(CommandError, match="No token with id 999"):
        run_command("token", "revoke", "999")
