from __future__ import annotations

from typing import Any

from django.db.models.signals import post_migrate
from django.dispatch import receiver

from kehu.accounts.roles import ensure_default_roles


@receiver(post_migrate)
def _ensure_roles(sender: Any, **kwargs: Any) -> None:
    # After each app's permissions are created; grants what became available (idempotent).
    ensure_default_roles()
