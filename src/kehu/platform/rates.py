"""Writes for currencies and exchange rates (settings pages, CSV import, the API): checked,
validated and audited here. Reads and conversions are in ``kehu.platform.money``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform import money
from kehu.platform.context import Context
from kehu.platform.models import AuditAction, Currency, ExchangeRate

CURRENCY_PERMISSION = "platform.change_currency"
RATE_ADD_PERMISSION = "platform.add_exchangerate"
RATE_CHANGE_PERMISSION = "platform.change_exchangerate"
MAX_RATE = Decimal("99999999999999")  # DecimalField(24, 10)
RATE_PLACES = Decimal("1E-10")
MAX_IMPORT_ROWS = 20000


def can_manage_currencies(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(CURRENCY_PERMISSION))


def can_manage_rates(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(RATE_ADD_PERMISSION) and user.has_perm(RATE_CHANGE_PERMISSION))


def _require(ctx: Context, *permissions: str) -> None:
    allowed = all(ctx.user.has_perm(p) for p in permissions)
    if not allowed or (ctx.token is not None and not ctx.token.allows("products", write=True)):
        raise PermissionDenied(_("You do not have permission to change currencies or exchange rates."))


# ---------------------------------------------------------------- currencies


def _audit_currency(ctx: Context, action: str, currency: Currency, changes: dict[str, Any]) -> None:
    """Audit entries take numeric record ids: a currency (keyed by its code) is named by
    ``object_repr`` and ``extra.code``."""
    from django.contrib.contenttypes.models import ContentType

    entry = audit_log.entry_for(ctx, action, None, changes=changes, extra={"code": currency.code})
    entry.content_type = ContentType.objects.get_for_model(Currency)
    entry.object_repr = currency.code
    entry.save()


def currency_add(ctx: Context, code: str) -> Currency:
    """Add (or reactivate) an ISO 4217 currency with Babel's name and decimal places."""
    from babel.numbers import get_currency_name, get_currency_precision

    _require(ctx, CURRENCY_PERMISSION)
    code = (code or "").strip().upper()
    if len(code) != 3 or not code.isalpha() or get_currency_name(code, locale="en") == code:
        raise ValidationError({"code": _("“%(code)s” is not an ISO 4217 currency code.") % {"code": code}})
    with transaction.atomic():
        currency, created = Currency.objects.get_or_create(
            code=code,
            defaults={
                "name": get_currency_name(code, locale="en"),
                "decimal_places": get_currency_precision(code),
                "active": True,
            },
        )
        if created:
            _audit_currency(ctx, AuditAction.CREATE, currency, {"code": [None, code], "active": [None, True]})
        elif not currency.active:
            currency_set_active(ctx, currency, True)
    return currency


def currency_set_active(ctx: Context, currency: Currency, active: bool) -> Currency:
    """Offer a currency in forms again, or stop offering it (its amounts and rates stay). The
    reporting currency stays active."""
    _require(ctx, CURRENCY_PERMISSION)
    if not active and currency.code == money.reporting_currency():
        raise ValidationError(
            {"active": _("%(code)s is the reporting currency and stays active.") % {"code": currency.code}}
        )
    if currency.active == active:
        return currency
    with transaction.atomic():
        before = currency.active
        currency.active = active
        currency.save(update_fields=["active"])
        _audit_currency(ctx, AuditAction.UPDATE, currency, {"active": [before, active]})
    return currency


# ---------------------------------------------------------------- rates


def parse_rate(value: Any) -> Decimal:
    """A positive rate with at most 10 decimal places; raises ValidationError."""
    if isinstance(value, bool | float):
        raise ValidationError(_("Give the rate as a decimal string, e.g. “7.1234”."))
    try:
        rate = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": value}) from None
    if not rate.is_finite() or rate <= 0:
        raise ValidationError(_("The rate must be greater than zero."))
    if rate != rate.quantize(RATE_PLACES) or rate >= MAX_RATE:
        raise ValidationError(_("Use at most 10 decimal places and 14 digits before the point."))
    return rate


def parse_day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}) from None


@dataclass
class RateRow:
    currency: str
    rate_date: dt.date
    rate: Decimal


def _check_currency(code: Any, known: Mapping[str, Currency]) -> str:
    code = str(code or "").strip().upper()
    if code not in known:
        raise ValidationError(_("Unknown currency “%(code)s”: add it under Settings → Currencies.") % {"code": code})
    if code == money.reporting_currency():
        raise ValidationError(_("%(code)s is the reporting currency: its rate is always 1.") % {"code": code})
    return code


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rates: list[ExchangeRate] = field(default_factory=list)


def _upsert(ctx: Context, rows: list[RateRow], source: str) -> UpsertResult:
    """Create or change rates by (currency, date) in bulk; one audit entry per change."""
    result = UpsertResult()
    if not rows:
        return result
    latest: dict[tuple[str, dt.date], RateRow] = {}
    for row in rows:  # the last line for a (currency, day) wins
        latest[(row.currency, row.rate_date)] = row
    codes = sorted({c for c, _d in latest})
    days = [d for _c, d in latest]
    existing = {
        (r.currency_id, r.rate_date): r
        for r in ExchangeRate.objects.select_for_update().filter(
            currency_id__in=codes, rate_date__gte=min(days), rate_date__lte=max(days)
        )
    }
    now = timezone.now()
    to_create: list[ExchangeRate] = []
    to_update: list[ExchangeRate] = []
    entries = []
    for key, row in latest.items():
        current = existing.get(key)
        if current is None:
            obj = ExchangeRate(
                currency_id=row.currency,
                rate_date=row.rate_date,
                rate=row.rate,
                source=source,
                created_by=ctx.user,
                created_at=now,
                updated_at=now,
            )
            to_create.append(obj)
        elif current.rate != row.rate:
            entries.append(
                (
                    current,
                    {"rate": [str(current.rate), str(row.rate)], "source": [current.source, source]},
                )
            )
            current.rate, current.source, current.updated_at = row.rate, source, now
            to_update.append(current)
        else:
            result.unchanged += 1
            result.rates.append(current)
    if to_create:
        ExchangeRate.objects.bulk_create(to_create, batch_size=500)
        if to_create[0].pk is None:  # a backend without RETURNING: read the ids back
            created = {
                (r.currency_id, r.rate_date): r
                for r in ExchangeRate.objects.filter(
                    currency_id__in=codes, rate_date__in=[o.rate_date for o in to_create]
                )
            }
            to_create = [created[(o.currency_id, o.rate_date)] for o in to_create]
    if to_update:
        ExchangeRate.objects.bulk_update(to_update, ["rate", "source", "updated_at"], batch_size=500)
    audit_entries = [
        audit_log.entry_for(
            ctx,
            AuditAction.CREATE,
            obj,
            changes={
                "currency": [None, obj.currency_id],
                "rate_date": [None, obj.rate_date.isoformat()],
                "rate": [None, str(obj.rate)],
            },
        )
        for obj in to_create
    ] + [audit_log.entry_for(ctx, AuditAction.UPDATE, obj, changes=changes) for obj, changes in entries]
    if audit_entries:
        from kehu.platform.models import AuditEntry

        AuditEntry.objects.bulk_create(audit_entries, batch_size=500)
    result.created, result.updated = len(to_create), len(to_update)
    result.rates = [*to_create, *to_update, *result.rates]
    return result


def rates_upsert(
    ctx: Context, items: Iterable[Mapping[str, Any]], source: str = ExchangeRate.Source.API
) -> UpsertResult:
    """Create or change rates from ``{"currency", "rate_date" (or "date"), "rate"}`` items, all
    or none: a bad item raises ValidationError naming it (``items.<n>.<field>``)."""
    _require(ctx, RATE_ADD_PERMISSION, RATE_CHANGE_PERMISSION)
    items = list(items)
    known = {c.code: c for c in Currency.objects.all()}
    rows: list[RateRow] = []
    errors: dict[str, list[str]] = {}
    for n, item in enumerate(items):
        prefix = f"items.{n}." if len(items) > 1 else ""
        values: dict[str, Any] = {}
        for name, check in (
            ("currency", lambda v: _check_currency(v, known)),
            ("rate_date", parse_day),
            ("rate", parse_rate),
        ):
            raw = item.get(name, item.get("date") if name == "rate_date" else None)
            if raw in (None, ""):
                errors[f"{prefix}{name}"] = [_("This field is required.")]
                continue
            try:
                values[name] = check(raw)
            except ValidationError as error:
                errors[f"{prefix}{name}"] = error.messages
        if len(values) == 3:
            rows.append(RateRow(values["currency"], values["rate_date"], values["rate"]))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _upsert(ctx, rows, source)


def rate_save(
    ctx: Context, rate: ExchangeRate | None, data: Mapping[str, Any], source: str = ExchangeRate.Source.MANUAL
) -> ExchangeRate:
    """Add a rate (``rate`` None; an existing one for that currency and day is changed) or
    change one (its currency, day and rate)."""
    if rate is None:
        result = rates_upsert(ctx, [data], source=source)
        return result.rates[0]
    _require(ctx, RATE_CHANGE_PERMISSION)
    known = {c.code: c for c in Currency.objects.all()}
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, check in (
        ("currency", lambda v: _check_currency(v, known)),
        ("rate_date", parse_day),
        ("rate", parse_rate),
    ):
        raw = data.get(name, getattr(rate, f"{name}_id" if name == "currency" else name))
        try:
            values[name] = check(raw)
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)
    clash = ExchangeRate.objects.filter(currency_id=values["currency"], rate_date=values["rate_date"]).exclude(
        pk=rate.pk
    )
    if clash.exists():
        raise ValidationError({"rate_date": _("There is already a rate for this currency on this day.")})
    with transaction.atomic():
        before = {"currency": rate.currency_id, "rate_date": rate.rate_date.isoformat(), "rate": str(rate.rate)}
        rate.currency_id, rate.rate_date, rate.rate = values["currency"], values["rate_date"], values["rate"]
        rate.source, rate.updated_at = source, timezone.now()
        rate.save()
        after = {"currency": rate.currency_id, "rate_date": rate.rate_date.isoformat(), "rate": str(rate.rate)}
        changes = audit_log.diff(before, after)
        if changes:
            audit_log.audit(ctx, AuditAction.UPDATE, rate, changes=changes)
    return rate


def rate_delete(ctx: Context, rate: ExchangeRate) -> None:
    _require(ctx, RATE_CHANGE_PERMISSION)
    with transaction.atomic():
        audit_log.audit(
            ctx,
            AuditAction.DELETE,
            rate,
            changes={"rate": [str(rate.rate), None]},
            extra={"currency": rate.currency_id, "rate_date": rate.rate_date.isoformat()},
        )
        rate.delete()


# ---------------------------------------------------------------- CSV import


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    dry_run: bool = True

    @property
    def ok(self) -> bool:
        return not self.errors


def rates_import_csv(ctx: Context, content: bytes | str, *, dry_run: bool = True) -> ImportReport:
    """Read ``currency,date,rate`` lines (a header line is optional; UTF-8, with or without a
    BOM). Every line is checked first: with any bad line nothing is written and the report
    lists each bad line with its number. ``dry_run`` only counts what would be created and
    changed. All or nothing in one transaction."""
    _require(ctx, RATE_ADD_PERMISSION, RATE_CHANGE_PERMISSION)
    report = ImportReport(dry_run=dry_run)
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            report.errors.append((0, _("The file is not UTF-8 text.")))
            return report
    else:
        text = content.lstrip("\ufeff")
    known = {c.code: c for c in Currency.objects.all()}
    rows: list[RateRow] = []
    reader = csv.reader(io.StringIO(text))
    for line_no, cells in enumerate(reader, start=1):
        if not cells or all(not c.strip() for c in cells):
            continue
        if line_no == 1 and [c.strip().lower() for c in cells[:3]] == ["currency", "date", "rate"]:
            continue
        report.rows += 1
        if report.rows > MAX_IMPORT_ROWS:
            report.errors.append(
                (line_no, _("Too many lines: import at most %(max)d at a time.") % {"max": MAX_IMPORT_ROWS})
            )
            break
        if len(cells) != 3:
            report.errors.append(
                (line_no, _("Expected 3 values (currency,date,rate), found %(count)d.") % {"count": len(cells)})
            )
            continue
        try:
            code = _check_currency(cells[0], known)
            day = parse_day(cells[1])
            rate = parse_rate(cells[2])
        except ValidationError as error:
            report.errors.append((line_no, " ".join(error.messages)))
            continue
        rows.append(RateRow(code, day, rate))
    if report.rows == 0 and not report.errors:
        report.errors.append((0, _("The file has no rate lines.")))
    if report.errors:
        return report
    with transaction.atomic():
        savepoint = transaction.savepoint()
        result = _upsert(ctx, rows, ExchangeRate.Source.CSV)
        report.created, report.updated, report.unchanged = result.created, result.updated, result.unchanged
        if dry_run:
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
    return report


def rates_list(currency: str = "", date_from: dt.date | None = None, date_to: dt.date | None = None) -> Any:
    """Rates, newest first, optionally of one currency and between two days (inclusive)."""
    queryset = ExchangeRate.objects.select_related("currency", "created_by").order_by("-rate_date", "currency_id")
    if currency:
        queryset = queryset.filter(currency_id=currency.upper())
    if date_from:
        queryset = queryset.filter(rate_date__gte=date_from)
    if date_to:
        queryset = queryset.filter(rate_date__lte=date_to)
    return queryset
