"""Domain errors users can act on; turned into HTTP statuses and form errors in one place each."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["NotVisible", "PermissionDenied", "StaleVersion", "ValidationError"]


class NotVisible(Exception):
    """The record does not exist or the caller may not see it (the two are never told apart)."""

    message = _("Not found.")


class StaleVersion(Exception):
    """The record changed since the caller read it; nothing was written."""

    def __init__(self, current_version: int) -> None:
        super().__init__(current_version)
        self.current_version = current_version

    message = _("This record was changed by someone else since you loaded it. Reload and try again.")
