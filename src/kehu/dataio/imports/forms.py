"""The import wizard's forms: the upload (record type, file) and the column mapping (a field
per column, how duplicates are found and handled, saving the mapping under a name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.dataio.imports.models import MatchOn, OnDuplicate
from kehu.dataio.imports.services import max_upload_bytes
from kehu.platform.records import RecordType

UPLOAD_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx")
LEAVE_OUT = ""


def too_large_message(size: int | None = None) -> str:
    limit = filesizeformat(max_upload_bytes())
    if size is None:
        return _("The file is larger than %(limit)s, the most an import takes.") % {"limit": limit}
    return _("The file is %(size)s; an import takes at most %(limit)s.") % {
        "size": filesizeformat(size),
        "limit": limit,
    }


class UploadForm(forms.Form):
    record_type = forms.ChoiceField(label=gettext_lazy("What the file holds"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV, TSV or TXT in any encoding (UTF-8, GBK/GB18030, …), or an Excel workbook (XLSX)."),
    )

    def __init__(self, *args: Any, types: Sequence[RecordType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        record_type = cast("forms.ChoiceField", self.fields["record_type"])
        record_type.choices = [(rt.key, capfirst(str(rt.label_plural))) for rt in types]
        self.fields["file"].widget.attrs["accept"] = ",".join(UPLOAD_EXTENSIONS)
        limit = _("At most %(limit)s.") % {"limit": filesizeformat(max_upload_bytes())}
        self.fields["file"].help_text = f"{self.fields['file'].help_text} {limit}"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > max_upload_bytes():
            raise forms.ValidationError(too_large_message(upload.size))
        name = (upload.name or "").lower()
        if not name.endswith(UPLOAD_EXTENSIONS):
            raise forms.ValidationError(
                _("Kehu imports CSV, TSV, TXT and XLSX files; save the sheet in one of these formats first.")
            )
        return upload


class MappingForm(forms.Form):
    """One select per column (``col_<index>``), preselected with the job's mapping."""

    match_on = forms.MultipleChoiceField(
        label=gettext_lazy("Find duplicates by"),
        choices=MatchOn.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    on_duplicate = forms.ChoiceField(
        label=gettext_lazy("When a row matches an existing record"),
        choices=OnDuplicate.choices,
        widget=forms.RadioSelect,
    )
    save_as = forms.CharField(label=gettext_lazy("Save this mapping as"), max_length=100, required=False)
    shared = forms.BooleanField(label=gettext_lazy("Share with everyone"), required=False)

    def __init__(
        self,
        *args: Any,
        headers: Sequence[str],
        fields: Sequence[Any],
        samples: Sequence[Sequence[str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        self.import_fields = list(fields)
        choices = [(LEAVE_OUT, _("— leave out —"))]
        for field in self.import_fields:
            label = str(field.label)
            choices.append((field.name, f"{label} *" if field.required else label))
        self.columns: list[dict[str, Any]] = []
        for index, header in enumerate(self.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(label=header or _("(no header)"), choices=choices, required=False)
            self.fields[name].widget.attrs.update({"data-header": header})
            self.columns.append(
                {"name": name, "header": header, "samples": samples[index] if index < len(samples) else []}
            )

    def column_fields(self) -> list[dict[str, Any]]:
        """The columns with their bound select, for the template."""
        return [{**column, "field": self[column["name"]]} for column in self.columns]

    def mapping(self) -> dict[str, str]:
        """header → field name ("" for a column left out)."""
        return {header: self.cleaned_data.get(f"col_{index}") or LEAVE_OUT for index, header in enumerate(self.headers)}

    def column_of(self, header: str) -> str | None:
        """The select that shows ``header``'s errors."""
        for index, name in enumerate(self.headers):
            if name == header:
                return f"col_{index}"
        return None

    def column_for_field(self, field_name: str) -> str | None:
        """The select currently mapped to ``field_name`` (errors keyed by a field name)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        for index in range(len(self.headers)):
            if data.get(f"col_{index}") == field_name:
                return f"col_{index}"
        return None

    @staticmethod
    def initial_for(
        mapping: dict[str, str], headers: Sequence[str], match_on: Any, on_duplicate: str
    ) -> dict[str, Any]:
        initial: dict[str, Any] = {f"col_{i}": mapping.get(header, LEAVE_OUT) for i, header in enumerate(headers)}
        initial["match_on"] = list(match_on or [])
        initial["on_duplicate"] = on_duplicate or OnDuplicate.SKIP
        return initial
