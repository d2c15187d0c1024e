"""Opportunity rules on top of the platform's generic write path.

Creating and editing go through ``platform.services`` with this record type's ``prepare``
hook (customer, contact and needs must agree; pipeline, stage, currency, probability and
forecast category default; the amount is the lines' total when there are lines). The stage
and the status change only here: ``opportunity_move`` (and ``opportunity_win``,
``opportunity_lose``, ``opportunity_reopen``) checks the target stage's requirements, writes
the stage history with the time spent in the previous stage, the audit entry and the events
(``opportunity.won`` on a win, which also promotes a lead customer). ``opportunity_set_lines``
replaces the product lines and sets the amount to their total."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform import money
from kehu.platform.access import require, visible_to
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.events import Event, publish
from kehu.platform.models import AuditAction
from kehu.sales.opportunities import calc
from kehu.sales.opportunities import pipelines as pipeline_config
from kehu.sales.opportunities.models import (
    REQUIREMENT_FIELDS,
    ForecastCategory,
    Opportunity,
    OpportunityLine,
    OpportunityStageChange,
    OpportunityStatus,
    PipelineStage,
    StageKind,
)

LOST_REASON_MAX = 500
MAX_LINES = 200
# What a stage move may change (audited as one update).
MOVE_FIELDS = ["pipeline", "stage", "status", "probability", "forecast_category", "closed_at", "lost_reason"]


def _rt() -> Any:
    from kehu.sales.opportunities.records import OPPORTUNITY

    return OPPORTUNITY


def _active_currency(code: str) -> bool:
    from kehu.platform.models import Currency

    return Currency.objects.filter(code=code, active=True).exists()


# ---------------------------------------------------------------- the record type's hook


def opportunity_prepare(opp: Opportunity, ctx: Context, is_new: bool) -> None:
    """Check and complete an opportunity before it is validated and saved (form, API, import)."""
    from kehu.platform.services import m2m_values

    errors: dict[str, str] = {}
    if opp.customer_id is None:
        if opp.owner_id is None:
            opp.owner = ctx.user
        return  # full_clean names the missing customer
    if opp.contact is not None and opp.contact.customer_id != opp.customer_id:
        errors["contact"] = _("This contact is not a contact of the opportunity's customer.")
    strangers = [str(need) for need in m2m_values(opp, "needs") if need.customer_id != opp.customer_id]
    if strangers:
        errors["needs"] = _("%(needs)s: not a need of this customer.") % {"needs": ", ".join(sorted(strangers))}
    if is_new:
        if opp.pipeline_id is None:
            opp.pipeline = opp.stage.pipeline if opp.stage_id else pipeline_config.default_pipeline()  # type: ignore[assignment]
        if opp.pipeline_id is not None and opp.stage_id is None:
            opp.stage = pipeline_config.first_open_stage(opp.pipeline)  # type: ignore[assignment]
        if opp.stage_id is not None:
            if opp.stage.pipeline_id != opp.pipeline_id:
                errors["stage"] = _("This stage is not a stage of the pipeline %(pipeline)s.") % {
                    "pipeline": opp.pipeline
                }
            elif opp.stage.kind != StageKind.OPEN or not opp.stage.active:
                errors["stage"] = _("Start an opportunity at an open stage; then mark it won or lost.")
            elif not opp.pipeline.active:
                errors["pipeline"] = _("The pipeline %(pipeline)s is no longer used.") % {"pipeline": opp.pipeline}
        opp.status = OpportunityStatus.OPEN
        opp.stage_entered_at = timezone.now()
    opp.currency = (opp.currency or "").strip().upper() or money.reporting_currency()
    stored = None if is_new else Opportunity.all_objects.filter(pk=opp.pk).values("currency", "amount").first()
    if (stored is None or stored["currency"] != opp.currency) and not _active_currency(opp.currency):
        errors["currency"] = _("%(code)s is not an active currency.") % {"code": opp.currency}
    if opp.amount is not None:
        if opp.amount < 0:
            errors["amount"] = _("The amount cannot be negative.")
        elif "currency" not in errors:
            opp.amount = money.quantize(opp.amount, opp.currency)
    if not is_new and opp.lines.exists():  # type: ignore[attr-defined]
        if stored is not None and stored["currency"] != opp.currency:
            errors["currency"] = _("The product lines are priced in %(code)s: remove them to change the currency.") % {
                "code": stored["currency"]
            }
        elif stored is not None and opp.amount != stored["amount"]:
            errors["amount"] = _("The amount is the total of the product lines: change the lines instead.")
    if opp.stage_id is not None:
        if opp.probability is None:
            opp.probability = opp.stage.probability
        if not opp.forecast_category:
            opp.forecast_category = opp.stage.forecast_category
    if errors:
        raise ValidationError(errors)
    if is_new and opp.stage_id is not None:
        _check_requirements(opp, opp.stage, has_lines=False)


def opportunity_after_save(opp: Opportunity, ctx: Context, is_new: bool) -> None:
    """A new opportunity's first history row (from nothing to its first stage)."""
    if is_new:
        OpportunityStageChange.objects.create(
            opportunity=opp, from_stage=None, to_stage=opp.stage, actor=ctx.user, at=opp.created_at
        )


def _missing(opp: Opportunity, name: str, has_lines: bool) -> bool:
    if name == "lines":
        return not has_lines
    value = getattr(opp, f"{name}_id" if name == "contact" else name, None)
    return value is None or value == ""


def _check_requirements(opp: Opportunity, stage: PipelineStage, *, has_lines: bool) -> None:
    missing = [name for name in stage.requirements or [] if _missing(opp, name, has_lines)]
    if missing:
        raise ValidationError(
            {
                "stage": _("Moving to %(stage)s needs: %(fields)s.")
                % {
                    "stage": stage.display_name,
                    "fields": ", ".join(str(REQUIREMENT_FIELDS.get(name, name)) for name in missing),
                }
            },
            code="stage_requirements",
        )


# ---------------------------------------------------------------- reading one


def opportunity_get(ctx_or_user: Any, pk: Any, *, lock: bool = False) -> Opportunity:
    """An opportunity the user may see (with stage, pipeline and customer). Raises NotVisible."""
    user = getattr(ctx_or_user, "user", ctx_or_user)
    queryset = Opportunity.objects.select_related("stage", "pipeline", "customer")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return visible_to(user, queryset, _rt()).get(pk=pk)
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def _stage_get(stage: Any) -> PipelineStage:
    if isinstance(stage, PipelineStage):
        return stage
    try:
        return PipelineStage.objects.select_related("pipeline").get(pk=stage)
    except (PipelineStage.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"stage": _("Choose a valid stage.")}) from None


# ---------------------------------------------------------------- moving between stages


def opportunity_move(
    ctx: Context,
    opp: Opportunity,
    stage: PipelineStage | int | str,
    version: int | None = None,
    *,
    lost_reason: str = "",
) -> Opportunity:
    """Move ``opp`` to ``stage`` (of its pipeline, or of another one, which moves it there).

    Checks the stage's requirements ("Moving to Proposal needs: Amount, Expected close
    date."); a won stage marks it won (``opportunity.won``, the customer promoted from lead), a
    lost stage needs ``lost_reason``; an open stage after a won or lost one reopens it. The
    probability and forecast category follow the stage unless someone set other values by
    hand. Raises PermissionDenied, NotVisible, ValidationError, StaleVersion (nothing written)."""
    require(ctx, _rt(), "change")
    target = _stage_get(stage)
    lost_reason = (lost_reason or "").strip()
    with transaction.atomic():
        current = opportunity_get(ctx, opp.pk, lock=True)
        expected = opp.version if version is None else int(version)
        if expected != current.version:
            raise StaleVersion(current.version)
        _check_move(current, target, lost_reason)
        before = audit_log.snapshot(current, MOVE_FIELDS)
        previous = current.stage
        now = timezone.now()
        _apply_stage(current, previous, target, lost_reason, now)
        changes = audit_log.diff(before, audit_log.snapshot(current, MOVE_FIELDS))
        entered = current.stage_entered_at
        current.stage_entered_at = now
        values = {
            "pipeline_id": current.pipeline_id,
            "stage_id": current.stage_id,
            "status": current.status,
            "probability": current.probability,
            "forecast_category": current.forecast_category,
            "closed_at": current.closed_at,
            "lost_reason": current.lost_reason,
            "stage_entered_at": now,
        }
        _write(ctx, current, expected, values, changes, now, extra={"reason": lost_reason} if lost_reason else None)
        OpportunityStageChange.objects.create(
            opportunity=current,
            from_stage=previous,
            to_stage=target,
            actor=ctx.user,
            at=now,
            seconds_in_previous=max(0, int((now - entered).total_seconds())) if entered else None,
        )
        publish(_event("record.updated", ctx, current, changed=sorted(changes)))
        publish(
            _event(
                "opportunity.stage_changed",
                ctx,
                current,
                from_stage=previous.pk,
                to_stage=target.pk,
                status=current.status,
            )
        )
        if target.kind == StageKind.WON and previous.kind != StageKind.WON:
            publish(
                _event(
                    "opportunity.won",
                    ctx,
                    current,
                    customer=current.customer_id,
                    amount=str(current.amount) if current.amount is not None else None,
                    currency=current.currency,
                )
            )
            from kehu.customers.lifecycle import promote_on_first_win

            promote_on_first_win(ctx, current.customer)
        elif target.kind == StageKind.LOST and previous.kind != StageKind.LOST:
            publish(_event("opportunity.lost", ctx, current, customer=current.customer_id, reason=lost_reason))
    _copy(current, opp)
    return current


def _check_move(current: Opportunity, target: PipelineStage, lost_reason: str) -> None:
    if target.pk == current.stage_id:
        raise ValidationError(
            {"stage": _("The opportunity is already at the stage %(stage)s.") % {"stage": target.display_name}}
        )
    if not target.active or not target.pipeline.active:
        raise ValidationError({"stage": _("The stage %(stage)s is no longer used.") % {"stage": target.display_name}})
    if "\x00" in lost_reason:
        raise ValidationError({"lost_reason": ProhibitNullCharactersValidator.message})
    if len(lost_reason) > LOST_REASON_MAX:
        raise ValidationError(
            {"lost_reason": _("Keep the reason under %(count)d characters.") % {"count": LOST_REASON_MAX}}
        )
    if target.kind == StageKind.LOST and not lost_reason:
        raise ValidationError({"lost_reason": _("Give the reason the opportunity was lost.")})
    if target.kind != StageKind.LOST:
        _check_requirements(current, target, has_lines=current.lines.exists())  # type: ignore[attr-defined]


def _apply_stage(
    opp: Opportunity, previous: PipelineStage, target: PipelineStage, lost_reason: str, now: datetime.datetime
) -> None:
    reopening = previous.kind != StageKind.OPEN and target.kind == StageKind.OPEN
    # a probability or category still at the stage's default follows the new stage
    follow_probability = reopening or opp.probability is None or opp.probability == previous.probability
    follow_category = reopening or not opp.forecast_category or opp.forecast_category == previous.forecast_category
    opp.pipeline_id, opp.stage = target.pipeline_id, target
    opp.pipeline = target.pipeline
    if target.kind == StageKind.OPEN:
        opp.status = OpportunityStatus.OPEN
        opp.closed_at = None
        opp.lost_reason = ""
        if follow_probability:
            opp.probability = target.probability
        if follow_category:
            opp.forecast_category = target.forecast_category
    else:
        opp.status = OpportunityStatus.WON if target.kind == StageKind.WON else OpportunityStatus.LOST
        if previous.kind == StageKind.OPEN or opp.closed_at is None:
            opp.closed_at = now
        opp.probability = target.probability
        opp.forecast_category = target.forecast_category or (
            ForecastCategory.CLOSED if target.kind == StageKind.WON else ForecastCategory.OMITTED
        )
        opp.lost_reason = lost_reason if target.kind == StageKind.LOST else ""


def _write(
    ctx: Context,
    opp: Opportunity,
    expected: int,
    values: dict[str, Any],
    changes: dict[str, Any],
    now: datetime.datetime,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    written = Opportunity.all_objects.filter(pk=opp.pk, version=expected, deleted_at__isnull=True).update(
        **values, version=expected + 1, updated_at=now, updated_by=ctx.user
    )
    if not written:
        stored = Opportunity.all_objects.filter(pk=opp.pk).values_list("version", flat=True).first()
        raise StaleVersion(stored or expected)
    opp.version, opp.updated_at, opp.updated_by = expected + 1, now, ctx.user
    audit_log.audit(ctx, AuditAction.UPDATE, opp, changes=changes, extra=extra)


def _copy(source: Opportunity, target: Opportunity) -> None:
    if source is target:
        return
    for name in [
        "pipeline_id",
        "stage_id",
        "status",
        "probability",
        "forecast_category",
        "closed_at",
        "lost_reason",
        "stage_entered_at",
        "amount",
        "version",
        "updated_at",
        "updated_by_id",
    ]:
        setattr(target, name, getattr(source, name))
    target.stage, target.pipeline = source.stage, source.pipeline


def _event(name: str, ctx: Context, opp: Opportunity, **data: Any) -> Event:
    return Event(
        type=name,
        record_type="opportunity",
        record_id=opp.pk,
        data={"number": opp.number, **data},
        actor_id=ctx.user.pk,
        source=ctx.source,
    )


def _closing_stage(opp: Opportunity, kind: str, stage: Any) -> PipelineStage:
    if stage is not None:
        found = _stage_get(stage)
        if found.kind != kind:
            raise ValidationError({"stage": _("Choose a stage of the right kind.")})
        return found
    first = (
        PipelineStage.objects.select_related("pipeline")
        .filter(pipeline_id=opp.pipeline_id, kind=kind, active=True)
        .order_by("order", "id")
        .first()
    )
    if first is None:
        raise ValidationError({"stage": _("The pipeline %(pipeline)s has no such stage.") % {"pipeline": opp.pipeline}})
    return first


def opportunity_win(ctx: Context, opp: Opportunity, version: int | None = None, *, stage: Any = None) -> Opportunity:
    """Mark ``opp`` won (its pipeline's won stage, or ``stage``)."""
    return opportunity_move(ctx, opp, _closing_stage(opp, StageKind.WON, stage), version)


def opportunity_lose(
    ctx: Context, opp: Opportunity, lost_reason: str, version: int | None = None, *, stage: Any = None
) -> Opportunity:
    """Mark ``opp`` lost with a reason (required)."""
    return opportunity_move(ctx, opp, _closing_stage(opp, StageKind.LOST, stage), version, lost_reason=lost_reason)


def opportunity_reopen(ctx: Context, opp: Opportunity, version: int | None = None, *, stage: Any = None) -> Opportunity:
    """Open a won or lost opportunity again, at ``stage`` or the open stage it was closed from."""
    if opp.status == OpportunityStatus.OPEN:
        raise ValidationError({"status": _("The opportunity is open already.")})
    if stage is None:
        last = (
            OpportunityStageChange.objects.filter(opportunity=opp, from_stage__kind=StageKind.OPEN)
            .select_related("from_stage")
            .order_by("-at", "-id")
            .first()
        )
        stage = last.from_stage if last is not None and last.from_stage.active else None  # type: ignore[union-attr]
        stage = stage or pipeline_config.first_open_stage(opp.pipeline)
    return opportunity_move(ctx, opp, stage, version)


# ---------------------------------------------------------------- product lines


def _decimal(value: Any, name: str, errors: dict[str, str], default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    if isinstance(value, float | bool):
        errors[name] = _("Give an exact decimal number (as a string), not a float.")
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[name] = _("Enter a number.")
        return None
    if not number.is_finite():
        errors[name] = _("Enter a number.")
        return None
    return number


def _clean_lines(opp: Opportunity, lines: Sequence[Mapping[str, Any]]) -> list[OpportunityLine]:
    from kehu.sales.products.models import Product, ProductPrice

    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": _("At most %(count)d lines.") % {"count": MAX_LINES}})
    errors: dict[str, str] = {}
    wanted = []
    for item in lines:
        product = item.get("product")
        wanted.append(getattr(product, "pk", product))
    product_ids = [pk for pk in wanted if pk not in (None, "")]
    existing = set(OpportunityLine.objects.filter(opportunity=opp).values_list("product_id", flat=True))
    try:
        products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids)}
        prices = dict(
            ProductPrice.objects.filter(product_id__in=product_ids, currency_id=opp.currency).values_list(
                "product_id", "unit_price"
            )
        )
    except (ValueError, TypeError):
        raise ValidationError({"lines": _("Give product ids.")}) from None
    made = []
    allowed = {"product", "description", "quantity", "unit_price", "discount_percent", "tax_rate"}
    for index, item in enumerate(lines):
        prefix = f"lines.{index}"
        for name in item:
            if name not in allowed:
                errors[f"{prefix}.{name}"] = _("This field cannot be set.")
        pk = wanted[index]
        product = products.get(pk) if pk not in (None, "") else None
        if pk not in (None, "") and product is None:
            errors[f"{prefix}.product"] = _("Select a valid product.")
            continue
        if product is not None and not product.active and product.pk not in existing:
            errors[f"{prefix}.product"] = _("%(product)s is archived.") % {"product": product}
        description = str(item.get("description") or "").strip()[:255]
        if product is None and not description:
            errors[f"{prefix}.description"] = _("Choose a product or describe the line.")
        quantity = _decimal(item.get("quantity"), f"{prefix}.quantity", errors, Decimal(1))
        discount = _decimal(item.get("discount_percent"), f"{prefix}.discount_percent", errors, Decimal(0))
        default_tax = product.tax_rate if product is not None else Decimal(0)
        tax_rate = _decimal(item.get("tax_rate"), f"{prefix}.tax_rate", errors, default_tax)
        default_price = prices.get(product.pk) if product is not None else None
        unit_price = _decimal(item.get("unit_price"), f"{prefix}.unit_price", errors, default_price)
        if unit_price is None and f"{prefix}.unit_price" not in errors:
            errors[f"{prefix}.unit_price"] = (
                _("%(product)s has no list price in %(currency)s: give a unit price.")
                % {"product": product, "currency": opp.currency}
                if product is not None
                else _("Give a unit price.")
            )
        if quantity is not None and quantity <= 0:
            errors[f"{prefix}.quantity"] = _("The quantity must be more than 0.")
        if unit_price is not None and unit_price < 0:
            errors[f"{prefix}.unit_price"] = _("The unit price cannot be negative.")
        if discount is not None and not 0 <= discount <= 100:
            errors[f"{prefix}.discount_percent"] = _("The discount is between 0 and 100 %.")
        if tax_rate is not None and not 0 <= tax_rate <= 100:
            errors[f"{prefix}.tax_rate"] = _("The tax rate is between 0 and 100 %.")
        if any(key.startswith(prefix + ".") for key in errors):
            continue
        if quantity is None or unit_price is None or discount is None or tax_rate is None:
            continue  # reported in errors
        line = OpportunityLine(
            opportunity=opp,
            position=index + 1,
            product=product,
            description=description,
            quantity=quantity,
            unit_price=unit_price,
            discount_percent=discount,
            tax_rate=tax_rate,
        )
        try:
            line.amount = calc.line_amount(quantity, unit_price, discount, opp.currency)
            line.tax_amount = calc.line_tax(line.amount, tax_rate, opp.currency)
            line.full_clean(exclude=["opportunity", "amount", "tax_amount"])
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors[f"{prefix}.{name}"] = " ".join(messages)
            continue
        made.append(line)
    if errors:
        raise ValidationError(errors)
    return made


def _lines_summary(lines: Sequence[OpportunityLine]) -> list[str]:
    return [
        f"{line.product.code if line.product_id else line.description} × {line.quantity.normalize():f} @ "  # type: ignore[union-attr]
        f"{line.unit_price.normalize():f} -{line.discount_percent.normalize():f}% = {line.amount}"
        for line in lines
    ]


def opportunity_set_lines(
    ctx: Context, opp: Opportunity, lines: Sequence[Mapping[str, Any]], version: int | None = None
) -> Opportunity:
    """Replace the product lines of ``opp`` (each: ``product`` id, ``description``,
    ``quantity`` (1), ``unit_price`` (the product's list price in the opportunity's currency),
    ``discount_percent`` (0), ``tax_rate`` (the product's)); the amount becomes their total
    (with no lines left, the amount stays as it was and is edited by hand again). Errors name
    ``lines.<index>.<field>``. Raises PermissionDenied, NotVisible, ValidationError, StaleVersion."""
    require(ctx, _rt(), "change")
    with transaction.atomic():
        current = opportunity_get(ctx, opp.pk, lock=True)
        expected = opp.version if version is None else int(version)
        if expected != current.version:
            raise StaleVersion(current.version)
        old = list(current.lines.select_related("product"))  # type: ignore[attr-defined]
        made = _clean_lines(current, lines)
        now = timezone.now()
        before_amount = audit_log.json_value(current, "amount")
        if made:
            current.amount = calc.lines_total([line.amount for line in made], current.currency)
        changes = audit_log.diff(
            {"amount": before_amount, "lines": _lines_summary(old)},
            {"amount": audit_log.json_value(current, "amount"), "lines": _lines_summary(made)},
        )
        if not changes:
            return current
        OpportunityLine.objects.filter(opportunity=current).delete()
        OpportunityLine.objects.bulk_create(made)
        _write(ctx, current, expected, {"amount": current.amount}, changes, now)
        publish(_event("record.updated", ctx, current, changed=sorted(changes)))
    _copy(current, opp)
    return current


def opportunity_create(ctx: Context, data: Mapping[str, Any], lines: Sequence[Mapping[str, Any]] = ()) -> Opportunity:
    """Create an opportunity (and its lines, in one transaction)."""
    from kehu.platform.services import record_create

    with transaction.atomic():
        opp = record_create(_rt(), ctx=ctx, data=data)
        if lines:
            opportunity_set_lines(ctx, opp, lines, version=opp.version)
    return opp
