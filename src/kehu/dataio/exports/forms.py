from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.platform.widgets import record_picker

MAX_VCARD_BYTES = 10 * 1024 * 1024  # a phone's whole address book is a few megabytes


class VCardImportForm(forms.Form):
    file = forms.FileField(
        label=_("vCard file"),
        help_text=_("A .vcf file with one or many cards (vCard 2.1, 3.0 or 4.0; UTF-8 or GB18030)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".vcf,.vcard,text/vcard,text/x-vcard"}),
    )
    customer: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=None,
        required=False,
        empty_label=_("The customer named in each card (ORG)"),
        help_text=_(
            "Every card becomes a contact of this customer; left empty, each card goes to the customer "
            "named exactly as the card's company."
        ),
    )

    def __init__(self, *args: Any, customers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        record_picker(self.fields["customer"], "customers")  # type: ignore[arg-type]  # a search box past a hundred
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_VCARD_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return upload
