from __future__ import annotations

from django import forms

from kehu.customers.models import Contact, Customer
from kehu.platform.forms import RecordForm


class CustomerForm(RecordForm):
    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "industry",
            "size",
            "source",
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
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = [
            "customer",
            "name",
            "title",
            "department",
            "mobile",
            "phone",
            "email",
            "wechat",
            "is_primary",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
