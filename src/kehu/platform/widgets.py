"""Form widgets of the spine.

``RecordPicker``: the select of a link to another record (a contact's customer, an order's
contract, a list filtered by customer). With a handful of records to choose from it is a plain
select; past ``PICKER_LIMIT`` it holds only the chosen record and the page's script adds a
search box that asks the record type's lookup (``<plural>/lookup/?q=``, the records the user
may see, found like the list's search) — a select of every customer a manager may see was a
page of 100,000 options. The field still checks the value against its own queryset."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

PICKER_LIMIT = 100  # more records than this to choose from: search instead of listing them


class RecordPicker(forms.Select):
    def __init__(self, plural: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.plural = plural  # the target record type's URL name prefix

    def _options(self) -> tuple[list[Any], bool]:
        """The choices to list and whether the user searches instead: every choice when there
        are at most ``PICKER_LIMIT`` (fetched once, in one query of at most limit + 1 rows)."""
        iterator: Any = self.choices
        queryset = getattr(iterator, "queryset", None)
        if queryset is None:  # plain choices, not a model choice field's
            return list(iterator), False
        empty = [("", iterator.field.empty_label)] if iterator.field.empty_label is not None else []
        rows = list(queryset[: PICKER_LIMIT + 1])
        if len(rows) <= PICKER_LIMIT:
            return [*empty, *(iterator.choice(obj) for obj in rows)], False
        return empty, True

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        choices, searching = self._options()
        if searching:
            chosen = [v for v in self.format_value(value) if v]
            if chosen:
                iterator: Any = self.choices
                field = iterator.field
                key = field.to_field_name or "pk"
                try:
                    found = list(iterator.queryset.filter(**{f"{key}__in": chosen}))
                except (ValueError, TypeError):  # a value that is no key: nothing to show
                    found = []
                choices = [*choices, *(iterator.choice(obj) for obj in found)]
            try:
                url = reverse(f"{self.plural}_lookup")
            except NoReverseMatch:
                url = ""
            if url:
                attrs = {
                    **(attrs or {}),
                    "data-kehu-picker": url,
                    "data-kehu-picker-placeholder": _("Type to search…"),
                    "data-kehu-picker-empty": _("No matches."),
                }
        listed = self.choices
        self.choices = choices
        try:
            return super().get_context(name, value, attrs)
        finally:
            self.choices = listed


def record_picker(field: forms.ModelChoiceField, plural: str) -> None:
    """Give ``field`` (a model choice field whose queryset is set after) a ``RecordPicker``."""
    if isinstance(field, forms.ModelMultipleChoiceField) or not isinstance(field.widget, forms.Select):
        return  # multiple choices, check boxes and hidden inputs keep their widget
    picker = RecordPicker(plural, attrs=dict(field.widget.attrs))
    picker.is_required = field.widget.is_required
    picker.choices = field.widget.choices
    field.widget = picker
