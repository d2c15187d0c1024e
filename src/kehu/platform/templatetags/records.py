from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict

from kehu.platform import display

register = template.Library()


@register.simple_tag
def record_value(obj: Any, name: str) -> str:
    return display.display_value(obj, name)


@register.simple_tag
def field_label(rt: Any, name: str) -> str:
    return display.field_label(rt, name)


@register.simple_tag(takes_context=True)
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters replaced (``None`` removes one)."""
    query: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
