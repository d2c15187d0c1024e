"""Customers and contacts as record types of the spine."""

from __future__ import annotations

from kehu.customers import services
from kehu.customers.forms import ContactForm, CustomerForm
from kehu.customers.models import Contact, Customer
from kehu.platform.records import Child, RecordType, register

CUSTOMER = register(
    RecordType(
        model=Customer,
        key="customer",
        plural="customers",
        number_prefix="C",
        area="customers",
        form=CustomerForm,
        fields=[*CustomerForm.Meta.fields],
        list_columns=["number", "name", "kind", "industry", "city", "phone", "owner", "updated_at"],
        filter_fields=["kind", "industry", "size", "source", "city", "province", "owner", "team", "phone", "email"],
        search_fields=["name", "number", "email", "phone", "city"],
        search_extra=["industry", "website", "country", "province", "district", "street", "notes"],
        sortable=["number", "name", "kind", "industry", "city", "created_at", "updated_at", "owner"],
        bulk_fields=["owner", "team", "industry", "size", "source"],
        children=[Child(key="contact", fk="customer")],
        after_save=services.customer_after_save,
        select_related=["owner", "team"],
        icon="ti-building",
    )
)

CONTACT = register(
    RecordType(
        model=Contact,
        key="contact",
        plural="contacts",
        number_prefix="P",
        area="customers",
        form=ContactForm,
        fields=[*ContactForm.Meta.fields],
        list_columns=["number", "name", "customer", "title", "mobile", "email", "is_primary", "updated_at"],
        filter_fields=["customer", "department", "is_primary", "mobile", "phone", "email"],
        search_fields=["name", "number", "email", "mobile", "phone", "wechat"],
        search_extra=["title", "department", "notes"],
        search_parent="customer",
        sortable=["number", "name", "title", "created_at", "updated_at"],
        bulk_fields=["department", "title"],
        visibility_via="customer",
        prepare=services.contact_prepare,
        after_save=services.contact_after_save,
        select_related=["customer", "owner"],
        icon="ti-address-book",
    )
)
