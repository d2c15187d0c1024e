"""The data quality report: policies (services that check, validate and audit), the scan of
encrypted phone and email values (batched, findings replaced per type in one transaction),
the ``quality`` list filter and the report itself, counted through ``visible_to``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kehu.dataio.quality import checks
from kehu.dataio.quality.models import DEFAULT_INACTIVE_MONTHS, QualityFinding, QualityPolicy, QualityScan
from kehu.platform import audit as audit_log
from kehu.platform.access import can, visible_to
from kehu.platform.context import Context
from kehu.platform.customfields.definitions import cached
from kehu.platform.models import AuditAction
from kehu.platform.records import RecordType, registry

log = logging.getLogger(__name__)

POLICY_PERMISSION = "quality.change_qualitypolicy"
SCAN_BATCH = 2000
MAX_INACTIVE_MONTHS = 120
SCAN_INTERVAL_SECONDS = 24 * 3600  # the housekeeping sweep scans a type at most daily


# ---------------------------------------------------------------- who may do what


def can_configure(ctx_or_user: Any, rt: RecordType | None = None) -> bool:
    """May this user (and token) change policies and start scans? Admins and managers
    (``quality.change_qualitypolicy``); through a token, only with the write scope of the
    type's area (of every area for all types)."""
    user = getattr(ctx_or_user, "user", ctx_or_user)
    token = getattr(ctx_or_user, "token", None)
    if not user.is_authenticated or not user.is_active or not user.has_perm(POLICY_PERMISSION):
        return False
    if token is None:
        return True
    areas = {rt.area} if rt is not None else {t.area for t in registry}
    return all(token.allows(area, write=True) for area in areas)


def can_view_report(user: Any) -> bool:
    """The report shows the types a user may view: anyone who may view one of them."""
    return bool(getattr(user, "is_authenticated", False)) and any(can(user, rt, "view") for rt in registry)


def _require_configure(ctx: Context, rt: RecordType | None = None) -> None:
    if not can_configure(ctx, rt):
        raise PermissionDenied(_("Only administrators and managers may change data quality settings."))


def record_type_or_error(key: str) -> RecordType:
    rt = registry.get(key or "")
    if rt is None:
        raise ValidationError(
            {
                "type": _("Unknown record type %(type)s (one of: %(known)s).")
                % {"type": key, "known": ", ".join(t.key for t in registry)}
            }
        )
    return rt


# ---------------------------------------------------------------- policies


def policy_get(rt: RecordType) -> QualityPolicy:
    """The policy of ``rt`` (its defaults, unsaved, until someone changes it)."""
    found = QualityPolicy.objects.filter(record_type=rt.key).first()
    return found if found is not None else QualityPolicy(record_type=rt.key, required_fields=[])


def policies() -> dict[str, QualityPolicy]:
    saved = {policy.record_type: policy for policy in QualityPolicy.objects.all()}
    return {rt.key: saved.get(rt.key) or QualityPolicy(record_type=rt.key, required_fields=[]) for rt in registry}


def policy_update(ctx: Context, rt: RecordType, data: Mapping[str, Any]) -> QualityPolicy:
    """Set which fields ``rt``'s records should not leave blank (``required_fields``: model
    field names and ``custom.<name>`` keys) and, for customers, after how many months without
    an interaction a customer is inactive (``inactive_months``). Audited. Raises
    PermissionDenied, ValidationError (naming the field)."""
    _require_configure(ctx, rt)
    unknown_keys = set(data) - {"required_fields", "inactive_months"}
    if unknown_keys:
        raise ValidationError({name: _("This field cannot be set.") for name in sorted(unknown_keys)})
    with transaction.atomic():
        policy = QualityPolicy.objects.select_for_update().filter(record_type=rt.key).first()
        if policy is None:
            policy = QualityPolicy(record_type=rt.key, required_fields=[])
        before = {"required_fields": list(policy.required_fields), "inactive_months": policy.inactive_months}
        if "required_fields" in data:
            policy.required_fields = _clean_required(rt, data["required_fields"])
        if "inactive_months" in data and data["inactive_months"] is not None:
            policy.inactive_months = _clean_months(data["inactive_months"])
        after = {"required_fields": list(policy.required_fields), "inactive_months": policy.inactive_months}
        changes = audit_log.diff(before, after)
        if policy.pk is None or changes:
            policy.updated_at = timezone.now()
            policy.updated_by = ctx.user if ctx.user.is_authenticated else None
            policy.save()
        if changes:
            audit_log.audit(ctx, AuditAction.UPDATE, policy, changes=changes)
    return policy


def _clean_required(rt: RecordType, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(name, str) for name in value):
        raise ValidationError({"required_fields": _("Give a list of field names.")})
    allowed = {f.name for f in checks.policy_fields(rt)}
    unknown = [name for name in value if name not in allowed]
    if unknown:
        raise ValidationError(
            {
                "required_fields": _("%(type)s have no field %(fields)s that may be required (one of: %(known)s).")
                % {"type": rt.label_plural, "fields": ", ".join(unknown), "known": ", ".join(sorted(allowed))}
            }
        )
    return list(dict.fromkeys(value))


def _clean_months(value: Any) -> int:
    try:
        months = int(value)
    except (TypeError, ValueError):
        months = 0
    if isinstance(value, bool) or not 1 <= months <= MAX_INACTIVE_MONTHS:
        raise ValidationError(
            {"inactive_months": _("Give a whole number of months from 1 to %(max)s.") % {"max": MAX_INACTIVE_MONTHS}}
        )
    return months


def required_fields(rt: RecordType, policy: QualityPolicy | None = None) -> list[checks.PolicyField]:
    """The policy's required fields that the type still has (a custom field deactivated since
    drops out)."""
    wanted = (policy or policy_get(rt)).required_fields
    return [f for f in checks.policy_fields(rt) if f.name in wanted]


# ---------------------------------------------------------------- the codes


@dataclass(frozen=True)
class Check:
    """One finding a record type can have: its ``code`` (the list filter's value), what people
    read, and which field (``""`` for the whole kind or no field)."""

    code: str
    label: str
    field: str = ""
    field_label: str = ""


def checks_for(rt: RecordType, policy: QualityPolicy | None = None) -> list[Check]:
    """Every check that applies to ``rt`` under its policy, in report order."""
    policy = policy or policy_get(rt)
    found: list[Check] = []
    scanned = checks.scan_fields(rt)
    for kind, code in checks.INVALID_CODES.items():
        fields = [f for f in scanned if f.kind == kind]
        if not fields:
            continue
        kind_label = checks.invalid_label(kind)
        found.append(Check(code, kind_label))
        if len(fields) > 1:  # one line per field too (a contact's mobile and phone)
            found.extend(
                Check(
                    f"{code}:{f.name}",
                    _("%(finding)s: %(field)s") % {"finding": kind_label, "field": f.label},
                    f.name,
                    capfirst(f.label),
                )
                for f in fields
            )
    for required in required_fields(rt, policy):
        found.append(Check(required.code, _("Missing %(field)s") % {"field": required.label}, required.name))
    if checks.has_inactivity(rt):
        months = policy.inactive_months or DEFAULT_INACTIVE_MONTHS
        found.append(Check(checks.INACTIVE, _("No activity for %(months)s months") % {"months": months}))
    return found


def filter_choices(rt: RecordType) -> list[tuple[str, str]]:
    """The ``quality`` filter's choices for the list of ``rt`` (read when a form is made)."""
    with cached():
        return [(check.code, check.label) for check in checks_for(rt)]


def quality_q(rt: RecordType, code: str, policy: QualityPolicy | None = None) -> Q:
    """Records of ``rt`` with the finding ``code`` (see ``checks``). Raises ValidationError
    for a code the type does not have."""
    policy = policy or policy_get(rt)
    kind_code, _sep, field_name = code.partition(":")
    if kind_code in checks.INVALID_CODES.values():
        findings = QualityFinding.objects.filter(record_type=rt.key, code=kind_code)
        if field_name:
            if field_name not in {f.name for f in checks.scan_fields(rt)}:
                raise _unknown(rt, code)
            findings = findings.filter(field=field_name)
        return Q(pk__in=findings.values("record_id"))
    if code == checks.INACTIVE and checks.has_inactivity(rt):
        return checks.inactive_q(policy.inactive_months or DEFAULT_INACTIVE_MONTHS)
    for required in required_fields(rt, policy):
        if required.code == code:
            return checks.missing_q(rt, required.name)
    raise _unknown(rt, code)


def _unknown(rt: RecordType, code: str) -> ValidationError:
    return ValidationError(
        {"quality": _("%(type)s have no data quality check %(code)s.") % {"type": rt.label_plural, "code": code}}
    )


def filter_records(rt: RecordType, queryset: QuerySet, code: str) -> QuerySet:
    return queryset.filter(quality_q(rt, code)) if code else queryset


# ---------------------------------------------------------------- the scan


@dataclass
class ScanResult:
    record_type: str
    records: int = 0
    findings: int = 0
    seconds: float = 0.0
    by_code: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def scan_type(rt: RecordType, *, batch_size: int = SCAN_BATCH) -> ScanResult:
    """Read every stored phone and email of ``rt`` (outside the trash) in batches by primary
    key, decrypt and validate them, then replace the type's findings and its scan row in one
    transaction. Safe to run any number of times and alongside writes: a record written while
    the scan ran keeps no finding (the service that wrote it validated it; see also
    ``forget_changed``)."""
    started = timezone.now()
    clock = time.perf_counter()
    result = ScanResult(rt.key)
    found: list[QualityFinding] = []
    with cached():
        fields = checks.scan_fields(rt)
    model_columns = [f.name for f in fields if not f.is_custom]
    columns = {name: Cast(name, TextField()) for name in model_columns}  # the tokens, decrypted here
    if any(f.is_custom for f in fields):
        columns["custom"] = Cast("custom", TextField())
    last_pk = 0
    while fields:
        rows = list(
            rt.model.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .annotate(**{f"raw_{name}": expression for name, expression in columns.items()})
            .values("pk", *(f"raw_{name}" for name in columns))[:batch_size]
        )
        if not rows:
            break
        last_pk = rows[-1]["pk"]
        result.records += len(rows)
        for row in rows:
            raw = {name: row[f"raw_{name}"] for name in columns}
            for code, field_name in checks.row_findings(fields, raw):
                found.append(
                    QualityFinding(
                        record_type=rt.key, code=code, record_id=row["pk"], field=field_name, found_at=started
                    )
                )
    with transaction.atomic():
        # a record written since the scan began was validated by the service that wrote it
        rewritten = set(rt.model.all_objects.filter(updated_at__gte=started).values_list("pk", flat=True))
        if rewritten:
            found = [finding for finding in found if finding.record_id not in rewritten]
        result.findings = len(found)
        QualityFinding.objects.filter(record_type=rt.key).delete()
        QualityFinding.objects.bulk_create(found, batch_size=1000)
        QualityScan.objects.update_or_create(
            record_type=rt.key,
            defaults={
                "started_at": started,
                "finished_at": timezone.now(),
                "records": result.records,
                "findings": result.findings,
            },
        )
    for finding in found:
        result.by_code[finding.code] = result.by_code.get(finding.code, 0) + 1
    result.seconds = time.perf_counter() - clock
    log.info(
        "quality scan of %s: %s records, %s findings, %.1fs", rt.key, result.records, result.findings, result.seconds
    )
    return result


def scan_types(keys: Iterable[str] | None = None) -> list[ScanResult]:
    """Scan the given record types (every type with phone or email fields when ``None``)."""
    types = [record_type_or_error(key) for key in keys] if keys else list(registry)
    return [scan_type(rt) for rt in types if checks.scan_fields(rt)]


def scan_request(ctx: Context, keys: Iterable[str] | None = None) -> list[str]:
    """Queue a scan (``Scan now``): answers the types queued. Raises PermissionDenied,
    ValidationError for an unknown type."""
    wanted = [record_type_or_error(key) for key in keys] if keys else None
    if wanted is None:
        _require_configure(ctx)
    for rt in wanted or []:
        _require_configure(ctx, rt)
    from kehu.dataio.quality.tasks import quality_scan

    chosen = [rt.key for rt in (wanted or registry) if checks.scan_fields(rt)]
    if chosen:  # types without phone or email fields have nothing to scan
        quality_scan.enqueue(record_types=chosen)
    return chosen


def due_for_scan(now: Any = None) -> list[str]:
    """Types with phone or email fields not scanned in the last day (the housekeeping sweep)."""
    now = now or timezone.now()
    last = dict(QualityScan.objects.values_list("record_type", "finished_at"))
    return [
        rt.key
        for rt in registry
        if checks.scan_fields(rt)
        and (rt.key not in last or (now - last[rt.key]).total_seconds() >= SCAN_INTERVAL_SECONDS)
    ]


def forget_changed(changed: Mapping[tuple[str, int], set[str]]) -> int:
    """Drop findings of values that were written again since the scan (services validate what
    they write, so the new value is valid): ``{(record type, id): {changed field names}}``.
    One delete per (type, field) whatever the number of records (bulk edits)."""
    scanned: dict[str, set[str]] = {}
    ids: dict[tuple[str, str], list[int]] = {}
    for (record_type, record_id), names in changed.items():
        if record_type not in scanned:
            rt = registry.get(record_type)
            scanned[record_type] = {f.name for f in checks.scan_fields(rt)} if rt is not None else set()
        for name in names & scanned[record_type]:
            ids.setdefault((record_type, name), []).append(record_id)
    deleted = 0
    for (record_type, name), record_ids in ids.items():
        for start in range(0, len(record_ids), 1000):  # within every database's parameter limit
            count, _details = QualityFinding.objects.filter(
                record_type=record_type, field=name, record_id__in=record_ids[start : start + 1000]
            ).delete()
            deleted += count
    return deleted


# ---------------------------------------------------------------- the report


@dataclass
class ReportRow:
    code: str
    label: str
    field: str
    field_label: str
    count: int
    url: str
    api_url: str


@dataclass
class TypeReport:
    record_type: RecordType
    total: int
    rows: list[ReportRow]
    scanned_at: Any = None
    scanned: bool = False  # has phone or email fields to scan

    @property
    def key(self) -> str:
        return self.record_type.key


def report(actor: Any, keys: Iterable[str] | None = None) -> list[TypeReport]:
    """Per record type the ``actor`` (a user, or a Context whose token scopes apply too) may
    view: each check with the number of records (outside the trash, among those the user may
    see) it finds, and the links to the lists filtered to exactly those records. One counting
    query per type. ``actor=None`` counts every record (the command line's operator). Raises
    ValidationError for an unknown type."""
    user = getattr(actor, "user", actor)
    types = [record_type_or_error(key) for key in keys] if keys else list(registry)
    saved = policies()
    scans = {scan.record_type: scan for scan in QualityScan.objects.all()}
    reports = []
    with cached():
        for rt in types:
            if actor is not None and not can(actor, rt, "view"):
                continue
            policy = saved[rt.key]
            found = checks_for(rt, policy)
            if not found:  # nothing to count: listed as such, no query
                reports.append(TypeReport(rt, 0, [], scanned=False))
                continue
            base = rt.model.objects.all() if actor is None else visible_to(user, rt.model.objects.all(), rt)
            counts = base.aggregate(
                _total=Count("pk"),
                **{f"c{i}": Count("pk", filter=quality_q(rt, check.code, policy)) for i, check in enumerate(found)},
            )
            rows = [
                ReportRow(
                    code=check.code,
                    label=check.label,
                    field=check.field,
                    field_label=check.field_label,
                    count=counts[f"c{i}"],
                    url=f"{reverse(f'{rt.plural}_list')}?{urlencode({'quality': check.code})}",
                    api_url=f"/api/v1/{rt.plural}/?{urlencode({'quality': check.code})}",
                )
                for i, check in enumerate(found)
            ]
            scan = scans.get(rt.key)
            reports.append(
                TypeReport(
                    rt,
                    counts["_total"],
                    rows,
                    scanned_at=scan.finished_at if scan else None,
                    scanned=bool(checks.scan_fields(rt)),
                )
            )
    return reports


def last_scan() -> Any:
    return QualityScan.objects.order_by("-finished_at").values_list("finished_at", flat=True).first()
