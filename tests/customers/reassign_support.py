"""Helpers for the reassignment tests (service, API and pages): many customers made fast, as
copies of one made through the services (so whatever a new customer gets, they have)."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType

from kehu.customers.models import Contact, Customer
from kehu.platform.models import AuditAction, AuditEntry


def copies(model: Any, template: Any, count: int, **changes: Any) -> list[Any]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    objs = []
    for index in range(count):
        obj = model(**{f.attname: getattr(template, f.attname) for f in fields})
        obj.number = f"{template.number}-{index:05d}"
        if "name" in {f.name for f in fields}:
            obj.name = f"{template.name} {index:05d}"
        for name, value in changes.items():
            setattr(obj, name, value(index) if callable(value) else value)
        objs.append(obj)
    return model.all_objects.bulk_create(objs, batch_size=500)


def many_customers(
    make_customer: Any, make_contact: Any, owner: Any, count: int, *, contacts: bool = True
) -> list[Any]:
    """``count`` customers of ``owner`` (in its team), each with one contact when ``contacts``."""
    template = make_customer(owner, name="Bulk")
    customers = [template, *copies(Customer, template, count - 1)]
    if contacts:
        contact = make_contact(owner, template, name="Contact")
        copies(Contact, contact, count - 1, customer_id=lambda index: customers[index + 1].pk)
    return customers


def ref(obj: Any) -> dict[str, Any]:
    return {"id": obj.pk, "repr": str(obj)}


def reassign_entries() -> Any:
    """The audit entries of customers' updates."""
    return AuditEntry.objects.filter(
        action=AuditAction.UPDATE, content_type=ContentType.objects.get_for_model(Customer)
    )
