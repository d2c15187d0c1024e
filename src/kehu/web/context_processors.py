from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kehu.platform.access import can
from kehu.platform.records import registry


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs on every page: the navigation and the colour theme."""
    user = request.user
    nav = []
    if user.is_authenticated:
        nav = [rt for rt in registry if rt.in_nav and can(user, rt, "view")]
    return {"nav_record_types": nav, "theme": request.COOKIES.get("kehu-theme", "light")}
