"""``{% notification_badge %}``: the unread count under the bell, rendered with the page."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.automation.selectors import unread_count

register = template.Library()


@register.inclusion_tag("automation/_notification_badge.html", takes_context=True)
def notification_badge(context: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"unread_count": unread_count(user) if user is not None else 0}
