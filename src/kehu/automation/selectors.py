"""Reads of the automation app. A user only ever sees their own notifications."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kehu.automation.models import Notification
from kehu.platform.errors import NotVisible


def notifications_for(user: Any, *, unread: bool = False) -> QuerySet[Notification]:
    """The notifications of ``user``, newest first (only the unread ones with ``unread``)."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    queryset = Notification.objects.filter(recipient_id=user.pk)
    if unread:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-created_at", "-id")


def notification_get(user: Any, pk: int) -> Notification:
    """One of ``user``'s notifications; raises NotVisible for anyone else's (or none)."""
    found = notifications_for(user).filter(pk=pk).first()
    if found is None:
        raise NotVisible
    return found


def unread_count(user: Any) -> int:
    return notifications_for(user, unread=True).count()
