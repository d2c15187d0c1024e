"""Contract, payment and order rules on top of the platform's generic write path.

Statuses change only through ``contract_transition`` / ``order_transition`` (checked against
the tables in ``models``); a contract's payment plan through ``contract_set_plan``; an
order's lines (and so its totals) through ``order_set_lines``. Each of these checks access,
locks the record by its version, writes the audit entry and publishes ``record.updated``
after commit, like every other write."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform import services as record_services
from kehu.platform.access import can, require, visible_to
from kehu.platform.context import Context, Source
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.events import Event, publish
from kehu.platform.models import AuditAction
from kehu.sales.contracts.models import (
    CONTRACT_TRANSITIONS,
    ORDER_BOOKED,
    ORDER_TRANSITIONS,
    ZERO,
    Contract,
    ContractStatus,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentInstalment,
)
from kehu.sales.opportunities import calc

MAX_INSTALMENTS = 240
MAX_LINES = 500
REASON_MAX = 500
HUNDRED = Decimal(100)


# ---------------------------------------------------------------- money helpers


def reporting_currency() -> str:
    from kehu.platform import money

    return money.reporting_currency()


def places(code: str) -> int:
    from kehu.platform import money

    return money.places(code)


def quantize(amount: Decimal, code: str) -> Decimal:
    from kehu.platform import money

    return money.quantize(amount, code)


def fmt(amount: Decimal, code: str) -> str:
    """An amount for messages: ``12,000.00 CNY`` (grouped, the currency's places)."""
    from django.utils.formats import number_format

    return f"{number_format(quantize(amount, code), places(code), force_grouping=True)} {code}"


def check_currency(obj: Any, errors: dict[str, str]) -> None:
    """``obj.currency`` upper-cased, the reporting currency when empty, and the reporting
    currency (always active) or an active ``platform.Currency``, else an error."""
    from kehu.platform.models import Currency

    code = (obj.currency or "").strip().upper() or reporting_currency()
    obj.currency = code
    if code != reporting_currency() and not Currency.objects.filter(pk=code, active=True).exists():
        errors["currency"] = _("%(code)s is not an active currency.") % {"code": code}


def _split_cents(amount: Decimal, parts: int, code: str) -> list[Decimal]:
    from kehu.platform import money

    return list(money.allocate(amount, [1] * parts, code))


def split_evenly(
    amount: Decimal, code: str, count: int, first_due: datetime.date, *, every_months: int = 1
) -> list[dict[str, Any]]:
    """A plan of ``count`` instalments, one every ``every_months`` months from ``first_due``,
    whose amounts add up to ``amount`` exactly (``money.allocate``: the leftover cents go to
    the first instalments)."""
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ValidationError({"count": _("Give 1 to %(max)d instalments.") % {"max": MAX_INSTALMENTS}})
    return [
        {"due_date": add_months(first_due, index * every_months), "amount": part, "note": ""}
        for index, part in enumerate(_split_cents(amount, count, code))
    ]


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by ``months``, on the month's last day when it is shorter (31 Jan → 28 Feb)."""
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


# ---------------------------------------------------------------- shared


def _event(rt_key: str, obj: Any, ctx: Context, changed: Iterable[str]) -> Event:
    return Event(
        type="record.updated",
        record_type=rt_key,
        record_id=obj.pk,
        data={"number": obj.number, "changed": sorted(changed)},
        actor_id=ctx.user.pk,
        source=ctx.source,
    )


def _bump(model: Any, obj: Any, ctx: Context, version: int | None, **values: Any) -> None:
    """Write ``values`` and the next version, if the stored version is still ``version``."""
    expected = obj.version if version is None else int(version)
    if expected != obj.version:
        raise StaleVersion(obj.version)
    now = timezone.now()
    written = model.all_objects.filter(pk=obj.pk, version=expected).update(
        **values, version=expected + 1, updated_at=now, updated_by_id=ctx.user.pk
    )
    if not written:
        current = model.all_objects.filter(pk=obj.pk).values_list("version", flat=True).first()
        raise StaleVersion(current or expected)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.version, obj.updated_at, obj.updated_by_id = expected + 1, now, ctx.user.pk


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if "\x00" in reason:
        raise ValidationError({"reason": _("Null characters are not allowed.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("Keep the reason under %(count)d characters.") % {"count": REASON_MAX}})
    return reason


def _same_customer(obj: Any, name: str, errors: dict[str, str], message: str) -> None:
    related = getattr(obj, name)
    if related is not None and obj.customer_id is not None and related.customer_id != obj.customer_id:
        errors[name] = message


# ---------------------------------------------------------------- contracts


def contract_prepare(contract: Contract, ctx: Context, is_new: bool) -> None:
    """Dates in order, a known currency, an opportunity of the same customer; amount and
    currency stay in step with the payment plan and the payments; a pending transition
    (``contract_transition``) is applied here so it is validated and audited with the rest."""
    errors: dict[str, str] = {}
    check_currency(contract, errors)
    if contract.start_date and contract.end_date and contract.end_date < contract.start_date:
        errors["end_date"] = _("The end date must not be before the start date.")
    _same_customer(contract, "opportunity", errors, _("This opportunity is about another customer."))
    stored = (
        None
        if is_new
        else Contract.all_objects.filter(pk=contract.pk).values("amount", "currency", "end_date", "status").first()
    )
    if stored is not None:
        contract._kehu_old_end = stored["end_date"]  # type: ignore[attr-defined]
        if stored["currency"] != contract.currency and contract.payments.exists():
            errors["currency"] = _("Payments were received in %(code)s: the currency cannot change.") % {
                "code": stored["currency"]
            }
        if contract.amount is not None and stored["amount"] != contract.amount:
            planned = contract.plan.aggregate(total=Sum("amount"))["total"]
            if planned is not None and planned != contract.amount:
                errors["amount"] = _(
                    "The payment plan totals %(plan)s: change the plan together with the amount "
                    "(or clear the plan first)."
                ) % {"plan": fmt(planned, contract.currency)}
            paid = contract.payments.aggregate(total=Sum("amount"))["total"] or ZERO
            if contract.amount < paid:
                errors["amount"] = _("%(paid)s has been paid already: the amount cannot be less.") % {
                    "paid": fmt(paid, contract.currency)
                }
    if errors:
        raise ValidationError(errors)
    pending = getattr(contract, "_kehu_transition", None)
    if pending is not None:
        contract.status, contract.status_reason = pending
        contract._kehu_transition = None  # type: ignore[attr-defined]
        contract._kehu_became = contract.status  # type: ignore[attr-defined]


def contract_after_save(contract: Contract, ctx: Context, is_new: bool) -> None:
    """A contract that becomes active moves a lead customer to the won stage and, with an end
    date, gets the renewal reminder: a task for its owner, once; moving the end date moves the
    task while it is open."""
    became = getattr(contract, "_kehu_became", None)
    contract._kehu_became = None  # type: ignore[attr-defined]
    if became == ContractStatus.ACTIVE:  # a signed deal: a lead or prospect becomes a customer
        from kehu.customers.lifecycle import promote_on_first_win

        promote_on_first_win(ctx, contract.customer, _("Contract %(contract)s active.") % {"contract": contract.number})
    if became == ContractStatus.ACTIVE and contract.end_date and contract.renewal_task_id is None:
        _create_renewal_task(ctx, contract)
    elif (
        not is_new
        and contract.renewal_task_id is not None
        and getattr(contract, "_kehu_old_end", contract.end_date) != contract.end_date
    ):
        _move_renewal_task(ctx, contract)


def renewal_notice_days() -> int:
    return int(getattr(settings, "KEHU_RENEWAL_NOTICE_DAYS", 30))


def renewal_due(end_date: datetime.date) -> datetime.datetime:
    """Nine in the morning (local time), ``KEHU_RENEWAL_NOTICE_DAYS`` before the end date."""
    day = end_date - datetime.timedelta(days=renewal_notice_days())
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(9, 0)))


def _system(ctx: Context) -> Context:
    return Context(user=ctx.user, source=Source.SYSTEM, ip=ctx.ip, token=None)


def _create_renewal_task(ctx: Context, contract: Contract) -> None:
    from kehu.activities.models import TaskKind
    from kehu.platform.records import registry

    task_rt = registry.get("task")
    if task_rt is None or not can(ctx.user, task_rt, "add") or contract.end_date is None:
        return  # the actor may not plan tasks: no reminder (documented)
    task = record_services.record_create(
        task_rt,
        ctx=_system(ctx),
        data={
            "title": _("Renew %(contract)s") % {"contract": contract},
            "kind": TaskKind.FOLLOW_UP,
            "description": _("The contract ends on %(date)s.") % {"date": contract.end_date.isoformat()},
            "customer": contract.customer,
            "owner": contract.owner,
            "due_at": renewal_due(contract.end_date),
        },
    )
    Contract.all_objects.filter(pk=contract.pk).update(renewal_task=task)
    contract.renewal_task = task


def _move_renewal_task(ctx: Context, contract: Contract) -> None:
    from kehu.activities.models import Task, TaskStatus
    from kehu.platform.records import registry

    task = Task.objects.filter(pk=contract.renewal_task_id, status=TaskStatus.OPEN).first()
    if task is None or contract.end_date is None:
        return
    record_services.record_update(
        registry["task"], ctx=_system(ctx), obj=task, data={"due_at": renewal_due(contract.end_date)}
    )


def contract_create(ctx: Context, data: Mapping[str, Any]) -> Contract:
    from kehu.sales.contracts.records import CONTRACT

    return record_services.record_create(CONTRACT, ctx=ctx, data=data)


def contract_get(ctx: Context, pk: Any, *, lock: bool = False) -> Contract:
    from kehu.sales.contracts.records import CONTRACT

    queryset = visible_to(ctx.user, Contract.objects.all(), CONTRACT)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.select_related("customer").get(pk=pk)
    except (Contract.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def contract_transition(
    ctx: Context, contract: Contract, status: str, reason: str = "", *, version: int | None = None
) -> Contract:
    """Move a contract to ``status`` if ``CONTRACT_TRANSITIONS`` allows it (terminating needs
    a reason; activating needs a start date and, with a plan, a plan that adds up). Raises
    PermissionDenied, ValidationError, StaleVersion."""
    from kehu.sales.contracts.records import CONTRACT

    require(ctx, CONTRACT, "change")
    reason = _check_reason(reason)
    current = contract.status
    if status not in ContractStatus.values:
        raise ValidationError({"status": _("Unknown status %(status)s.") % {"status": status}})
    if status == current:
        raise ValidationError(
            {"status": _("The contract is %(status)s already.") % {"status": ContractStatus(status).label}}
        )
    if status not in CONTRACT_TRANSITIONS[current]:
        allowed = ", ".join(str(ContractStatus(s).label) for s in CONTRACT_TRANSITIONS[current])
        raise ValidationError(
            {
                "status": _("A contract cannot move from %(from)s to %(to)s (allowed: %(allowed)s).")
                % {
                    "from": ContractStatus(current).label,
                    "to": ContractStatus(status).label,
                    "allowed": allowed or _("none, it is closed"),
                }
            }
        )
    if status == ContractStatus.TERMINATED and not reason:
        raise ValidationError({"reason": _("Give a reason for terminating the contract.")})
    if status == ContractStatus.ACTIVE:
        planned = contract.plan.aggregate(total=Sum("amount"))["total"]
        if planned is not None and planned != contract.amount:
            raise ValidationError({"plan": _plan_mismatch(planned, contract.amount, contract.currency)})
        if current == ContractStatus.EXPIRED and contract.end_date and contract.end_date < timezone.localdate():
            raise ValidationError({"end_date": _("Extend the end date before activating the contract again.")})
    contract._kehu_transition = (status, reason)  # type: ignore[attr-defined]
    try:
        return record_services.record_update(CONTRACT, ctx=ctx, obj=contract, data={}, version=version)
    finally:
        contract._kehu_transition = None  # type: ignore[attr-defined]


def _plan_mismatch(planned: Decimal, amount: Decimal, code: str) -> str:
    return _("The instalments add up to %(plan)s but the contract amount is %(amount)s (difference %(diff)s).") % {
        "plan": fmt(planned, code),
        "amount": fmt(amount, code),
        "diff": fmt(amount - planned, code),
    }


def _decimal(value: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    if isinstance(value, float):
        errors[field] = _("Send amounts as strings or exact decimals, never floating-point numbers.")
        return None
    try:
        result = Decimal(str(value).strip()) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        result = None
    if result is None or not result.is_finite():
        errors[field] = _("Enter a number.")
        return None
    return result


def _date(value: Any, field: str, errors: dict[str, str]) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        errors[field] = _("Enter a valid date (YYYY-MM-DD).")
        return None


def contract_split_plan(
    ctx: Context,
    contract: Contract,
    count: int,
    first_due: datetime.date | None = None,
    *,
    every_months: int = 1,
    version: int | None = None,
) -> list[PaymentInstalment]:
    """Replace the plan by ``count`` equal instalments, one every ``every_months`` months from
    ``first_due`` (default: the contract's start), exact to the cent (``split_evenly``)."""
    start = first_due or contract.start_date
    rows = split_evenly(contract.amount, contract.currency, count, start, every_months=every_months)
    return contract_set_plan(ctx, contract, rows, version=version)


def contract_set_plan(
    ctx: Context, contract: Contract, rows: Sequence[Mapping[str, Any]], *, version: int | None = None
) -> list[PaymentInstalment]:
    """Replace the payment plan: instalments (``due_date``, ``amount``, ``note``) whose total
    is the contract amount exactly (an empty list clears the plan). Raises
    PermissionDenied, ValidationError (errors named ``plan.<n>.<field>``, or ``plan`` with
    both totals), StaleVersion."""
    from kehu.sales.contracts.records import CONTRACT

    require(ctx, CONTRACT, "change")
    if contract.is_deleted:
        raise NotVisible
    if len(rows) > MAX_INSTALMENTS:
        raise ValidationError({"plan": _("A plan has at most %(max)d instalments.") % {"max": MAX_INSTALMENTS}})
    errors: dict[str, str] = {}
    instalments: list[PaymentInstalment] = []
    exponent = Decimal(1).scaleb(-places(contract.currency))
    for index, row in enumerate(rows):
        unknown = sorted(set(row) - {"due_date", "amount", "note"})
        for name in unknown:
            errors[f"plan.{index}.{name}"] = _("This field cannot be set.")
        amount = _decimal(row.get("amount"), f"plan.{index}.amount", errors)
        due = _date(row.get("due_date"), f"plan.{index}.due_date", errors)
        note = str(row.get("note") or "")[:200]
        if amount is not None:
            if amount <= 0:
                errors[f"plan.{index}.amount"] = _("An instalment must be more than zero.")
            elif amount != amount.quantize(exponent):
                errors[f"plan.{index}.amount"] = _("%(code)s amounts have at most %(places)d decimal places.") % {
                    "code": contract.currency,
                    "places": places(contract.currency),
                }
        if amount is not None and due is not None:
            instalments.append(PaymentInstalment(contract=contract, due_date=due, amount=amount, note=note))
    if errors:
        raise ValidationError(errors)
    total = sum((item.amount for item in instalments), ZERO)
    if instalments and total != contract.amount:
        raise ValidationError({"plan": _plan_mismatch(total, contract.amount, contract.currency)})
    instalments.sort(key=lambda item: item.due_date)
    with transaction.atomic():
        before = _plan_text(contract.plan.all(), contract.currency)
        contract.plan.all().delete()
        PaymentInstalment.objects.bulk_create(instalments)
        after = _plan_text(instalments, contract.currency)
        _bump(Contract, contract, ctx, version)
        if before != after:
            audit_log.audit(ctx, AuditAction.UPDATE, contract, changes={"plan": [before, after]})
            publish(_event(CONTRACT.key, contract, ctx, ["plan"]))
    return instalments


def _plan_text(instalments: Iterable[PaymentInstalment], code: str) -> str:
    return "; ".join(f"{item.due_date.isoformat()} {quantize(item.amount, code)}" for item in instalments)


def contract_add_attachment(ctx: Context, contract: Contract, upload: Any) -> Any:
    """Attach an uploaded file (size and content type checked by ``attachments.check``)."""
    from kehu.sales.contracts import attachments
    from kehu.sales.contracts.models import ContractAttachment
    from kehu.sales.contracts.records import CONTRACT

    require(ctx, CONTRACT, "change")
    content_type = attachments.check(upload)
    with transaction.atomic():
        attachment = ContractAttachment(
            contract=contract,
            name=attachments.clean_name(upload.name),
            content_type=content_type,
            size=upload.size,
            uploaded_by=ctx.user,
        )
        attachment.file.save(attachments.stored_name(upload.name), upload, save=False)
        attachment.save()
        audit_log.audit(ctx, AuditAction.UPDATE, contract, changes={"attachments": [None, attachment.name]})
        publish(_event(CONTRACT.key, contract, ctx, ["attachments"]))
    return attachment


def contract_remove_attachment(ctx: Context, contract: Contract, attachment: Any) -> None:
    from kehu.sales.contracts.records import CONTRACT

    require(ctx, CONTRACT, "change")
    with transaction.atomic():
        name = attachment.name
        storage, path = attachment.file.storage, attachment.file.name
        attachment.delete()
        audit_log.audit(ctx, AuditAction.UPDATE, contract, changes={"attachments": [name, None]})
        publish(_event(CONTRACT.key, contract, ctx, ["attachments"]))
        transaction.on_commit(lambda: storage.delete(path))


# ---------------------------------------------------------------- payments


def payment_prepare(payment: Payment, ctx: Context, is_new: bool) -> None:
    """A payment pays exactly one contract or order, of its customer, in its currency, and not
    more than is still owed; it belongs to the owner and team of what it pays."""
    errors: dict[str, str] = {}
    target: Contract | Order | None = payment.contract or payment.order
    if payment.contract_id and payment.order_id:
        errors["order"] = _("A payment pays a contract or an order, not both.")
    elif target is None:
        errors["contract"] = _("Choose the contract or the order this payment is for.")
    if target is not None and not errors:
        if payment.customer_id is None:
            payment.customer_id = target.customer_id
        elif payment.customer_id != target.customer_id:
            errors["customer"] = _("%(record)s belongs to another customer.") % {"record": target}
        code = (payment.currency or "").strip().upper() or target.currency
        if code != target.currency:
            errors["currency"] = _("%(record)s is in %(code)s: record the payment in %(code)s.") % {
                "record": target,
                "code": target.currency,
            }
        payment.currency = code
        payment.owner_id, payment.team_id = target.owner_id, target.team_id
        if isinstance(target, Order) and target.contract_id is not None:
            errors["order"] = _("This order is billed by contract %(contract)s: record the payment there.") % {
                "contract": target.contract
            }
        elif isinstance(target, Order) and target.status not in ORDER_BOOKED:
            errors["order"] = _("Only confirmed or fulfilled orders take payments.")
        if isinstance(target, Contract) and target.status in (ContractStatus.DRAFT, ContractStatus.UNDER_APPROVAL):
            errors["contract"] = _("Payments are recorded once the contract is active.")
        if payment.amount is not None and not errors:
            exponent = Decimal(1).scaleb(-places(code))
            if payment.amount != payment.amount.quantize(exponent):
                errors["amount"] = _("%(code)s amounts have at most %(places)d decimal places.") % {
                    "code": code,
                    "places": places(code),
                }
            else:
                owed = _owed(target, exclude=payment.pk)
                if payment.amount > owed:
                    errors["amount"] = _("%(record)s has %(owed)s outstanding: a payment of %(amount)s is more.") % {
                        "record": target,
                        "owed": fmt(owed, code),
                        "amount": fmt(payment.amount, code),
                    }
    elif payment.owner_id is None:
        payment.owner = ctx.user
    if errors:
        raise ValidationError(errors)


def _owed(target: Contract | Order, *, exclude: int | None) -> Decimal:
    payments = Payment.objects.filter(**{"contract" if isinstance(target, Contract) else "order": target})
    if exclude is not None:
        payments = payments.exclude(pk=exclude)
    paid = payments.aggregate(total=Sum("amount"))["total"] or ZERO
    amount = target.amount if isinstance(target, Contract) else target.total
    return amount - paid


def payment_create(ctx: Context, data: Mapping[str, Any]) -> Payment:
    from kehu.sales.contracts.records import PAYMENT

    return record_services.record_create(PAYMENT, ctx=ctx, data=data)


# ---------------------------------------------------------------- orders


def order_prepare(order: Order, ctx: Context, is_new: bool) -> None:
    errors: dict[str, str] = {}
    if order.contract is not None and order.customer_id is None:
        order.customer_id = order.contract.customer_id
    if order.contract is not None and not (order.currency or "").strip():
        order.currency = order.contract.currency
    check_currency(order, errors)
    _same_customer(order, "contract", errors, _("This contract is with another customer."))
    _same_customer(order, "opportunity", errors, _("This opportunity is about another customer."))
    if order.contract is not None and order.contract.currency != order.currency and "contract" not in errors:
        errors["currency"] = _("The contract is in %(code)s: the order must be too.") % {
            "code": order.contract.currency
        }
    if not is_new:
        stored = Order.all_objects.filter(pk=order.pk).values("currency").first()
        if stored and stored["currency"] != order.currency and order.lines.exists():
            errors["currency"] = _("The order has lines in %(code)s: clear them before changing the currency.") % {
                "code": stored["currency"]
            }
    if errors:
        raise ValidationError(errors)
    pending = getattr(order, "_kehu_transition", None)
    if pending is not None:
        order.status = pending
        order._kehu_transition = None  # type: ignore[attr-defined]
        order._kehu_became = pending  # type: ignore[attr-defined]


def order_after_save(order: Order, ctx: Context, is_new: bool) -> None:
    """The customer's first booked order moves a lead to the won stage."""
    became = getattr(order, "_kehu_became", None)
    order._kehu_became = None  # type: ignore[attr-defined]
    if became == OrderStatus.CONFIRMED:
        earlier = Order.objects.filter(customer_id=order.customer_id, status__in=ORDER_BOOKED).exclude(pk=order.pk)
        if not earlier.exists():
            from kehu.customers.lifecycle import promote_on_first_win

            promote_on_first_win(ctx, order.customer, _("First order %(order)s confirmed.") % {"order": order.number})


def order_create(ctx: Context, data: Mapping[str, Any]) -> Order:
    from kehu.sales.contracts.records import ORDER

    return record_services.record_create(ORDER, ctx=ctx, data=data)


def order_get(ctx: Context, pk: Any) -> Order:
    from kehu.sales.contracts.records import ORDER

    try:
        return visible_to(ctx.user, Order.objects.all(), ORDER).select_related("customer").get(pk=pk)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def order_transition(ctx: Context, order: Order, status: str, *, version: int | None = None) -> Order:
    """Move an order to ``status`` if ``ORDER_TRANSITIONS`` allows it; confirming needs at
    least one line. Raises PermissionDenied, ValidationError, StaleVersion."""
    from kehu.sales.contracts.records import ORDER

    require(ctx, ORDER, "change")
    current = order.status
    if status not in OrderStatus.values:
        raise ValidationError({"status": _("Unknown status %(status)s.") % {"status": status}})
    if status not in ORDER_TRANSITIONS[current]:
        allowed = ", ".join(str(OrderStatus(s).label) for s in ORDER_TRANSITIONS[current])
        raise ValidationError(
            {
                "status": _("An order cannot move from %(from)s to %(to)s (allowed: %(allowed)s).")
                % {
                    "from": OrderStatus(current).label,
                    "to": OrderStatus(status).label,
                    "allowed": allowed or _("none, it is closed"),
                }
            }
        )
    if status == OrderStatus.CONFIRMED and not order.lines.exists():
        raise ValidationError({"lines": _("Add at least one line before confirming the order.")})
    if status in (OrderStatus.CANCELLED, OrderStatus.DRAFT) and order.payments.exists():
        raise ValidationError({"status": _("The order has payments: it cannot be cancelled or reopened.")})
    order._kehu_transition = status  # type: ignore[attr-defined]
    try:
        return record_services.record_update(ORDER, ctx=ctx, obj=order, data={}, version=version)
    finally:
        order._kehu_transition = None  # type: ignore[attr-defined]


def line_amounts(
    quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, tax_rate: Decimal, code: str
) -> tuple[Decimal, Decimal]:
    """A line's net amount and tax, each rounded half-up to the currency's places once (the
    order's totals are the sums of these rounded figures, so they never drift): the same
    arithmetic as an opportunity's lines, whose lines an order copies."""
    amount = calc.line_amount(quantity, unit_price, discount_percent, code)
    return amount, calc.line_tax(amount, tax_rate, code)


def _round_field(value: Decimal, places_: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places_), rounding=ROUND_HALF_UP)


def build_lines(order: Order, rows: Sequence[Mapping[str, Any]]) -> list[OrderLine]:
    """Order lines from plain rows (``product``, ``description``, ``quantity``,
    ``unit_price``, ``discount_percent``, ``tax_rate``), validated, with their amounts."""
    from kehu.platform.records import registry

    errors: dict[str, str] = {}
    product_ids = {row.get("product") for row in rows if row.get("product") not in (None, "")}
    products: dict[str, Any] = {}
    product_rt = registry.get("product")
    if product_ids and product_rt is not None:
        model = product_rt.model
        found = model.objects.filter(pk__in=[pid for pid in product_ids if str(pid).isdigit()])
        products = {str(p.pk): p for p in found}
    existing = set(order.lines.values_list("product_id", flat=True)) if order.pk else set()
    lines: list[OrderLine] = []
    allowed = {"product", "description", "quantity", "unit_price", "discount_percent", "tax_rate"}
    for index, row in enumerate(rows):
        prefix = f"lines.{index}"
        for name in sorted(set(row) - allowed):
            errors[f"{prefix}.{name}"] = _("This field cannot be set.")
        product = None
        if row.get("product") not in (None, ""):
            product = products.get(str(row["product"]))
            if product is None:
                errors[f"{prefix}.product"] = _("Select a valid product.")
            elif not getattr(product, "active", True) and product.pk not in existing:
                errors[f"{prefix}.product"] = _("%(product)s is archived.") % {"product": product}
        description = str(row.get("description") or "").strip()[:300]
        if not description and product is not None:
            description = str(product.name)[:300]
        if not description and product is None:
            errors[f"{prefix}.description"] = _("Give a product or a description.")
        quantity = _decimal(row.get("quantity", "1"), f"{prefix}.quantity", errors)
        unit_price = _decimal(row.get("unit_price"), f"{prefix}.unit_price", errors)
        discount = _decimal(row.get("discount_percent") or "0", f"{prefix}.discount_percent", errors)
        default_tax = getattr(product, "tax_rate", None) if product is not None else None
        tax_rate = _decimal(
            row.get("tax_rate") if row.get("tax_rate") not in (None, "") else (default_tax or "0"),
            f"{prefix}.tax_rate",
            errors,
        )
        if quantity is not None and quantity <= 0:
            errors[f"{prefix}.quantity"] = _("The quantity must be more than zero.")
        if unit_price is not None and unit_price < 0:
            errors[f"{prefix}.unit_price"] = _("The unit price cannot be negative.")
        for name, value in (("discount_percent", discount), ("tax_rate", tax_rate)):
            if value is not None and not 0 <= value <= HUNDRED:
                errors[f"{prefix}.{name}"] = _("Give a percentage from 0 to 100.")
        for name, value, digits in (("quantity", quantity, 4), ("unit_price", unit_price, 4)):
            if value is not None and (value != _round_field(value, digits) or abs(value) >= Decimal(10) ** 14):
                errors[f"{prefix}.{name}"] = _("At most 14 digits before and 4 after the decimal point.")
        for name, value in (("discount_percent", discount), ("tax_rate", tax_rate)):
            if value is not None and value != _round_field(value, 2):
                errors[f"{prefix}.{name}"] = _("At most 2 decimal places.")
        if any(f"{prefix}." in key for key in errors):
            continue
        assert quantity is not None
        assert unit_price is not None
        assert discount is not None
        assert tax_rate is not None
        amount, tax = line_amounts(quantity, unit_price, discount, tax_rate, order.currency)
        if abs(amount) >= Decimal(10) ** 16:
            errors[f"{prefix}.amount"] = _("The line amount is too large.")
            continue
        lines.append(
            OrderLine(
                order=order,
                position=index + 1,
                product=product,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=discount,
                tax_rate=tax_rate,
                amount=amount,
                tax_amount=tax,
            )
        )
    if errors:
        raise ValidationError(errors)
    return lines


def order_set_lines(
    ctx: Context, order: Order, rows: Sequence[Mapping[str, Any]], *, version: int | None = None
) -> list[OrderLine]:
    """Replace an order's lines and keep its totals (subtotal = sum of line amounts, tax = sum
    of line taxes, total = subtotal + tax, all exact). Only a draft order's lines change.
    Raises PermissionDenied, ValidationError (``lines.<n>.<field>``), StaleVersion."""
    from kehu.sales.contracts.records import ORDER

    require(ctx, ORDER, "change")
    if order.is_deleted:
        raise NotVisible
    if order.status != OrderStatus.DRAFT:
        raise ValidationError(
            {
                "lines": _("Only a draft order's lines can change; this order is %(status)s.")
                % {"status": OrderStatus(order.status).label}
            }
        )
    if len(rows) > MAX_LINES:
        raise ValidationError({"lines": _("An order has at most %(max)d lines.") % {"max": MAX_LINES}})
    lines = build_lines(order, rows)
    subtotal = sum((line.amount for line in lines), ZERO)
    tax = sum((line.tax_amount for line in lines), ZERO)
    with transaction.atomic():
        before = {"subtotal": str(order.subtotal), "tax": str(order.tax), "total": str(order.total)}
        order.lines.all().delete()
        OrderLine.objects.bulk_create(lines)
        _bump(Order, order, ctx, version, subtotal=subtotal, tax=tax, total=subtotal + tax)
        after = {"subtotal": str(order.subtotal), "tax": str(order.tax), "total": str(order.total)}
        changes = audit_log.diff(before, after)
        changes["lines"] = [None, len(lines)]
        audit_log.audit(ctx, AuditAction.UPDATE, order, changes=changes)
        publish(_event(ORDER.key, order, ctx, changes))
    return lines


def order_from_opportunity(ctx: Context, opportunity: Any) -> Order:
    """A draft order for a won opportunity: its customer, currency and a copy of its lines
    (or one line with its amount when it has none). One order per opportunity. Raises
    PermissionDenied, ValidationError."""
    with transaction.atomic():
        if getattr(opportunity, "status", "") != "won":
            raise ValidationError({"opportunity": _("Only a won opportunity becomes an order.")})
        existing = Order.objects.filter(opportunity=opportunity).first()
        if existing is not None:
            raise ValidationError(
                {"opportunity": _("Order %(order)s was made from this opportunity already.") % {"order": existing}}
            )
        order = order_create(
            ctx,
            {
                "customer": opportunity.customer_id,
                "opportunity": opportunity.pk,
                "currency": opportunity.currency_id if hasattr(opportunity, "currency_id") else opportunity.currency,
                "order_date": timezone.localdate(),
            },
        )
        rows: list[dict[str, Any]] = [
            {
                "product": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "tax_rate": line.tax_rate,
            }
            for line in opportunity.lines.all().order_by("pk")
        ]
        if not rows and opportunity.amount:
            rows = [{"description": str(opportunity.name)[:300], "quantity": "1", "unit_price": opportunity.amount}]
        if rows:
            order_set_lines(ctx, order, rows)
    return order


# ---------------------------------------------------------------- credit limit


def credit_set(ctx: Context, customer: Any, *, limit: Decimal | None, rating: str | None = None) -> Any:
    """Set a customer's credit limit (in the reporting currency; ``None``: no limit) and
    optionally its rating. Needs ``contracts.set_credit_limit`` (managers, admins) and a
    customer the actor can see. Audited on the customer."""
    from django.core.exceptions import PermissionDenied

    from kehu.customers.models import CreditRating, Customer
    from kehu.customers.records import CUSTOMER

    if not ctx.user.has_perm("contracts.set_credit_limit") or (
        ctx.token is not None and not ctx.token.allows(CUSTOMER.area, write=True)
    ):
        raise PermissionDenied(_("Only managers set credit limits."))
    if not visible_to(ctx.user, Customer.objects.filter(pk=customer.pk), CUSTOMER).exists():
        raise NotVisible
    errors: dict[str, str] = {}
    if limit is not None:
        if limit < 0 or limit >= Decimal(10) ** 16:
            errors["credit_limit"] = _("Give a limit from 0 up to 16 digits, or none.")
        elif limit != _round_field(limit, 2):
            errors["credit_limit"] = _("At most 2 decimal places.")
    if rating is not None and rating not in CreditRating.values and rating != "":
        errors["credit_rating"] = _("Unknown rating %(rating)s.") % {"rating": rating}
    if errors:
        raise ValidationError(errors)
    values: dict[str, Any] = {"credit_limit": limit}
    if rating is not None:
        values["credit_rating"] = rating
    with transaction.atomic():
        before = {name: audit_log.json_value(customer, name) for name in values}
        for name, value in values.items():
            setattr(customer, name, value)
        after = {name: audit_log.json_value(customer, name) for name in values}
        changes = audit_log.diff(before, after)
        if not changes:
            return customer
        _bump(Customer, customer, ctx, None, **values)
        audit_log.audit(ctx, AuditAction.UPDATE, customer, changes=changes)
        publish(_event("customer", customer, ctx, changes))
    return customer
