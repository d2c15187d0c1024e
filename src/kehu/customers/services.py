"""Customer and contact rules on top of the platform's generic write path."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.customers.models import DEFAULT_STAGE, Contact, Customer, GradeSource, Need, default_stage_key
from kehu.platform import audit as audit_log
from kehu.platform import services as record_services
from kehu.platform.context import Context
from kehu.platform.models import AuditAction, AuditEntry

# How far up a chain of parents (companies, managers) the cycle checks look.
MAX_DEPTH = 100


def _follows_customer(record: Contact | Need) -> None:
    """A contact or need belongs to its customer's owner and team (and is visible with it)."""
    if record.customer_id is not None:
        record.owner_id = record.customer.owner_id
        record.team_id = record.customer.team_id


def _ancestors(model: Any, fk: str, start: int | None) -> list[int]:
    """The chain of ``fk`` parents from ``start`` upwards (trash included), one query a step."""
    chain: list[int] = []
    current = start
    while current is not None and current not in chain and len(chain) < MAX_DEPTH:
        chain.append(current)
        current = model.all_objects.filter(pk=current).values_list(f"{fk}_id", flat=True).first()
    return chain


def contact_prepare(contact: Contact, ctx: Context, is_new: bool) -> None:
    """A contact follows its customer's owner and team; the person it reports to works at the
    same customer, and the reporting line has no loop."""
    _follows_customer(contact)
    if contact.reports_to is None:
        return
    if contact.pk is not None and contact.reports_to_id == contact.pk:
        raise ValidationError({"reports_to": _("A contact cannot report to themselves.")})
    if contact.reports_to.customer_id != contact.customer_id:
        raise ValidationError({"reports_to": _("Choose a contact at the same customer.")})
    if contact.pk is not None and contact.pk in _ancestors(Contact, "reports_to", contact.reports_to_id):
        raise ValidationError(
            {
                "reports_to": _("%(name)s already reports to this contact (directly or through others).")
                % {"name": contact.reports_to.name}
            }
        )


def customer_prepare(customer: Customer, ctx: Context, is_new: bool) -> None:
    """A grade given by a person is a manual grade; a new customer starts at an active stage;
    a parent company is another customer and the group has no loop."""
    if customer.grade_id != getattr(customer, "_kehu_loaded_grade", None):
        customer.grade_source = GradeSource.MANUAL
    if is_new and customer.stage_id is not None and not customer.stage.is_active:
        if customer.stage_id != DEFAULT_STAGE:
            raise ValidationError({"stage": _("The stage %(stage)s is no longer used.") % {"stage": customer.stage}})
        customer.stage_id = default_stage_key()  # the default stage was deactivated: the first active one
    if customer.parent is None:
        return
    if customer.pk is not None and customer.parent_id == customer.pk:
        raise ValidationError({"parent": _("A customer cannot be its own parent company.")})
    if customer.pk is not None and customer.pk in _ancestors(Customer, "parent", customer.parent_id):
        raise ValidationError(
            {
                "parent": _("%(name)s belongs to this customer's group already; it cannot also be its parent.")
                % {"name": customer.parent.name}
            }
        )


def need_prepare(need: Need, ctx: Context, is_new: bool) -> None:
    _follows_customer(need)


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
    """A new customer's first lifecycle transition; contacts and needs follow their customer
    to a new owner or team."""
    customer._kehu_loaded_grade = customer.grade_id
    if is_new:
        from kehu.customers.lifecycle import record_first_stages

        record_first_stages(ctx, [customer])
        return
    for model in (Contact, Need):
        model.all_objects.filter(customer_id=customer.pk).exclude(
            owner_id=customer.owner_id, team_id=customer.team_id
        ).update(owner_id=customer.owner_id, team_id=customer.team_id)


def customers_after_bulk_create(customers: list[Customer], ctx: Context) -> None:
    """``customer_after_save`` for many new customers (an import): their first lifecycle
    transitions in one query."""
    from kehu.customers.lifecycle import record_first_stages

    for customer in customers:
        customer._kehu_loaded_grade = customer.grade_id
    record_first_stages(ctx, customers)


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


def need_create(*, ctx: Context, data: dict[str, Any]) -> Need:
    """Create a need of a customer the actor can see. Raises PermissionDenied, ValidationError."""
    from kehu.customers.records import NEED

    return record_services.record_create(NEED, ctx=ctx, data=data)


def subsidiaries(user: Any, customer: Customer) -> Any:
    """The customers whose parent company is ``customer`` that ``user`` may see."""
    from kehu.customers.records import CUSTOMER
    from kehu.platform.access import visible_to

    return visible_to(user, Customer.objects.filter(parent=customer), CUSTOMER).order_by("name", "id")
