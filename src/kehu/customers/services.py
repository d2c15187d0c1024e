"""Customer and contact rules on top of the platform's generic write path."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from kehu.customers.models import Contact, Customer
from kehu.platform import audit as audit_log
from kehu.platform import services as record_services
from kehu.platform.context import Context
from kehu.platform.models import AuditAction, AuditEntry


def contact_prepare(contact: Contact, ctx: Context, is_new: bool) -> None:
    """A contact belongs to its customer's owner and team (and is visible with it)."""
    if contact.customer_id is not None:
        contact.owner_id = contact.customer.owner_id
        contact.team_id = contact.customer.team_id


def contact_after_save(contact: Contact, ctx: Context, is_new: bool) -> None:
    """One primary contact per customer: choosing a new one demotes the previous."""
    if not contact.is_primary:
        return
    others = list(Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(pk=contact.pk))
    if not others:
        return
    now = timezone.now()
    for other in others:
        other.is_primary, other.version, other.updated_at, other.updated_by = False, other.version + 1, now, ctx.user
    Contact.all_objects.bulk_update(others, ["is_primary", "version", "updated_at", "updated_by"])
    AuditEntry.objects.bulk_create(
        audit_log.entry_for(ctx, AuditAction.UPDATE, other, changes={"is_primary": [True, False]}) for other in others
    )


def customer_after_save(customer: Customer, ctx: Context, is_new: bool) -> None:
    """Contacts follow their customer to a new owner or team."""
    if is_new:
        return
    Contact.all_objects.filter(customer_id=customer.pk).exclude(
        owner_id=customer.owner_id, team_id=customer.team_id
    ).update(owner_id=customer.owner_id, team_id=customer.team_id)


def customer_create(*, ctx: Context, data: dict[str, Any]) -> Customer:
    """Create a customer. Raises PermissionDenied, ValidationError."""
    from kehu.customers.records import CUSTOMER

    return record_services.record_create(CUSTOMER, ctx=ctx, data=data)


def customer_update(*, ctx: Context, customer: Customer, data: dict[str, Any], version: int | None = None) -> Customer:
    """Change a customer. Raises PermissionDenied, ValidationError, StaleVersion."""
    from kehu.customers.records import CUSTOMER

    return record_services.record_update(CUSTOMER, ctx=ctx, obj=customer, data=data, version=version)


def contact_create(*, ctx: Context, data: dict[str, Any]) -> Contact:
    """Create a contact of a customer the actor can see. Raises PermissionDenied, ValidationError."""
    from kehu.customers.records import CONTACT

    return record_services.record_create(CONTACT, ctx=ctx, data=data)
