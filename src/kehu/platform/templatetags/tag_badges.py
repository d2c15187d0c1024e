"""Coloured tag badges: ``{% load tag_badges %}{% tag_badges obj.tags.all %}``."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.platform.tags import safe_color, text_color

register = template.Library()


@register.filter
def tag_style(tag: Any) -> str:
    """The CSS custom properties that colour one badge (background and readable text)."""
    color = safe_color(getattr(tag, "color", ""))
    return f"--kehu-tag-bg: {color}; --kehu-tag-fg: {text_color(color)};"


@register.inclusion_tag("platform/_tag_badges.html")
def tag_badges(tags: Any, empty: str = "") -> dict[str, Any]:
    """The tags as badges, in name order (ignoring case); ``empty`` when there are none."""
    items = sorted(tags, key=lambda tag: (tag.name.casefold(), tag.name))
    return {"tags": items, "empty": empty}
