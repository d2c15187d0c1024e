"""The base form for record types: choices limited to what the user may see, ownership
fields only for those who may reassign, and the version for concurrent-edit detection."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from kehu.platform import tags as record_tags
from kehu.platform.access import can_reassign, visible_to
from kehu.platform.context import Context
from kehu.platform.customfields import forms as custom_form_fields
from kehu.platform.records import registry, related_model
from kehu.platform.widgets import record_picker


class RecordForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, ctx: Context, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx = ctx
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
        if not can_reassign(ctx):
            for name in ("owner", "team"):
                self.fields.pop(name, None)
        for name, field in self.fields.items():
            if not isinstance(field, forms.ModelChoiceField):
                continue
            model_field = self._meta.model._meta.get_field(name)
            # foreign keys and many-to-many fields (a multiple select) alike
            linked = isinstance(model_field, models.ForeignKey | models.ManyToManyField)
            target = related_model(model_field) if linked else None
            if target is None:
                continue
            target_type = registry.for_model_or_none(target)
            if target_type is not None:
                record_picker(field, target_type.plural)  # a search box past a hundred records
                field.queryset = visible_to(ctx.user, target._default_manager.all(), target_type)
            elif target._meta.label == "accounts.User":
                field.queryset = target._default_manager.filter(is_active=True)
        record_tags.add_form_fields(self)  # tags (and new tag names for users who may add tags)
        self.custom_names = custom_form_fields.add_record_form_fields(self)  # "custom.<name>", after the rest

    def service_data(self) -> dict[str, Any]:
        """The cleaned values for the service (the version travels separately)."""
        data = {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "version" and name not in record_tags.FORM_FIELDS and name not in self.custom_names
        }
        return {**data, **record_tags.form_data(self), **custom_form_fields.record_form_data(self)}
