"""An import: one uploaded file of one record type, its column mapping, its duplicate policy and
its progress. The job is the checkpoint that makes an import resumable: ``processed_rows`` is
written in the same transaction as each batch's records, so a run that is killed goes on after
the last committed batch and never imports a row twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    NEW = "new", _("Uploaded")  # file stored, headers read, mapping proposed
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class OnDuplicate(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    FILL = "fill", _("Fill the blank fields of the existing record")
    UPDATE = "update", _("Overwrite the existing record's fields")
    CREATE = "create", _("Create a new record anyway")


class MatchOn(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    NUMBER = "number", _("Record number")
    NAME = "name", _("Similar name")


class ImportJob(models.Model):
    record_type = models.CharField(_("record type"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.NEW)
    dry_run = models.BooleanField(_("dry run"), default=False)  # the current or last run writes nothing
    file = models.CharField(_("stored file"), max_length=500)  # relative to the data directory
    file_name = models.CharField(_("file name"), max_length=255)
    file_size = models.BigIntegerField(_("file size"), default=0)
    file_sha256 = models.CharField(_("file checksum"), max_length=64, db_index=True)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    headers = models.JSONField(_("headers"), default=list)
    # header -> field name ("name", "custom.<name>", "tags") or "" for a column left out
    mapping = models.JSONField(_("mapping"), default=dict)
    match_on = models.JSONField(_("match duplicates on"), default=list)  # MatchOn values
    on_duplicate = models.CharField(
        _("on duplicate"), max_length=16, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    options = models.JSONField(_("options"), default=dict)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    # counts by reason of the current or last run, e.g. {"rejected": {"phone: Enter a valid phone number.": 3}}
    summary = models.JSONField(_("summary"), default=dict)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_user_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.record_type})"


class ImportRejectedRow(models.Model):
    """A row the run refused, with its line in the file (the header is line 1) and the reasons;
    the original cells are kept encrypted (they may hold phones and emails) for the download
    of rejected rows."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejected_rows")
    line = models.PositiveIntegerField(_("line"))
    row = models.TextField(_("row"))  # crypto.encrypt_json(list of cells, purpose="import-row")
    errors = models.JSONField(_("errors"), default=dict)  # {field or "__all__": [messages]}

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["job", "line"]
        constraints = [models.UniqueConstraint(fields=["job", "line"], name="import_rejected_line_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.line}"


class SavedMapping(models.Model):
    """A column mapping kept for the next import of the same kind of file."""

    record_type = models.CharField(_("record type"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(_("mapping"), default=dict)
    match_on = models.JSONField(_("match duplicates on"), default=list)
    on_duplicate = models.CharField(
        _("on duplicate"), max_length=16, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        ordering = ["record_type", "name"]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "name", "created_by"], name="saved_mapping_unique")
        ]

    def __str__(self) -> str:
        return self.name
