"""What the data quality report is made of: a policy per record type (the fields every record
should have, how long a customer may go without activity), the findings of the last scan of
the encrypted phone and email values, and when each type was last scanned."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_INACTIVE_MONTHS = 6


class QualityPolicy(models.Model):
    """One row per record type (made with its defaults when first read)."""

    record_type = models.CharField(_("record type"), max_length=32, unique=True)
    # Model field names and ``custom.<name>`` keys a record should not leave blank.
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    inactive_months = models.PositiveSmallIntegerField(
        _("inactive after (months)"),
        default=DEFAULT_INACTIVE_MONTHS,
        help_text=_("A customer with no interaction for this many months (and older than that) is listed as inactive."),
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        verbose_name = _("data quality policy")
        verbose_name_plural = _("data quality policies")
        ordering = ["record_type"]

    def __str__(self) -> str:
        return str(_("Data quality policy of %(type)s") % {"type": self.record_type})


class QualityFinding(models.Model):
    """A stored value that fails today's validation (``invalid_phone``, ``invalid_email``),
    found by the last scan of its record type. ``field`` is a model field name or
    ``custom.<name>``."""

    record_type = models.CharField(max_length=32)
    code = models.CharField(max_length=32)
    record_id = models.BigIntegerField()
    field = models.CharField(max_length=80)
    found_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("data quality finding")
        verbose_name_plural = _("data quality findings")
        indexes = [
            models.Index(fields=["record_type", "code", "field"], name="quality_finding_code_idx"),
            models.Index(fields=["record_type", "record_id"], name="quality_finding_record_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id} {self.code} {self.field}"


class QualityScan(models.Model):
    """The last scan of a record type: when, how many records were read, how long it took."""

    record_type = models.CharField(max_length=32, unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    records = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("data quality scan")
        verbose_name_plural = _("data quality scans")

    def __str__(self) -> str:
        return f"{self.record_type} {self.finished_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
