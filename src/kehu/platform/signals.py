"""Migration-time set-up: the cache table and the append-only audit trigger's companions."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def _create_cache_table(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if getattr(sender, "label", "") == "platform":
        call_command("createcachetable", database=using, verbosity=0)
