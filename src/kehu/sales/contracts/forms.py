from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.platform.forms import RecordForm
from kehu.sales.contracts.models import Contract, ContractStatus, Order, OrderStatus, Payment

DATE = {"type": "date"}


def currency_choices() -> list[tuple[str, str]]:
    from kehu.platform.models import Currency

    return [(c.code, f"{c.code} · {c.display_name}") for c in Currency.objects.filter(active=True).order_by("code")]


def setup_currency(form: Any) -> None:
    """The form's currency as a choice of the active currencies, the reporting one by default."""
    from kehu.platform import money

    field = form.fields.get("currency")
    if field is None:
        return
    choices = currency_choices()
    current = getattr(form.instance, "currency", "")
    if current and current not in dict(choices):
        choices.append((current, current))
    form.fields["currency"] = forms.ChoiceField(
        label=field.label, choices=[("", "—"), *choices], required=False, help_text=field.help_text
    )
    if not current:
        form.initial.setdefault("currency", money.reporting_currency())


class ContractForm(RecordForm):
    class Meta:
        model = Contract
        fields = [
            "customer",
            "opportunity",
            "title",
            "signed_date",
            "start_date",
            "end_date",
            "amount",
            "currency",
            "terms",
            "owner",
            "team",
        ]
        widgets = {
            "terms": forms.Textarea(attrs={"rows": 5}),
            "signed_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "start_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
            "end_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setup_currency(self)


class OrderForm(RecordForm):
    class Meta:
        model = Order
        fields = ["customer", "contract", "opportunity", "order_date", "currency", "notes", "owner", "team"]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "order_date": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setup_currency(self)
        if "contract" in self.fields:
            self.fields["contract"].required = False


class PaymentForm(RecordForm):
    class Meta:
        model = Payment
        fields = [
            "contract",
            "order",
            "received_on",
            "amount",
            "currency",
            "method",
            "reference",
            "invoice_number",
            "notes",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "received_on": forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
        }
        help_texts = {"currency": _("The currency of the contract or order; leave empty to use it.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("contract", "order"):
            field = self.fields.get(name)
            if field is not None:
                queryset = field.queryset  # type: ignore[attr-defined]
                booked = (
                    queryset.exclude(status__in=[ContractStatus.DRAFT, ContractStatus.UNDER_APPROVAL])
                    if name == "contract"
                    else queryset.filter(
                        status__in=[OrderStatus.CONFIRMED, OrderStatus.FULFILLED], contract__isnull=True
                    )
                )
                field.queryset = booked.select_related("customer")  # type: ignore[attr-defined]


class TransitionForm(forms.Form):
    status = forms.CharField(max_length=16)
    reason = forms.CharField(max_length=500, required=False)
    version = forms.IntegerField(required=False)


class PlanSplitForm(forms.Form):
    count = forms.IntegerField(label=_("Instalments"), min_value=1, max_value=240, initial=3)
    first_due = forms.DateField(label=_("First due on"), widget=forms.DateInput(attrs=DATE))
    every_months = forms.IntegerField(label=_("Every (months)"), min_value=1, max_value=24, initial=1)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class CreditForm(forms.Form):
    credit_limit = forms.DecimalField(
        label=_("Credit limit"), max_digits=18, decimal_places=2, min_value=0, required=False
    )
    credit_rating = forms.ChoiceField(
        label=_("Credit rating"), required=False, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from kehu.customers.models import CreditRating

        super().__init__(*args, **kwargs)
        self.fields["credit_rating"].choices = [("", "—"), *CreditRating.choices]  # type: ignore[attr-defined]
