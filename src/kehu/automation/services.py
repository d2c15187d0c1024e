"""Writes of the automation app: notifications (created in bulk, marked read by their
recipient only) and the secret calendar feed address (derived, reset on demand)."""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from kehu.automation.models import CalendarFeed, Notification
from kehu.platform.audit import audit
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.models import AuditAction
from kehu.platform.records import registry

TITLE_MAX = 255
URL_MAX = 500

# ---------------------------------------------------------------- notifications


def _record_ref(record: Any) -> tuple[str, int | None]:
    if record is None:
        return "", None
    if isinstance(record, tuple):
        key, pk = record
        return str(key), int(pk)
    rt = registry.for_model_or_none(type(record))
    return (rt.key if rt is not None else record._meta.model_name), record.pk


def notify_each(items: Iterable[dict[str, Any]]) -> list[Notification]:
    """Several different notifications in one INSERT: each item holds ``recipient`` (a user
    or user id), ``kind``, ``title`` and optionally ``body``, ``url`` and ``record``."""
    now = timezone.now()
    rows = []
    for item in items:
        record_type, record_id = _record_ref(item.get("record"))
        recipient = item["recipient"]
        rows.append(
            Notification(
                recipient_id=getattr(recipient, "pk", recipient),
                kind=item["kind"],
                title=str(item["title"])[:TITLE_MAX],
                body=str(item.get("body", "")),
                url=str(item.get("url", ""))[:URL_MAX],
                record_type=record_type,
                record_id=record_id,
                created_at=now,
            )
        )
    return Notification.objects.bulk_create(rows) if rows else []


def notify(
    recipients: Iterable[Any],
    *,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    record: Any = None,
) -> list[Notification]:
    """One notification per distinct recipient (users or user ids), in one INSERT.
    ``record`` is a record instance or a ``(record type key, id)`` pair."""
    user_ids = dict.fromkeys(getattr(r, "pk", r) for r in recipients if r is not None)
    fields = {"kind": kind, "title": title, "body": body, "url": url, "record": record}
    return notify_each({"recipient": user_id, **fields} for user_id in user_ids)


def notification_mark_read(user: Any, notification: Notification) -> Notification:
    """Mark ``notification`` read (it stays read if it already was). Only its recipient may."""
    if notification.recipient_id != user.pk:
        raise NotVisible
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_all_read(user: Any) -> int:
    """Mark every unread notification of ``user`` read; returns how many changed."""
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())


# ---------------------------------------------------------------- calendar feed

_FEED_KEY_SALT = "kehu.automation.calendar-feed"


def _new_salt() -> str:
    return secrets.token_urlsafe(32)


def _mac(user_id: int, salt: str) -> str:
    digest = salted_hmac(_FEED_KEY_SALT, f"{user_id}:{salt}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def calendar_feed_token(feed: CalendarFeed) -> str:
    """The secret part of the feed address: ``<user id>.<HMAC of user id and salt>``."""
    return f"{feed.user_id}.{_mac(feed.user_id, feed.salt)}"


def calendar_feed_for(user: Any) -> CalendarFeed:
    """The user's feed, created with a fresh salt the first time it is asked for."""
    feed, _created = CalendarFeed.objects.get_or_create(user=user, defaults={"salt": _new_salt()})
    return feed


def calendar_feed_reset(ctx: Context) -> CalendarFeed:
    """Give the acting user a new feed address (audited); the old one answers 404 from now on."""
    with transaction.atomic():
        feed = calendar_feed_for(ctx.user)
        feed.salt = _new_salt()
        feed.created_at = timezone.now()
        feed.save(update_fields=["salt", "created_at"])
        audit(ctx, AuditAction.UPDATE, ctx.user, extra={"calendar_feed": "reset"})
    return feed


def calendar_feed_user(token: str) -> Any:
    """The active user whose feed address holds ``token``; raises NotVisible for an unknown,
    outdated or malformed token and for an inactive user."""
    user_part, _dot, mac = token.partition(".")
    if not user_part.isdigit() or not mac or len(user_part) > 18:
        raise NotVisible
    feed = CalendarFeed.objects.select_related("user").filter(user_id=int(user_part)).first()
    if feed is None or not hmac.compare_digest(_mac(feed.user_id, feed.salt).encode(), mac.encode()):
        raise NotVisible
    if not feed.user.is_active:
        raise NotVisible
    return feed.user
