"""Model fields shared by record types."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.platform.phones import normalize_phone


class PhoneFormField(forms.CharField):
    def to_python(self, value: Any) -> str:
        return normalize_phone(super().to_python(value) or "")


class PhoneField(models.CharField):
    """A phone number normalized to E.164 on validation, so every path stores one form."""

    description = _("Phone number")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        return normalize_phone(super().to_python(value) or "")

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("form_class", PhoneFormField)
        return super().formfield(**kwargs)
