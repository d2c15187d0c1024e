"""Tag fields for forms and list filters: the tag picker, the tags / tags_match filter
every record list gets (web, export and API alike)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.utils.choices import CallableChoiceIterator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.platform.models import Tag
from kehu.platform.records import RecordType, registry
from kehu.platform.tags.services import (
    DEFAULT_COLOR,
    MATCH_ALL,
    MATCH_ANY,
    MAX_TAGS,
    NAME_MAX_LENGTH,
    can_tag,
    clean_name,
    find_by_names,
    safe_color,
    tags_for,
    text_color,
    through_table,
)

# ---------------------------------------------------------------- list filter


class TagNamesWidget(forms.SelectMultiple):
    """Tag names from repeated parameters (the web list's multiple choice) or from one
    comma-separated value (the API and saved links)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if values is None:
            return None
        if isinstance(values, str):
            values = [values]
        return [part.strip() for value in values for part in str(value).split(",") if part.strip()]

    def format_value(self, value: Any) -> list[str]:  # type: ignore[override]
        if value is None:
            return []
        if isinstance(value, str):
            value = value.split(",")
        return [str(getattr(item, "name", item)).strip() for item in value]


class TagNamesField(forms.Field):
    """Names of tags usable on one record type → those tags; an unknown name is an error."""

    widget = TagNamesWidget

    def __init__(self, *, record_type: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.record_type = record_type
        self.widget.choices = CallableChoiceIterator(self._choices)  # type: ignore[attr-defined]

    def _choices(self) -> list[tuple[str, str]]:
        return [(tag.name, tag.name) for tag in tags_for(self.record_type)]

    def to_python(self, value: Any) -> list[str]:
        if value in self.empty_values:
            return []
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        names: list[str] = []
        for item in items:
            name = " ".join(str(item).split())
            if name and name.casefold() not in {n.casefold() for n in names}:
                names.append(name)
        return names

    def clean(self, value: Any) -> list[Tag]:
        names = self.to_python(value)
        if len(names) > MAX_TAGS:
            raise ValidationError(_("Give at most %(max)d tags.") % {"max": MAX_TAGS})
        for name in names:
            clean_name(name)  # no query with a value no tag can have (NUL, too long)
        found = find_by_names(registry[self.record_type], names)
        unknown = [name for name in names if name.casefold() not in found]
        if unknown:
            raise ValidationError(_("Unknown tags: %(names)s.") % {"names": ", ".join(unknown)})
        return [found[name.casefold()] for name in names]


class TagMatchField(forms.ChoiceField):
    """``any`` (the default, also when empty) or ``all``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("", _("Any of the tags")), (MATCH_ALL, _("All of the tags"))])
        super().__init__(**kwargs)

    def valid_value(self, value: Any) -> bool:
        return value == MATCH_ANY or super().valid_value(value)


class TagsFilter(django_filters.Filter):
    """Records carrying any (or, with ``tags_match=all``, all) of the given tags."""

    field_class = TagNamesField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if not value:
            return qs
        match = MATCH_ANY
        parent = getattr(self, "parent", None)
        if parent is not None and parent.form.is_valid():
            match = parent.form.cleaned_data.get("tags_match") or MATCH_ANY
        return filter_by_tags(registry.for_model(qs.model), qs, value, match=match)


class TagMatchFilter(django_filters.Filter):
    """How ``tags`` combines; read by TagsFilter, filters nothing itself."""

    field_class = TagMatchField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        return qs


def filter_by_tags(rt: RecordType, queryset: QuerySet, tags: Iterable[Tag], *, match: str = MATCH_ANY) -> QuerySet:
    """``queryset`` limited to records with any (or all) of ``tags``: one subquery on the
    link table, so counting and paging stay plain (no DISTINCT)."""
    ids = {tag.pk for tag in tags}
    if not ids:
        return queryset
    through, column = through_table(rt)
    links = through.objects.filter(tag_id__in=ids)
    if match == MATCH_ALL and len(ids) > 1:
        links = links.values(column).annotate(n=Count("tag_id", distinct=True)).filter(n=len(ids))
    return queryset.filter(pk__in=links.values(column))


def list_filters(rt: RecordType) -> dict[str, django_filters.Filter]:
    """The ``tags`` and ``tags_match`` filters every record type's filterset gets."""
    return {
        "tags": TagsFilter(label=gettext_lazy("Tags"), record_type=rt.key),
        "tags_match": TagMatchFilter(label=gettext_lazy("Tags must match")),
    }


def with_tags(queryset: QuerySet, columns: Iterable[str]) -> QuerySet:
    """Fetch the tags of the listed rows in one query when the ``tags`` column is shown."""
    return queryset.prefetch_related("tags") if "tags" in columns else queryset


# ---------------------------------------------------------------- forms

FORM_FIELDS = ("tags", "new_tags")


class TagPicker(forms.widgets.ChoiceWidget):
    """Tags as coloured toggles (check boxes underneath): one tap each, fine on a phone."""

    allow_multiple_selected = True
    input_type = "checkbox"
    template_name = "platform/widgets/tag_picker.html"
    option_template_name = "platform/widgets/tag_picker_option.html"
    use_fieldset = True

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        tag = getattr(option["value"], "instance", None)
        color = safe_color(tag.color if tag is not None else DEFAULT_COLOR)
        option["tag_color"], option["tag_text"] = color, text_color(color)
        option["attrs"].pop("class", None)  # crispy's form-control is for the group, not each box
        return option

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return id_ if index is None else f"{id_}_{index}"

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # an unticked group sends nothing, which means "no tags"


def tag_choice_field(rt: RecordType, queryset: QuerySet[Tag] | None = None, **kwargs: Any) -> forms.Field:
    kwargs.setdefault("label", _("Tags"))
    return forms.ModelMultipleChoiceField(
        queryset=tags_for(rt) if queryset is None else queryset, required=False, widget=TagPicker, **kwargs
    )


def new_tags_field() -> forms.Field:
    return forms.CharField(
        label=_("New tags"),
        required=False,
        max_length=(NAME_MAX_LENGTH + 2) * MAX_TAGS,
        help_text=_("Names of tags to create, separated by commas."),
    )


def add_form_fields(form: Any) -> None:
    """Give a record form its ``tags`` field (the tags usable on its type) and, for users who
    may create tags, ``new_tags``."""
    rt = registry.for_model_or_none(form._meta.model)
    if rt is None:
        return
    form.fields["tags"] = tag_choice_field(rt)
    if form.instance.pk and not form.is_bound:
        form.initial["tags"] = [tag.pk for tag in form.instance.tags.all()]
    if can_tag(form.ctx, "add", rt.key):
        form.fields["new_tags"] = new_tags_field()


def form_data(form: Any) -> dict[str, Any]:
    """``{"tags": [...]}`` for the service from a form with a tags field (chosen tags and
    new names); empty for a form without one."""
    if "tags" not in form.fields:
        return {}
    chosen: list[Any] = list(form.cleaned_data.get("tags") or [])
    new = form.cleaned_data.get("new_tags") or ""
    return {"tags": [*chosen, *(name for name in new.split(",") if name.strip())]}
