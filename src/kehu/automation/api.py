"""``/api/v1/notifications/``: the caller's own notifications — list (``?unread=true``),
mark one read, mark all read. Nobody ever sees another user's notifications: someone else's
id answers 404 like one that does not exist.

Reading works with any token; marking read changes data, so a token needs a write scope
(``write`` or any ``AREA:write``).

No ``from __future__ import annotations``: django-ninja reads the endpoint annotations."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kehu.automation import selectors, services
from kehu.platform.api import MAX_LIMIT, api_context, json_response
from kehu.platform.context import Context


class NotificationOut(Schema):
    id: int
    kind: str = Field(..., description="What it is about, e.g. task_reminder.")
    title: str
    body: str
    url: str = Field(..., description="The page it links to (a path on this site), or empty.")
    record_type: str = Field(..., description="The record type key of the record it is about, or empty.")
    record_id: int | None = Field(None, description="The id of that record.")
    created_at: datetime.datetime
    read_at: datetime.datetime | None = Field(None, description="When it was read; null while unread.")


class NotificationList(Schema):
    items: list[NotificationOut]
    count: int
    unread: int = Field(..., description="How many of the caller's notifications are unread.")


class NotificationFilters(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Page size.")
    offset: int = Field(0, ge=0, description="Rows to skip.")
    unread: bool = Field(False, description="Only the unread ones.")


class ReadAllOut(Schema):
    updated: int = Field(..., description="How many notifications were marked read.")


def _dump(notification: Any) -> dict[str, Any]:
    return NotificationOut.model_validate(notification, from_attributes=True).model_dump(mode="json")


def _require_write(ctx: Context) -> None:
    token = ctx.token
    if token is not None and not any(scope == "write" or scope.endswith(":write") for scope in token.scopes):
        raise PermissionDenied(_("This token may only read; marking notifications read needs a write scope."))


router = Router(tags=["notifications"])


@router.get("/", response=NotificationList, summary="List your notifications", operation_id="notification_list")
def list_notifications(request: HttpRequest, filters: Query[NotificationFilters]) -> Any:
    user = api_context(request).user
    queryset = selectors.notifications_for(user, unread=filters.unread)
    page = queryset[filters.offset : filters.offset + filters.limit]
    body = {"items": [_dump(n) for n in page], "count": queryset.count(), "unread": selectors.unread_count(user)}
    return json_response(200, body)


@router.post(
    "/read-all/", response=ReadAllOut, summary="Mark all your notifications read", operation_id="notification_read_all"
)
def read_all(request: HttpRequest) -> Any:
    ctx = api_context(request)
    _require_write(ctx)
    return json_response(200, {"updated": services.notifications_mark_all_read(ctx.user)})


@router.post(
    "/{int:pk}/read/", response=NotificationOut, summary="Mark a notification read", operation_id="notification_read"
)
def read_one(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    notification = selectors.notification_get(ctx.user, pk)
    _require_write(ctx)
    return json_response(200, _dump(services.notification_mark_read(ctx.user, notification)))
