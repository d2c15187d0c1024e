"""The form renderer writes select boxes in Python: the markup must be the templates'."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from kehu.platform.renderer import FormRenderer


def _both(widget: forms.Widget, name: str, value: object, attrs: dict | None = None) -> tuple[str, str]:
    return (
        widget.render(name, value, attrs=attrs, renderer=FormRenderer()),
        widget.render(name, value, attrs=attrs, renderer=DjangoTemplates()),
    )


CHOICES = [
    ("", "---------"),
    (1, "Zhang <San> & “Li”"),
    ("b", gettext_lazy("Active")),
    (Decimal("2.50"), mark_safe("<b>bold</b>")),
    ("Group", [("g1", "在组里"), ("g2", "quote \" and ' apostrophe")]),
    (datetime.date(2026, 1, 2), datetime.date(2026, 1, 2)),
]


@pytest.mark.parametrize(
    ("widget", "value"),
    [
        (forms.Select(choices=CHOICES), "b"),
        (forms.Select(choices=CHOICES), None),
        (forms.Select(choices=CHOICES, attrs={"class": "form-select", "data-x": 'a"b', "disabled": True}), 1),
        (forms.SelectMultiple(choices=CHOICES), ["g1", "b"]),
        (forms.SelectMultiple(choices=CHOICES, attrs={"required": False, "size": 5}), []),
        (forms.NullBooleanSelect(), True),
        (forms.Select(choices=[]), ""),
    ],
)
def test_selects_render_exactly_as_django_templates(widget: forms.Widget, value: object) -> None:
    ours, django = _both(widget, "field<name>", value, attrs={"id": "id_f"})
    assert ours == django


@pytest.mark.django_db
def test_zh_hans_labels_render_as_django_templates_do() -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        ours, django = _both(forms.NullBooleanSelect(), "flag", False)
    assert ours == django
    assert "否" in ours


def test_options_with_their_own_template_are_left_to_django() -> None:
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input.html"  # any other template

    ours, django = _both(Custom(choices=[("a", "A")]), "x", "a")
    assert ours == django
