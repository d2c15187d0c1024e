"""Users, teams in a tree, roles with their permissions and visibility, and API tokens."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Permission
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visibility(models.TextChoices):
    OWN = "own", _("Own records")
    TEAM = "team", _("Own and team records")
    TEAM_TREE = "team_tree", _("Own records and those of the user's team and its sub-teams")
    ALL = "all", _("All records")


class Role(models.Model):
    """A role: what its users may do (permissions) and which rows they see (visibility)."""

    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    SERVICE = "service"
    MARKETING = "marketing"
    READ_ONLY = "read_only"

    key = models.SlugField(_("key"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    visibility = models.CharField(_("visibility"), max_length=16, choices=Visibility.choices, default=Visibility.OWN)
    permissions = models.ManyToManyField(Permission, verbose_name=_("permissions"), blank=True)
    # Models whose default permissions have been granted once; an admin's later removal sticks.
    defaults_applied = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(_(self.name))

    @property
    def is_admin(self) -> bool:
        return self.key == self.ADMIN


class User(AbstractUser):
    role = models.ForeignKey(
        Role, verbose_name=_("role"), on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    language = models.CharField(_("language"), max_length=16, choices=settings.LANGUAGES, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        permissions = [("reassign_records", _("Can assign records to other users and teams"))]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_kehu_admin(self) -> bool:
        return self.is_superuser or bool(self.role and self.role.is_admin)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def allows(self, area: str, *, write: bool) -> bool:
        """Scopes: ``read``/``write`` for every area, ``AREA:read``/``AREA:write`` for one;
        write implies read."""
        wanted = {"write", f"{area}:write"} if write else {"read", "write", f"{area}:read", f"{area}:write"}
        return bool(wanted & set(self.scopes))

    def describe(self) -> dict[str, Any]:
        return {"id": self.pk, "name": self.name, "prefix": self.prefix, "scopes": self.scopes}
