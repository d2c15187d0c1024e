from __future__ import annotations

from typing import Any

from django import template

from kehu.platform.templatetags.amounts import amount

register = template.Library()
register.filter("amount", amount)  # the contract pages load this library for both


@register.filter
def bucket(buckets: dict[str, Any], name: str) -> Any:
    return buckets.get(name)
