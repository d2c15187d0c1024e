"""Personal API tokens in the web UI, login throttling, password reset and TOTP."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from kehu.accounts.models import ApiToken, hash_token
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db
PASSWORD = "Web-test-pass-2026"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_token_page_creates_a_token_shown_once_and_stored_hashed(rep: Any) -> None:
    client = logged_in(rep)
    response = client.post("/settings/tokens/", {"name": "ERP sync", "scopes": ["customers:write"]})
    raw = response.context["new_token"]
    token = ApiToken.objects.get(user=rep)
    assert raw.startswith("kehu_")
    assert token.digest == hash_token(raw)
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert token.scopes == ["customers:write"]
    api = Client().get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 200
    assert raw not in client.get("/settings/tokens/").content.decode()


def test_token_page_revokes_own_token_but_not_someone_elses(rep: Any, other_rep: Any) -> None:
    client = logged_in(rep)
    client.post("/settings/tokens/", {"scopes": ["read"]})
    mine = ApiToken.objects.get(user=rep)
    logged_in(other_rep).post("/settings/tokens/", {"scopes": ["read"]})
    theirs = ApiToken.objects.get(user=other_rep)
    assert client.post(f"/settings/tokens/{theirs.pk}/revoke/").status_code == 404
    assert client.post(f"/settings/tokens/{mine.pk}/revoke/").status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None
    assert AuditEntry.objects.filter(action="token_revoke", actor=rep).count() == 1


def test_login_and_failed_login_are_audited(rep: Any) -> None:
    client = Client()
    client.post("/accounts/login/", {"login": "rep", "password": "wrong-password"}, REMOTE_ADDR="10.1.2.3")
    client.post("/accounts/login/", {"login": "rep", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    failed = AuditEntry.objects.get(action="login_failed")
    assert failed.extra["login"] == "rep"
    assert failed.ip == "10.1.2.3"
    assert AuditEntry.objects.filter(action="login", actor=rep).exists()


def test_repeated_failed_logins_are_throttled(rep: Any) -> None:
    client = Client()
    for attempt in range(5):
        client.post("/accounts/login/", {"login": "rep", "password": f"wrong-{attempt}"})
    # Even the right password is refused while the account is throttled.
    response = client.post("/accounts/login/", {"login": "rep", "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/customers/").status_code == 302


def test_password_reset_sends_a_mail_with_a_working_link(rep: Any) -> None:
    rep.email = "rep@example.com"
    rep.save()
    response = Client().post("/accounts/password/reset/", {"email": "rep@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "rep@example.com" in mail.outbox[0].to
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_totp_second_factor_is_required_at_login_once_enabled(rep: Any) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value, yield_hotp_counters_from_time

    secret = generate_totp_secret()
    TOTP.activate(rep, secret)
    assert Authenticator.objects.filter(user=rep, type="totp").exists()
    client = Client()
    response = client.post("/accounts/login/", {"login": "rep", "password": PASSWORD})
    assert response.status_code == 302
    assert "/accounts/2fa/authenticate/" in response["Location"]
    assert client.get("/customers/").status_code == 302  # not logged in yet
    code = f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert client.get("/customers/").status_code == 200
