"""Domain errors users can act on; turned into HTTP statuses and form errors in one place each."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["NotVisible", "PermissionDenied", "StaleVersion", "ValidationError", "validation_message"]


class NotVisible(Exception):
    """The record does not exist or the caller may not see it (the two are never told apart)."""

    message = _("Not found.")


class StaleVersion(Exception):
    """The record changed since the caller read it; nothing was written."""

    def __init__(self, current_version: int) -> None:
        super().__init__(current_version)
        self.current_version = current_version

    message = _("This record was changed by someone else since you loaded it. Reload and try again.")


def validation_message(error: ValidationError, separator: str = "\n") -> str:
    """A ValidationError as one text for a terminal (``field: message`` per message)."""
    if hasattr(error, "error_dict"):
        return separator.join(
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return separator.join(error.messages)
