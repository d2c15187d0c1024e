"""Coloured tag badges: ``{% load tag_badges %}{% tag_badges obj.tags.all %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from kehu.platform.tags import safe_color, text_color

register = template.Library()


@register.filter
def tag_style(tag: Any) -> str:
    """The CSS custom properties that colour one badge (background and readable text)."""
    color = safe_color(getattr(tag, "color", ""))
    return f"--kehu-tag-bg: {color}; --kehu-tag-fg: {text_color(color)};"


def badges(tags: Any, empty: str = "") -> SafeString:
    """The tags as badges, in name order (ignoring case); ``empty`` when there are none.
    Written here rather than in a template: list pages show them on every row."""
    items = sorted(tags, key=lambda tag: (tag.name.casefold(), tag.name))
    if items:
        spans = format_html_join(
            "", '<span class="kehu-tag" style="{}">{}</span>', ((tag_style(t), t.name) for t in items)
        )
        return format_html('<span class="kehu-tags">{}</span>', spans)
    return format_html('<span class="text-secondary">{}</span>', empty) if empty else SafeString("")


@register.simple_tag
def tag_badges(tags: Any, empty: str = "") -> SafeString:
    """``badges`` in a template."""
    return badges(tags, empty)
