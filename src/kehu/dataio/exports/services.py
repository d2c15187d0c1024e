"""Exports: a list's records, as the user sees them, written to CSV, XLSX or vCard, streamed to
the browser, written to a file by the CLI, or run as a background job for long lists. Every
export checks the view permission, reads through ``visible_to`` (``platform.selectors.list_rows``)
and writes one ``AuditAction.EXPORT`` entry with the record type, format, sealed query and row
count."""

from __future__ import annotations

import datetime
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from kehu.platform import display, housekeeping
from kehu.platform import selectors as record_selectors
from kehu.platform.access import require
from kehu.platform.audit import audit
from kehu.platform.context import Context, Source
from kehu.platform.fields import seal_query
from kehu.platform.models import AuditAction
from kehu.platform.records import registry
from kehu.platform.selectors import ListQuery

from . import selectors, vcard, writers
from .models import ExportFormat, ExportJob, ExportStatus

log = logging.getLogger(__name__)

NOTIFY_EXPORT_READY = "export_ready"
NOTIFY_EXPORT_FAILED = "export_failed"


def sync_rows() -> int:
    """Lists up to this many rows are exported while the browser waits; longer ones become a
    background job (``KEHU_EXPORT_SYNC_ROWS``, default 10,000)."""
    return int(getattr(settings, "KEHU_EXPORT_SYNC_ROWS", os.environ.get("KEHU_EXPORT_SYNC_ROWS", "10000")))


def keep_days() -> int:
    """Days a background export's file is kept (``KEHU_EXPORT_KEEP_DAYS``, default 7)."""
    return int(getattr(settings, "KEHU_EXPORT_KEEP_DAYS", os.environ.get("KEHU_EXPORT_KEEP_DAYS", "7")))


def exports_dir() -> Path:
    return Path(settings.DATA_DIR) / "exports"


def _check_format(query: ListQuery, fmt: str) -> None:
    if fmt not in ExportFormat.values:
        raise ValidationError({"format": _("Unknown format %(format)s; choose csv, xlsx or vcf.") % {"format": fmt}})
    if fmt == ExportFormat.VCF and query.rt.key != "contact":
        raise ValidationError({"format": _("Only contacts can be exported as vCards.")})


def export_prepare(ctx: Context, query: ListQuery, fmt: str = ExportFormat.CSV) -> tuple[QuerySet, int]:
    """The visible records ``query`` selects and how many there are. Raises PermissionDenied
    (no view permission on the record type) and ValidationError (bad filter, sort or format)."""
    require(ctx, query.rt, "view")
    _check_format(query, fmt)
    queryset = record_selectors.list_rows(ctx.user, query)
    return queryset, queryset.count()


def _audit(ctx: Context, query: ListQuery, fmt: str, count: int, **more: Any) -> None:
    audit(
        ctx,
        AuditAction.EXPORT,
        extra={
            "record_type": query.rt.key,
            "format": str(fmt),
            "count": count,
            "columns": list(query.columns),
            "query": seal_query(query.rt, query.query_string()),
            **more,
        },
    )


def export_stream(ctx: Context, query: ListQuery, fmt: str = ExportFormat.CSV) -> Iterator[str]:
    """A CSV or vCard export as text chunks, for a streaming response; audited before the first
    chunk. Raises as ``export_prepare`` (before anything is streamed)."""
    if fmt == ExportFormat.XLSX:
        raise ValueError("XLSX is a zip file: write it with export_write")
    queryset, count = export_prepare(ctx, query, fmt)
    _audit(ctx, query, fmt, count)
    if fmt == ExportFormat.VCF:
        return vcard.vcards(selectors.iter_records(ctx.user, query, queryset))
    return writers.csv_chunks(selectors.header(query), selectors.export_rows(ctx.user, query, queryset))


def export_write(ctx: Context, query: ListQuery, fmt: str, target: Path | str, **audit_extra: Any) -> int:
    """Write the export to the file ``target``; returns the number of rows. Audited once the
    file is written. Raises as ``export_prepare``."""
    queryset, _count = export_prepare(ctx, query, fmt)
    rows = selectors.export_rows(ctx.user, query, queryset)
    if fmt == ExportFormat.XLSX:
        count = writers.write_xlsx(selectors.header(query), rows, str(target), title=str(query.rt.label_plural))
    elif fmt == ExportFormat.VCF:
        count = 0
        with open(target, "w", encoding="utf-8", newline="") as handle:
            for card in vcard.vcards(selectors.iter_records(ctx.user, query, queryset)):
                handle.write(card)
                count += 1
    else:
        with open(target, "w", encoding="utf-8", newline="") as handle:
            count = writers.write_csv(selectors.header(query), rows, handle)
    _audit(ctx, query, fmt, count, **audit_extra)
    return count


# ---------------------------------------------------------------- background jobs


def export_job_create(ctx: Context, query: ListQuery, fmt: str) -> ExportJob:
    """Queue a background export of ``query`` for ``ctx.user``; the worker writes the file and
    notifies them. Raises as ``export_prepare`` (checked now, so that a bad query fails at once)."""
    require(ctx, query.rt, "view")
    _check_format(query, fmt)
    record_selectors.list_rows(ctx.user, query)  # a bad filter or sort fails now, not in the worker
    job = ExportJob.objects.create(
        user=ctx.user,
        record_type=query.rt.key,
        query=seal_query(query.rt, query.query_string()),
        columns=list(query.columns),
        format=fmt,
        source=str(ctx.source),
    )
    run_export_job.enqueue(job.pk)
    return job


def _fail(job: ExportJob, message: str) -> None:
    job.status = ExportStatus.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    from kehu.automation.services import notify

    notify(
        [job.user_id],
        kind=NOTIFY_EXPORT_FAILED,
        title=_("Your export of %(type)s failed") % {"type": _type_label(job)},
        body=message,
        url=reverse("export_list"),
    )


def _type_label(job: ExportJob) -> str:
    rt = registry.get(job.record_type)
    return str(rt.label_plural) if rt is not None else job.record_type


def export_job_run(job_id: int) -> ExportJob:
    """Run a queued export as the user who asked for it (their visibility, their permission at
    the time it runs), write its file under ``<data dir>/exports/`` and notify them. A job that
    already finished is left as it is (a task delivered twice writes once)."""
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    if job.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return job
    job.status = ExportStatus.RUNNING
    job.save(update_fields=["status"])
    with translation.override(getattr(job.user, "language", "") or settings.LANGUAGE_CODE):
        rt = registry.get(job.record_type)
        if rt is None:
            _fail(job, _("The record type %(type)s no longer exists.") % {"type": job.record_type})
            return job
        query = record_selectors.list_query(rt, job.query)
        query.columns = [c for c in job.columns if c in record_selectors.available_columns(rt)] or query.columns
        folder = exports_dir()
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{job.pk}-{secrets.token_hex(8)}.{job.format}"
        partial = folder / f".{name}.part"
        ctx = Context(user=job.user, source=job.source or Source.WEB)
        try:
            count = export_write(ctx, query, job.format, partial, job=job.pk)
        except (PermissionDenied, ValidationError) as error:
            partial.unlink(missing_ok=True)
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            _fail(job, " ".join(messages))
            return job
        except Exception:
            partial.unlink(missing_ok=True)
            log.exception("export job %s failed", job.pk)
            _fail(job, _("The export failed; please try again or ask an administrator."))
            return job
        partial.rename(folder / name)  # a file is complete or absent, never half-written
        job.status = ExportStatus.DONE
        job.row_count = count
        job.file_path = str(Path("exports") / name)
        job.file_size = (folder / name).stat().st_size
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "row_count", "file_path", "file_size", "finished_at"])
        from kehu.automation.services import notify

        notify(
            [job.user_id],
            kind=NOTIFY_EXPORT_READY,
            title=_("Your export of %(count)s %(type)s is ready") % {"count": count, "type": _type_label(job)},
            body=_("Download it from the Exports page within %(days)s days.") % {"days": keep_days()},
            url=reverse("export_list"),
        )
    return job


@task()
def run_export_job(job_id: int) -> int:
    return export_job_run(job_id).row_count or 0


def export_file_path(job: ExportJob) -> Path:
    """The absolute path of a finished job's file (inside the data directory)."""
    root = Path(settings.DATA_DIR).resolve()
    path = (root / job.file_path).resolve()
    if root not in path.parents:
        raise PermissionDenied
    return path


def exports_expire(now: Any = None) -> int:
    """Remove the files of exports finished more than ``keep_days()`` ago (and leftovers of
    killed runs); returns how many jobs expired."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=keep_days())
    expired = 0
    for job in ExportJob.objects.filter(
        status__in=[ExportStatus.DONE, ExportStatus.FAILED], finished_at__lt=cutoff
    ).iterator():
        if job.file_path:
            export_file_path(job).unlink(missing_ok=True)
        job.status = ExportStatus.EXPIRED
        job.file_path = ""
        job.save(update_fields=["status", "file_path"])
        expired += 1
    folder = exports_dir()
    if folder.is_dir():
        for leftover in folder.glob(".*.part"):
            if leftover.stat().st_mtime < cutoff.timestamp():
                leftover.unlink(missing_ok=True)
    return expired


@task()
def expire_exports() -> int:
    return exports_expire()


housekeeping.register("export_expiry", expire_exports)


# ---------------------------------------------------------------- vCard


def contact_vcard_export(ctx: Context, contact: Any) -> str:
    """One contact (read through ``record_get`` by the caller) as a vCard; audited."""
    from kehu.customers.records import CONTACT

    require(ctx, CONTACT, "view")
    audit(
        ctx,
        AuditAction.EXPORT,
        contact,
        extra={"record_type": CONTACT.key, "format": ExportFormat.VCF.value, "count": 1},
    )
    return vcard.contact_vcard(contact)


@dataclass
class CardOutcome:
    index: int
    name: str
    outcome: str  # created, skipped, rejected
    reason: str = ""
    contact: Any = None


@dataclass
class VCardReport:
    outcomes: list[CardOutcome] = field(default_factory=list)

    def of(self, outcome: str) -> list[CardOutcome]:
        return [item for item in self.outcomes if item.outcome == outcome]

    @property
    def created(self) -> list[CardOutcome]:
        return self.of("created")

    @property
    def skipped(self) -> list[CardOutcome]:
        return self.of("skipped")

    @property
    def rejected(self) -> list[CardOutcome]:
        return self.of("rejected")


def _contact_data(card: vcard.Card, customer: Any) -> dict[str, Any]:
    from kehu.customers.models import DecisionRole

    data: dict[str, Any] = {"customer": customer, "name": card.name}
    for name in ("title", "department", "mobile", "phone", "email", "wechat", "notes"):
        value = getattr(card, name)
        if value:
            data[name] = value
    if card.birthday is not None:
        data["birthday"] = card.birthday
    role = card.role.strip().casefold()
    for value, label in DecisionRole.choices:
        if role and role in (str(value).casefold(), str(label).casefold()):
            data["decision_role"] = value
    return data


def _duplicate_reason(customer: Any, card: vcard.Card) -> str:
    """Why a card is already a contact of ``customer`` (same email or mobile, through the blind
    index), or "" if it is not."""
    from kehu.customers.models import Contact
    from kehu.platform.fields import lookup_q

    for name, value in (("email", card.email), ("mobile", card.mobile)):
        if not value:
            continue
        try:
            condition = lookup_q(Contact, name, value)
        except ValidationError:
            continue  # not a valid value: the contact's validation rejects the card
        if Contact.objects.filter(customer=customer).filter(condition).exists():
            return (
                _("A contact of %(customer)s already has this email address.")
                if name == "email"
                else _("A contact of %(customer)s already has this mobile number.")
            ) % {"customer": customer.name}
    return ""


def _customer_for(ctx: Context, card: vcard.Card) -> tuple[Any, str]:
    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER
    from kehu.platform.access import visible_to

    if not card.org:
        return None, _("The card names no company (ORG) and no customer was chosen.")
    matches = list(visible_to(ctx.user, Customer.objects.filter(name=card.org), CUSTOMER)[:2])
    if not matches:
        return None, _("No customer you can see is named %(name)s.") % {"name": card.org}
    if len(matches) > 1:
        return None, _("Several customers are named %(name)s; choose one on the form.") % {"name": card.org}
    return matches[0], ""


def vcard_import(ctx: Context, data: bytes, *, customer: Any = None) -> VCardReport:
    """Create contacts from a vCard file (one or many cards; vCard 2.1, 3.0 or 4.0; UTF-8 or
    GB18030) through ``contact_create``: all of them for ``customer`` when given, else each for
    the visible customer named exactly as its ORG. Cards whose email or mobile a contact of that
    customer already has are skipped, cards that do not validate are rejected with the reason;
    the whole file is read first, then written in one transaction. Raises vcard.VCardError (a
    file that cannot be read: nothing written) and PermissionDenied (no right to add contacts)."""
    from django.db import transaction

    from kehu.customers.records import CONTACT
    from kehu.customers.services import contact_create

    require(ctx, CONTACT, "add")
    cards = vcard.parse_vcards(data)  # the whole file, before anything is written
    report = VCardReport()
    with transaction.atomic():
        for card in cards:
            target, reason = (customer, "") if customer is not None else _customer_for(ctx, card)
            if not card.name:
                report.outcomes.append(CardOutcome(card.index, "", "rejected", _("The card has no name (FN or N).")))
                continue
            if target is None:
                report.outcomes.append(CardOutcome(card.index, card.name, "rejected", reason))
                continue
            duplicate = _duplicate_reason(target, card)
            if duplicate:
                report.outcomes.append(CardOutcome(card.index, card.name, "skipped", duplicate))
                continue
            try:
                with transaction.atomic():  # a rejected card leaves nothing behind
                    contact = contact_create(ctx=ctx, data=_contact_data(card, target))
            except PermissionDenied as error:
                report.outcomes.append(CardOutcome(card.index, card.name, "rejected", str(error)))
                continue
            except ValidationError as error:
                reasons = (
                    [
                        f"{display.field_label(CONTACT, name)}: {' '.join(messages)}"
                        if name != "__all__"
                        else " ".join(messages)
                        for name, messages in error.message_dict.items()
                    ]
                    if hasattr(error, "error_dict")
                    else error.messages
                )
                report.outcomes.append(CardOutcome(card.index, card.name, "rejected", "; ".join(reasons)))
                continue
            report.outcomes.append(CardOutcome(card.index, card.name, "created", contact=contact))
    return report
