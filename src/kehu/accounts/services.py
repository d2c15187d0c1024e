"""Creating users and teams, issuing and revoking API tokens, recording preferences."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.accounts.models import ApiToken, Role, Team, User, hash_token
from kehu.platform.audit import audit
from kehu.platform.context import Context
from kehu.platform.models import AuditAction
from kehu.platform.records import registry

TOKEN_PREFIX = "kehu_"
# How stale ``last_used_at`` may get before a request writes it again.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def team_get_or_create(*, name: str, parent: Team | None = None) -> Team:
    team, created = Team.objects.get_or_create(name=name, defaults={"parent": parent})
    if not created and parent is not None and team.parent_id != parent.pk:
        team.parent = parent
        team.save(update_fields=["parent"])
    return team


def user_create(
    *,
    username: str,
    password: str,
    role: str,
    team: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    language: str = "",
) -> User:
    """Create an active user. Raises ValidationError for an unknown role, a taken username
    or a weak password."""
    errors: dict[str, str] = {}
    role_obj = Role.objects.filter(key=role).first()
    if role_obj is None:
        known = ", ".join(Role.objects.values_list("key", flat=True))
        errors["role"] = _("Unknown role %(role)s (one of: %(known)s).") % {"role": role, "known": known}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("A user with that username already exists.")
    if errors:
        raise ValidationError(errors)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role_obj,
        language=language,
        is_staff=role == Role.ADMIN,
    )
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        if team:
            user.team = team_get_or_create(name=team)
        user.set_password(password)
        user.save()
    return user


def parse_scopes(text: str | Iterable[str]) -> list[str]:
    """``read``, ``write`` or ``AREA:read``/``AREA:write`` entries, comma-separated.
    Raises ValidationError naming the first one that is not a scope."""
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    areas = set(registry.areas())
    for item in items:
        area, sep, level = item.rpartition(":")
        if level not in {"read", "write"} or (sep and area not in areas):
            raise ValidationError(
                _("Unknown scope %(scope)s: use read, write, or AREA:read / AREA:write with AREA one of %(areas)s.")
                % {"scope": item, "areas": ", ".join(sorted(areas))}
            )
    if not items:
        raise ValidationError(_("Give at least one scope."))
    return sorted(set(items))


def token_create(
    *,
    ctx: Context,
    user: User,
    scopes: list[str],
    name: str = "",
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns it with the secret, which is never stored.
    Raises ValidationError for bad scopes or expiry."""
    scopes = parse_scopes(scopes)
    if expires_days is not None and expires_days <= 0:
        raise ValidationError({"expires_days": _("The expiry must be a positive number of days.")})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=hash_token(raw),
        scopes=scopes,
        expires_at=timezone.now() + datetime.timedelta(days=expires_days) if expires_days else None,
    )
    audit(ctx, AuditAction.TOKEN_CREATE, user, extra=token.describe())
    return token, raw


def token_revoke(*, ctx: Context, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(ctx, AuditAction.TOKEN_REVOKE, token.user, extra=token.describe())


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token for ``raw`` with an active user, its last use recorded."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user", "user__role").filter(digest=hash_token(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def user_set_language(*, user: Any, language: str) -> None:
    if user.is_authenticated and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
