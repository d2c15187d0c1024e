"""Personal API tokens (accounts/services.py, ApiToken): only a SHA-256 digest is stored, scopes
are checked, and only active tokens of active users authenticate."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kehu.accounts.models import ApiToken
from kehu.accounts.services import (
    LAST_USED_RESOLUTION,
    TOKEN_PREFIX,
    parse_scopes,
    token_authenticate,
    token_create,
    token_revoke,
)
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(rep: Any) -> Any:
    def issue(scopes: list[str] | None = None, **options: Any) -> tuple[ApiToken, str]:
        return token_create(ctx=Context(user=rep, source=Source.CLI), user=rep, scopes=scopes or ["read"], **options)

    return issue


def row_text(token: ApiToken) -> str:
    return json.dumps(ApiToken.objects.filter(pk=token.pk).values().get(), default=str)


# --- issuing -----------------------------------------------------------------------------


def test_token_is_stored_as_its_sha256_digest_and_never_in_the_clear(issue: Any) -> None:
    token, raw = issue(["customers:write"], name="ERP sync")

    assert raw.startswith(TOKEN_PREFIX)
    assert len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in row_text(token)
    assert raw[len(TOKEN_PREFIX) + 6 :] not in row_text(token)


def test_token_keeps_a_short_prefix_to_recognise_it_by(issue: Any) -> None:
    token, raw = issue()

    assert token.prefix == raw[: len(TOKEN_PREFIX) + 6]
    assert str(token).startswith(token.prefix)


def test_every_token_is_different(issue: Any) -> None:
    raws = {issue()[1] for _ in range(5)}

    assert len(raws) == 5


def test_issuing_a_token_is_audited_without_the_secret(issue: Any, rep: Any) -> None:
    token, raw = issue(["read"], name="Reports")

    [entry] = AuditEntry.objects.filter(action="token_create")
    assert (entry.actor, entry.source, entry.object_id) == (rep, "cli", rep.pk)
    assert entry.extra == {"id": token.pk, "name": "Reports", "prefix": token.prefix, "scopes": ["read"]}
    assert raw not in json.dumps(entry.extra)


def test_token_expiry_is_set_in_days(issue: Any) -> None:
    before = timezone.now()

    token, _raw = issue(expires_days=30)

    assert before + datetime.timedelta(days=30) <= token.expires_at <= timezone.now() + datetime.timedelta(days=30)


@pytest.mark.parametrize("days", [0, -1])
def test_token_expiry_must_be_positive(issue: Any, days: int) -> None:
    with pytest.raises(ValidationError) as raised:
        issue(expires_days=days)

    assert "expires_days" in raised.value.message_dict
    assert not ApiToken.objects.exists()


def test_token_with_a_bad_scope_is_not_issued(issue: Any) -> None:
    with pytest.raises(ValidationError):
        issue(["everything"])

    assert not ApiToken.objects.exists()
    assert not AuditEntry.objects.filter(action="token_create").exists()


# --- scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("read", ["read"]),
        ("write", ["write"]),
        ("customers:read", ["customers:read"]),
        ("read,customers:write", ["customers:write", "read"]),
        (" customers:write , read ,", ["customers:write", "read"]),
        ("read,read", ["read"]),
        (["write", "customers:read"], ["customers:read", "write"]),
    ],
)
def test_parse_scopes_accepts_global_and_area_scopes(text: Any, expected: list[str]) -> None:
    assert parse_scopes(text) == expected


@pytest.mark.parametrize(
    "text",
    ["admin", "customers:delete", "contacts:write", "orders:read", "read;write", "customers", ":read", "READ"],
)
def test_parse_scopes_refuses_anything_else_naming_it_and_the_valid_areas(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_scopes(f"read,{text}")

    [message] = raised.value.messages
    assert text.strip() in message
    assert "customers" in message
    assert "read, write" in message


@pytest.mark.parametrize("text", ["", " , ", []])
def test_parse_scopes_needs_at_least_one_scope(text: Any) -> None:
    with pytest.raises(ValidationError, match="at least one scope"):
        parse_scopes(text)


@pytest.mark.parametrize(
    ("scopes", "reads", "writes"),
    [
        (["read"], True, False),
        (["write"], True, True),
        (["customers:read"], True, False),
        (["customers:write"], True, True),
    ],
)
def test_token_scope_allows_reading_and_writing_areas(issue: Any, scopes: list[str], reads: bool, writes: bool) -> None:
    token, _raw = issue(scopes)

    assert token.allows("customers", write=False) is reads
    assert token.allows("customers", write=True) is writes


def test_area_scope_does_not_reach_other_areas(issue: Any) -> None:
    token, _raw = issue(["customers:write"])

    assert not token.allows("sales", write=False)
    assert not token.allows("sales", write=True)


# --- authenticating ----------------------------------------------------------------------


def test_token_authenticate_finds_the_token_and_records_its_use(issue: Any, rep: Any) -> None:
    token, raw = issue()
    assert token.last_used_at is None

    found = token_authenticate(raw)

    assert found == token
    assert found.user == rep
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(issue: Any) -> None:
    token, raw = issue()
    recent = timezone.now() - LAST_USED_RESOLUTION / 2
    stale = timezone.now() - LAST_USED_RESOLUTION * 2

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == recent

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > recent


def test_expired_token_is_refused(issue: Any) -> None:
    token, raw = issue(expires_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    assert token_authenticate(raw) is None
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None


def test_revoked_token_is_refused_and_revoking_twice_is_audited_once(issue: Any, rep: Any) -> None:
    token, raw = issue()

    token_revoke(ctx=Context(user=rep), token=token)
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    token_revoke(ctx=Context(user=rep), token=ApiToken.objects.get(pk=token.pk))

    assert token_authenticate(raw) is None
    assert ApiToken.objects.get(pk=token.pk).revoked_at == revoked_at
    assert AuditEntry.objects.filter(action="token_revoke").count() == 1


def test_token_of_a_deactivated_user_is_refused(issue: Any, rep: Any) -> None:
    _token, raw = issue()
    rep.is_active = False
    rep.save()

    assert token_authenticate(raw) is None


@pytest.mark.parametrize("raw", ["", "kehu_", "kehu_not-a-real-token", "Bearer kehu_x", "ghp_abcdef"])
def test_unknown_or_malformed_token_is_refused(issue: Any, raw: str) -> None:
    issue()

    assert token_authenticate(raw) is None


def test_token_must_match_exactly(issue: Any) -> None:
    _token, raw = issue()

    assert token_authenticate(raw + "x") is None
    assert token_authenticate(raw[:-1]) is None
    assert token_authenticate(raw.upper()) is None
