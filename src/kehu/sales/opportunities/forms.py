from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.platform import money
from kehu.platform.forms import RecordForm
from kehu.sales.opportunities.models import Opportunity, Pipeline, PipelineStage, StageKind


def currency_choices() -> list[tuple[str, str]]:
    from kehu.platform.models import Currency

    return [
        (code, code) for code in Currency.objects.filter(active=True).order_by("code").values_list("code", flat=True)
    ]


class OpportunityForm(RecordForm):
    """Create and edit an opportunity. The pipeline and stage are chosen when it is created;
    later moves go through the board or the stage buttons (with the stage's requirements)."""

    class Meta:
        model = Opportunity
        fields = [
            "name",
            "customer",
            "contact",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "probability",
            "forecast_category",
            "expected_close_date",
            "source",
            "campaign",
            "needs",
            "next_step",
            "description",
            "owner",
            "team",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = currency_choices()
        self.fields["currency"] = forms.ChoiceField(
            label=_("currency"), choices=[("", "—"), *codes], required=False, initial=money.reporting_currency()
        )
        if self.instance.pk:
            self.fields.pop("pipeline", None)
            self.fields.pop("stage", None)
        else:
            pipeline = self.fields["pipeline"]
            pipeline.queryset = Pipeline.objects.filter(active=True)  # type: ignore[attr-defined]
            pipeline.required = False
            stage = self.fields["stage"]
            stage.queryset = PipelineStage.objects.filter(  # type: ignore[attr-defined]
                active=True, kind=StageKind.OPEN, pipeline__active=True
            ).select_related("pipeline")
            stage.label_from_instance = lambda s: f"{s.pipeline} · {s}"  # type: ignore[attr-defined]
            stage.required = False
            stage.help_text = _(
                "Where it starts (the pipeline's first stage if empty); later moves go through the board."
            )
        if self.instance.pk and self.instance.lines.exists():
            self.fields["amount"].disabled = True
            self.fields["amount"].help_text = _("The total of the product lines.")
            self.fields["currency"].disabled = True
