"""Sales quotas: what each salesperson is expected to win per month. Managers (and admins)
set them for the users they can see; the forecast compares them with the won amounts."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform import money
from kehu.platform.context import Context
from kehu.platform.models import AuditAction
from kehu.sales.opportunities.models import Quota

VIEW_PERMISSION = "opportunities.view_quota"
EDIT_PERMISSION = "opportunities.change_quota"


def can_view(user: Any) -> bool:
    return bool(user.is_authenticated and (user.has_perm(VIEW_PERMISSION) or user.has_perm(EDIT_PERMISSION)))


def can_edit(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(EDIT_PERMISSION))


def _require(ctx: Context) -> None:
    if not can_edit(ctx.user) or (ctx.token is not None and not ctx.token.allows("sales", write=True)):
        raise PermissionDenied(_("Only managers may set quotas."))


def _editable_users(ctx: Context) -> set[int]:
    from kehu.sales.opportunities.selectors import owners_for_filter

    return set(owners_for_filter(ctx.user).values_list("pk", flat=True))


def quota_grid(users: Iterable[Any], year: int) -> dict[tuple[int, int], Quota]:
    """``{(user id, month): Quota}`` for the users' quotas of ``year`` (one query)."""
    rows = Quota.objects.filter(
        user__in=list(users), period_start__gte=datetime.date(year, 1, 1), period_start__lte=datetime.date(year, 12, 1)
    )
    return {(quota.user_id, quota.period_start.month): quota for quota in rows}


def _amount(raw: Any, key: str, errors: dict[str, str]) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, float | bool):
        errors[key] = _("Give an exact decimal number (as a string), not a float.")
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        errors[key] = _("Enter a number.")
        return None
    if not value.is_finite() or value < 0 or value >= Decimal("1e16"):
        errors[key] = _("Enter an amount of 0 or more.")
        return None
    return value


def quotas_set(ctx: Context, items: Iterable[Mapping[str, Any]]) -> int:
    """Set (or clear, with ``amount`` null or empty) quotas: each item ``user`` (id),
    ``month`` ("YYYY-MM" or a date in the month), ``amount``, ``currency`` (the reporting
    currency by default). Errors name ``<index>.<field>``. Returns how many rows changed."""
    _require(ctx)
    from kehu.platform.models import Currency

    allowed = _editable_users(ctx)
    active = set(Currency.objects.filter(active=True).values_list("code", flat=True))
    errors: dict[str, str] = {}
    wanted: dict[tuple[int, datetime.date], tuple[Decimal | None, str]] = {}
    for index, item in enumerate(items):
        user_id = item.get("user")
        if not isinstance(user_id, int) or user_id not in allowed:
            errors[f"{index}.user"] = _("Select a user you manage.")
            continue
        month = str(item.get("month") or "")
        try:
            start = datetime.date.fromisoformat(month[:7] + "-01")
        except ValueError:
            errors[f"{index}.month"] = _("Give the month as YYYY-MM.")
            continue
        code = str(item.get("currency") or money.reporting_currency()).upper()
        if code not in active:
            errors[f"{index}.currency"] = _("%(code)s is not an active currency.") % {"code": code}
            continue
        amount = _amount(item.get("amount"), f"{index}.amount", errors)
        if amount is not None:
            amount = money.quantize(amount, code)
        wanted[(user_id, start)] = (amount, code)
    if errors:
        raise ValidationError(errors)
    return _write(ctx, wanted)


def quotas_set_year(ctx: Context, year: int, values: Mapping[tuple[int, int], str], currency: str) -> int:
    """The quota grid's form: ``{(user id, month): text}``; empty clears a quota."""
    items = [
        {"user": user_id, "month": f"{year}-{month:02d}", "amount": text, "currency": currency}
        for (user_id, month), text in values.items()
    ]
    try:
        return quotas_set(ctx, items)
    except ValidationError as error:
        keys = list(values)
        named: dict[str, list[str]] = {}
        for key, messages in error.message_dict.items():
            index, _dot, _field = key.partition(".")
            user_id, month = keys[int(index)]
            named[f"q-{user_id}-{month}"] = messages
        raise ValidationError(named) from error


def _write(ctx: Context, wanted: dict[tuple[int, datetime.date], tuple[Decimal | None, str]]) -> int:
    if not wanted:
        return 0
    user_ids = {user_id for user_id, _start in wanted}
    starts = {start for _user, start in wanted}
    changed = 0
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (quota.user_id, quota.period_start): quota
            for quota in Quota.objects.select_for_update().filter(user_id__in=user_ids, period_start__in=starts)
        }
        create, update, delete = [], [], []
        for (user_id, start), (amount, code) in wanted.items():
            quota = existing.get((user_id, start))
            if amount is None:
                if quota is not None:
                    delete.append(quota)
                continue
            if quota is None:
                create.append(Quota(user_id=user_id, period_start=start, amount=amount, currency=code, updated_at=now))
            elif quota.amount != amount or quota.currency != code:
                before = {"amount": str(quota.amount), "currency": quota.currency}
                quota.amount, quota.currency, quota.updated_at = amount, code, now
                quota._before = before  # type: ignore[attr-defined]
                update.append(quota)
        Quota.objects.bulk_create(create)
        Quota.objects.bulk_update(update, ["amount", "currency", "updated_at"])
        Quota.objects.filter(pk__in=[quota.pk for quota in delete]).delete()
        entries = [
            audit_log.entry_for(
                ctx,
                AuditAction.CREATE,
                quota,
                changes={"amount": [None, str(quota.amount)], "currency": [None, quota.currency]},
            )
            for quota in create
        ]
        entries += [
            audit_log.entry_for(
                ctx,
                AuditAction.UPDATE,
                quota,
                changes={
                    "amount": [quota._before["amount"], str(quota.amount)],  # type: ignore[attr-defined]
                    "currency": [quota._before["currency"], quota.currency],  # type: ignore[attr-defined]
                },
            )
            for quota in update
        ]
        entries += [
            audit_log.entry_for(ctx, AuditAction.DELETE, quota, changes={"amount": [str(quota.amount), None]})
            for quota in delete
        ]
        from kehu.platform.models import AuditEntry

        AuditEntry.objects.bulk_create(entries)
        changed = len(create) + len(update) + len(delete)
    return changed
