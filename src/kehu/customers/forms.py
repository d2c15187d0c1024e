from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Contact, Customer, Grade, LifecycleStage, Need
from kehu.platform.forms import RecordForm

DATE_WIDGET = {"type": "date"}


class GradeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        description = obj.display_description
        return f"{obj.name} · {description}" if description else obj.name


class CustomerForm(RecordForm):
    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "stage",
            "grade",
            "parent",
            "industry",
            "size",
            "source",
            "credit_rating",
            "phone",
            "email",
            "website",
            "country",
            "province",
            "city",
            "district",
            "street",
            "postal_code",
            "notes",
            "owner",
            "team",
        ]
        field_classes = {"grade": GradeChoiceField}
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The stage changes only through the lifecycle (with a reason), never in the form.
            self.fields.pop("stage", None)
            if "parent" in self.fields:
                parent = self.fields["parent"]
                parent.queryset = parent.queryset.exclude(pk=self.instance.pk)  # type: ignore[attr-defined]
        elif "stage" in self.fields:
            stage = self.fields["stage"]
            stage.queryset = LifecycleStage.objects.filter(is_active=True)  # type: ignore[attr-defined]
            stage.required = False
            stage.help_text = _("Where the customer starts; later changes go through the lifecycle with a reason.")
        if "grade" in self.fields:
            self.fields["grade"].queryset = Grade.objects.all()  # type: ignore[attr-defined]

    def clean_stage(self) -> Any:
        return self.cleaned_data.get("stage") or None

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        if "stage" in data and data["stage"] is None:
            del data["stage"]  # the default: the first active stage
        return data


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = [
            "customer",
            "name",
            "title",
            "department",
            "decision_role",
            "reports_to",
            "mobile",
            "phone",
            "email",
            "wechat",
            "qq",
            "linkedin",
            "other_accounts",
            "birthday",
            "is_primary",
            "preferred_channel",
            "best_time",
            "do_not_contact",
            "do_not_contact_reason",
            "notes",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "birthday": forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("reports_to")
        if field is None:
            return
        customer = self.instance.customer_id or self.initial.get("customer") or self.data.get("customer")
        queryset = field.queryset  # type: ignore[attr-defined]
        if customer and str(customer).isdigit():  # only people at the same customer
            queryset = queryset.filter(customer_id=int(customer))
        if self.instance.pk:
            queryset = queryset.exclude(pk=self.instance.pk)
        field.queryset = queryset  # type: ignore[attr-defined]


class NeedForm(RecordForm):
    class Meta:
        model = Need
        fields = [
            "customer",
            "kind",
            "title",
            "description",
            "product",
            "priority",
            "status",
            "due_date",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "due_date": forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        }
