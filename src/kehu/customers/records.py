"""Customers, contacts and needs as record types of the spine."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.customers import services
from kehu.customers.forms import ContactForm, CustomerForm, NeedForm
from kehu.customers.models import Contact, Customer, Need
from kehu.customers.pages import customer_page_context
from kehu.platform import timeline
from kehu.platform.records import Child, Panel, RecordType, register, registry

CUSTOMER = register(
    RecordType(
        model=Customer,
        key="customer",
        plural="customers",
        number_prefix="C",
        area="customers",
        form=CustomerForm,
        # the stage is set when a customer is created, then only by customers.lifecycle
        fields=[name for name in CustomerForm.Meta.fields if name != "stage"],
        create_only=["stage"],
        system_fields=["grade_source", "credit_limit"],
        list_columns=["number", "name", "kind", "stage", "grade", "industry", "city", "phone", "owner", "updated_at"],
        filter_fields=[
            "kind",
            "stage",
            "grade",
            "industry",
            "size",
            "source",
            "credit_rating",
            "city",
            "province",
            "owner",
            "team",
            "phone",
            "email",
        ],
        search_fields=["name", "number", "email", "phone", "city"],
        search_extra=["industry", "website", "country", "province", "district", "street", "notes"],
        sortable=["number", "name", "kind", "stage", "grade", "industry", "city", "created_at", "updated_at", "owner"],
        bulk_fields=["owner", "team", "grade", "industry", "size", "source"],
        children=[Child(key="contact", fk="customer")],
        prepare=services.customer_prepare,
        after_save=services.customer_after_save,
        after_bulk_create=services.customers_after_bulk_create,
        select_related=["owner", "team", "stage", "grade"],
        icon="ti-building",
        timeline=True,
        detail_template="customers/customer_detail.html",
        detail_context=customer_page_context,
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
        list_columns=[
            "number",
            "name",
            "customer",
            "title",
            "decision_role",
            "mobile",
            "email",
            "is_primary",
            "updated_at",
        ],
        filter_fields=[
            "customer",
            "department",
            "decision_role",
            "is_primary",
            "do_not_contact",
            "preferred_channel",
            "mobile",
            "phone",
            "email",
        ],
        search_fields=["name", "number", "email", "mobile", "phone", "wechat"],
        search_extra=["title", "department", "qq", "other_accounts", "notes"],
        search_parent="customer",
        sortable=["number", "name", "title", "decision_role", "birthday", "created_at", "updated_at"],
        bulk_fields=["department", "title"],
        visibility_via="customer",
        prepare=services.contact_prepare,
        after_save=services.contact_after_save,
        select_related=["customer", "owner"],
        icon="ti-address-book",
    )
)

NEED = register(
    RecordType(
        model=Need,
        key="need",
        plural="needs",
        number_prefix="N",
        area="customers",
        form=NeedForm,
        fields=[*NeedForm.Meta.fields],
        list_columns=["number", "title", "customer", "kind", "priority", "status", "due_date", "updated_at"],
        filter_fields=["customer", "kind", "priority", "status", "product", "owner", "team"],
        search_fields=["title", "number", "product"],
        search_extra=["description"],
        search_title="title",
        search_parent="customer",
        sortable=["number", "title", "kind", "priority", "status", "due_date", "created_at", "updated_at"],
        bulk_fields=["status", "priority"],
        visibility_via="customer",
        prepare=services.need_prepare,
        select_related=["customer", "owner"],
        icon="ti-bulb",
        in_nav=False,
    )
)
registry.add_child("customer", Child(key="need", fk="customer"))

# The lifecycle box on the customer page: the stage bar, the change form and the history.
registry.add_panel(
    "customer", Panel(key="lifecycle", title=_("Lifecycle"), url_name="customer_lifecycle", icon="ti-stairs")
)

timeline.register(
    timeline.Source(
        record_type="need",
        kind="need",
        label=_("Needs"),
        icon="ti-bulb",
        subjects=lambda need: [("customer", need.customer_id)],
        occurred_at=lambda need: need.created_at,
        title=lambda need: need.title,
        summary=lambda need: need.description[:300],
    )
)
