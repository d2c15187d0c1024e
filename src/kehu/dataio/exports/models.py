"""A background export: a list too long to stream while the browser waits is written to a file
under ``<data dir>/exports/`` by a task, and its owner is told when it is ready. The query is
stored sealed (``fields.seal_query``): a filter on a phone number or email never sits in the
database in clear."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (XLSX)")
    VCF = "vcf", _("vCard")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")  # the file was removed by the housekeeping sweep


class ExportJob(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs", verbose_name=_("user")
    )
    record_type = models.CharField(_("record type"), max_length=64)
    query = models.TextField(_("query"), blank=True)  # the list's query string, sealed
    columns = models.JSONField(_("columns"), default=list)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices, default=ExportFormat.CSV)
    source = models.CharField(_("source"), max_length=16, default="web")
    status = models.CharField(_("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file_path = models.CharField(_("file"), max_length=500, blank=True)  # relative to the data directory
    file_size = models.BigIntegerField(_("file size"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="exports_job_user_idx")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.format} #{self.pk}"

    @property
    def downloadable(self) -> bool:
        return self.status == ExportStatus.DONE and bool(self.file_path)

    @property
    def record_label(self) -> str:
        from django.utils.text import capfirst

        from kehu.platform.records import registry

        rt = registry.get(self.record_type)
        return capfirst(str(rt.label_plural)) if rt is not None else self.record_type

    @property
    def file_name(self) -> str:
        from kehu.platform.records import registry

        rt = registry.get(self.record_type)
        stem = rt.plural if rt is not None else self.record_type
        return f"{stem}-{timezone.localtime(self.created_at):%Y%m%d-%H%M}.{self.format}"
