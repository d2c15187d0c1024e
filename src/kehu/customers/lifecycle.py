"""The customer lifecycle: configurable stages, moves between them only through
``change_stage`` (permission, visibility, allowed transitions, a reason for a lost stage,
optimistic locking, audit, events, the transition history and the timeline), and the stage
settings admins edit (``stage_create``, ``stage_update``, ``stages_reorder``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.customers.models import DEFAULT_STAGES, Customer, LifecycleStage, LifecycleTransition
from kehu.platform import audit as audit_log
from kehu.platform import timeline
from kehu.platform.access import require, visible_to
from kehu.platform.bulk_insert import bulk_insert
from kehu.platform.context import Context, Source
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.events import Event, publish
from kehu.platform.fields import encrypted_fields
from kehu.platform.instances import unsaved
from kehu.platform.models import AuditAction

TIMELINE_KIND = "lifecycle"
REASON_MAX = 2000
SETTINGS_PERMISSION = "customers.change_lifecyclestage"

timeline.register_kind(TIMELINE_KIND, gettext_lazy("Lifecycle"), icon="ti-stairs")

# The default stages (``key``, flags) and which stages may follow each; seeded by the data
# migration and again after a database flush (tests) when no stage exists.
DEFAULT_FLAGS: dict[str, dict[str, bool]] = {
    "lead": {"is_lead": True},
    "prospect": {"is_lead": True},
    "active": {"is_won": True},
    "at_risk": {},
    "churned": {"is_lost": True},
}
DEFAULT_NEXT: dict[str, list[str]] = {
    "lead": ["prospect", "active", "churned"],
    "prospect": ["lead", "active", "churned"],
    "active": ["at_risk", "churned"],
    "at_risk": ["active", "churned"],
    "churned": ["prospect", "active"],
}


def seed_default_stages(stage_model: Any = LifecycleStage) -> None:
    """Create the default stages with their allowed next stages (when there are none)."""
    if stage_model.objects.exists():
        return
    made = {
        key: stage_model.objects.create(key=key, name=name, order=(index + 1) * 10, **DEFAULT_FLAGS[key])
        for index, (key, name) in enumerate(DEFAULT_STAGES.items())
    }
    for key, following in DEFAULT_NEXT.items():
        made[key].allowed_next.set([made[other] for other in following])


def ensure_default_stages(using: str = "default", **_: Any) -> None:
    """post_migrate: a database without stages (a fresh test database after a flush) gets
    the defaults, so a new customer always has a stage to start at."""
    from django.db import connections

    if LifecycleStage._meta.db_table in connections[using].introspection.table_names():
        seed_default_stages()


def _customer_type() -> Any:
    from kehu.customers.records import CUSTOMER

    return CUSTOMER


# ---------------------------------------------------------------- reading


def stages(*, active_only: bool = True) -> QuerySet[LifecycleStage]:
    queryset = LifecycleStage.objects.order_by("order", "id")
    return queryset.filter(is_active=True) if active_only else queryset


def stage_get(stage: LifecycleStage | str) -> LifecycleStage:
    """A stage from itself or its key; raises ValidationError naming ``stage``."""
    if isinstance(stage, LifecycleStage):
        return stage
    found = LifecycleStage.objects.filter(key=str(stage or "")).first()
    if found is None:
        raise ValidationError({"stage": _("Choose a valid lifecycle stage.")})
    return found


def next_stages(customer: Customer) -> list[LifecycleStage]:
    """The active stages ``customer`` may move to from where it is."""
    current = customer.stage
    allowed = list(current.allowed_next.filter(is_active=True).order_by("order", "id"))
    if not current.allowed_next.exists():  # none configured: any stage
        allowed = list(stages().exclude(pk=current.pk))
    return [stage for stage in allowed if stage.pk != current.pk]


def history(customer: Customer) -> QuerySet[LifecycleTransition]:
    """A customer's moves, newest first, with the stages and who made them."""
    return LifecycleTransition.objects.filter(customer=customer).select_related("from_stage", "to_stage", "actor")


def history_for(ctx: Context, customer_id: int) -> tuple[Customer, QuerySet[LifecycleTransition]]:
    """A customer the actor may see, with its history. Raises PermissionDenied, NotVisible."""
    rt = _customer_type()
    require(ctx, rt, "view")
    customer = _visible_customer(ctx, customer_id)
    return customer, history(customer)


def _customers() -> QuerySet[Customer]:
    # with the stage, without decrypting personal fields nobody here reads (loaded if asked for)
    return Customer.objects.select_related("stage").defer(*(f.name for f in encrypted_fields(Customer)))


def _visible_customer(ctx: Context, customer_id: Any) -> Customer:
    rt = _customer_type()
    try:
        return visible_to(ctx.user, _customers(), rt).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


@dataclass(frozen=True)
class Move:
    """What ``change_stage`` did: the customer (with its new stage and version) and the
    transition written."""

    customer: Customer
    transition: LifecycleTransition


# ---------------------------------------------------------------- changing a stage


def change_stage(
    ctx: Context,
    customer: Customer,
    stage: LifecycleStage | str,
    reason: str = "",
    *,
    version: int | None = None,
    source: str | None = None,
) -> Customer:
    """Move ``customer`` to ``stage``. Raises PermissionDenied, NotVisible (another team's
    customer), ValidationError (an inactive stage, the current stage, a transition the current
    stage does not allow, a lost stage without a reason) and StaleVersion (``version`` is not
    the stored one; nothing is written)."""
    return move_stage(ctx, customer, stage, reason, version=version, source=source).customer


def move_stage(
    ctx: Context,
    customer: Customer,
    stage: LifecycleStage | str,
    reason: str = "",
    *,
    version: int | None = None,
    source: str | None = None,
) -> Move:
    """``change_stage`` answering the customer and the transition it wrote."""
    return _move(ctx, customer, stage, reason, version=version, source=source)


def _move(
    ctx: Context,
    customer: Customer,
    stage: LifecycleStage | str,
    reason: str,
    *,
    version: int | None,
    source: str | None,
    check_access: bool = True,
) -> Move:
    if check_access:
        require(ctx, _customer_type(), "change")
        current = _visible_customer(ctx, customer.pk)  # the stored row, as the actor may see it
    else:
        found = _customers().filter(pk=customer.pk).first()
        if found is None:
            raise NotVisible
        current = found
    expected = customer.version if version is None else int(version)
    if expected != current.version:
        raise StaleVersion(current.version)
    target = stage_get(stage)
    reason = (reason or "").strip()
    _check(current, target, reason)
    now = timezone.now()
    before = audit_log.json_value(current, "stage")
    with transaction.atomic():
        written = Customer.all_objects.filter(pk=current.pk, version=expected, deleted_at__isnull=True).update(
            stage=target.key, version=expected + 1, updated_at=now, updated_by=ctx.user
        )
        if not written:
            stored = Customer.all_objects.filter(pk=current.pk).values_list("version", flat=True).first()
            raise StaleVersion(stored or expected)
        previous = current.stage
        for obj in {id(customer): customer, id(current): current}.values():
            obj.stage, obj.version, obj.updated_at, obj.updated_by = target, expected + 1, now, ctx.user
        audit_log.audit(
            ctx,
            AuditAction.UPDATE,
            current,
            changes={"stage": [before, audit_log.json_value(current, "stage")]},
            extra={"reason": reason} if reason else None,
        )
        transition = LifecycleTransition.objects.create(
            customer=current,
            from_stage=previous,
            to_stage=target,
            actor=ctx.user,
            at=now,
            reason=reason,
            source=source or ctx.source,
        )
        _add_to_timeline(current, transition)
        publish(_event("record.updated", ctx, current, changed=["stage"]))
        publish(
            _event("customer.stage_changed", ctx, current, from_stage=previous.key, to_stage=target.key, reason=reason)
        )
    return Move(customer=current, transition=transition)


def _check(customer: Customer, target: LifecycleStage, reason: str) -> None:
    current = customer.stage
    if "\x00" in reason:
        raise ValidationError({"reason": ProhibitNullCharactersValidator.message})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("Keep the reason under %(count)d characters.") % {"count": REASON_MAX}})
    if not target.is_active:
        raise ValidationError({"stage": _("The stage %(stage)s is no longer used.") % {"stage": target}})
    if target.pk == current.pk:
        raise ValidationError({"stage": _("The customer is already at the stage %(stage)s.") % {"stage": target}})
    allowed = set(current.allowed_next.values_list("pk", flat=True))
    if allowed and target.pk not in allowed:
        raise ValidationError(
            {
                "stage": _("Customers cannot move from %(from)s to %(to)s.")
                % {"from": current.display_name, "to": target.display_name}
            }
        )
    if target.is_lost and not reason:
        raise ValidationError(
            {"reason": _("Give a reason for moving the customer to %(stage)s.") % {"stage": target.display_name}}
        )


def _event(name: str, ctx: Context, customer: Customer, **data: Any) -> Event:
    return Event(
        type=name,
        record_type="customer",
        record_id=customer.pk,
        data={"number": customer.number, **data},
        actor_id=ctx.user.pk,
        source=ctx.source,
    )


def _add_to_timeline(customer: Customer, transition: LifecycleTransition) -> None:
    # The title is data (stage names as stored); the kind's label says what it is.
    before = transition.from_stage.name if transition.from_stage is not None else ""
    title = f"{before} → {transition.to_stage.name}" if before else transition.to_stage.name
    timeline.add(
        subject=("customer", customer.pk),
        kind=TIMELINE_KIND,
        occurred_at=transition.at,
        title=title,
        summary=transition.reason,
        actor=transition.actor,
        record=("customer", customer.pk),
        data={"from": transition.from_stage_id, "to": transition.to_stage_id},
    )


def record_first_stages(ctx: Context, customers: Sequence[Customer]) -> list[LifecycleTransition]:
    """New customers' first transitions (from nothing to their initial stage), in one query;
    called by the customer record type's ``after_save`` / ``after_bulk_create`` inside the
    creating transaction (the customers are validated: each has its stage)."""
    return bulk_insert(
        LifecycleTransition,
        [
            unsaved(  # by id: assigning related instances costs more than the insert
                LifecycleTransition,
                customer_id=customer.pk,
                from_stage_id=None,
                to_stage_id=str(customer.stage_id),
                actor_id=ctx.user.pk,
                source=ctx.source,
                at=customer.created_at or timezone.now(),  # created_at: one value per batch
            )
            for customer in customers
        ],
    )


def promote_on_first_win(ctx: Context, customer: Customer, reason: str = "") -> Customer | None:
    """Move a customer still at a lead stage (lead, prospect) to the won stage (active
    customer) — called when its first deal is won or first order placed. Returns the
    customer when it moved, ``None`` when it was not at a lead stage or no won stage is
    active. The actor needs no change permission on the customer: the win is the reason
    (the move is audited as theirs, with source ``automation``)."""
    current = Customer.objects.select_related("stage").filter(pk=customer.pk).first()
    if current is None or not current.stage.is_lead:
        return None
    won = stages().filter(is_won=True).first()
    if won is None:
        return None
    try:
        move = _move(
            ctx,
            current,
            won,
            reason or _("First won deal."),
            version=current.version,
            source=Source.AUTOMATION,
            check_access=False,
        )
    except (ValidationError, StaleVersion, NotVisible):
        return None  # a transition the admin disallowed, or a concurrent change: leave it
    customer.stage, customer.version = move.customer.stage, move.customer.version
    return move.customer
