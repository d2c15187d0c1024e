from __future__ import annotations

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kehu.platform.records import registry


def scope_choices() -> list[tuple[str, str | Promise]]:
    choices: list[tuple[str, str | Promise]] = [
        ("read", _("Read everything")),
        ("write", _("Read and write everything")),
    ]
    for area in registry.areas():
        choices.append((f"{area}:read", _("%(area)s: read") % {"area": registry.area_label(area)}))
        choices.append((f"{area}:write", _("%(area)s: read and write") % {"area": registry.area_label(area)}))
    return choices


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False, help_text=_("What the token is for."))
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=scope_choices, widget=forms.CheckboxSelectMultiple, initial=["read"]
    )
    expires_days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Leave empty for a token that does not expire."),
    )
