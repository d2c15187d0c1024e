"""The form renderer (``FORM_RENDERER``): Django's template renderer, with select boxes written
in Python.

A list page's filter panel holds a few hundred options (owners, teams, stages, tags, …) and
Django's ``select.html`` includes two templates per option (``select_option.html`` and
``attrs.html``): rendering them was a third of a filtered list page's time. ``FormRenderer``
writes those selects itself, with the markup the templates give (a test compares the two),
and leaves every other template, and any select whose options use another template, to
Django."""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


_CONTEXT = Context()  # autoescape, localization and time zone as in the templates


def _text(value: Any) -> str:
    """``{{ value }}``: localized and escaped."""
    return render_value_in_context(value, _CONTEXT)


def _attrs(attrs: dict[str, Any]) -> str:
    """``attrs.html``: `` name="value"`` per attribute (``stringformat:'s'``, escaped), the bare
    name for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_text(name)}" if value is True else f' {_text(name)}="{conditional_escape(value)}"')
    return "".join(parts)


def render_select(widget: dict[str, Any]) -> SafeString:
    """``select.html`` for a widget context whose options all use ``select_option.html``."""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            parts.append(
                f'\n  <option value="{conditional_escape(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"  # the option template's last line break
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308  (every value above is escaped)


class FormRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name == SELECT:
            widget = context["widget"]
            if all(
                option["template_name"] == OPTION for _name, options, _i in widget["optgroups"] for option in options
            ):
                return render_select(widget)
        return super().render(template_name, context, request)
