from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kehu.platform.records import registry


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs on every page: the navigation and the colour theme."""
    user = request.user
    nav = registry.navigation(user, request.path) if user.is_authenticated else []
    return {"nav_groups": nav, "theme": request.COOKIES.get("kehu-theme", "light")}
