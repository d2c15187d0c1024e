"""Who is acting, from where: passed to every service so audit and access checks agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.http import HttpRequest

    from kehu.accounts.models import ApiToken, User


class Source(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    AUTOMATION = "automation", _("Automation")
    CLI = "cli", _("Command line")
    SYSTEM = "system", _("System")


@dataclass(frozen=True)
class Context:
    user: User
    source: str = Source.WEB
    ip: str | None = None
    token: ApiToken | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, source: str = Source.WEB) -> Context:
        return cls(
            user=request.user,  # type: ignore[arg-type]
            source=source,
            ip=client_ip(request),
            token=getattr(request, "api_token", None),
        )


def client_ip(request: Any) -> str | None:
    """The client address; X-Forwarded-For is trusted only when a proxy is configured."""
    from django.conf import settings

    if getattr(settings, "KEHU_HTTPS", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None
