from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.platform.context import Source
from kehu.platform.models import AuditAction
from kehu.platform.records import registry


def _record_types() -> list[tuple[str, Any]]:
    return [("", _("Any record type")), *((rt.key, rt.label) for rt in registry)]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("User"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False, choices=[("", _("Any action")), *AuditAction.choices])
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("Any source")), *Source.choices])
    record_type = forms.ChoiceField(label=_("Record type"), required=False, choices=_record_types)
    record = forms.CharField(label=_("Record"), required=False)
    ip = forms.GenericIPAddressField(label=_("Client address"), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
