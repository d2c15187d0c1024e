"""Template helpers for custom fields in record forms."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.platform.customfields.forms import form_sections

register = template.Library()


@register.simple_tag
def custom_form_sections(form: Any) -> list[tuple[str, list[Any]]]:
    """A record form's custom fields by section (``[(title, [bound field, …]), …]``)."""
    return form_sections(form, getattr(form, "custom_names", []))
