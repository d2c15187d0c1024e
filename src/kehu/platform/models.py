"""The spine's tables: the base record every record type inherits, numbering, audit,
saved list views and idempotency keys."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.platform.context import Source
from kehu.platform.fields import CustomValuesField


class RecordQuerySet(models.QuerySet):
    def alive(self) -> RecordQuerySet:
        return self.filter(deleted_at__isnull=True)

    def in_trash(self) -> RecordQuerySet:
        return self.filter(deleted_at__isnull=False)


class AliveManager(models.Manager.from_queryset(RecordQuerySet)):  # type: ignore[misc]
    """The default manager: records in the trash are invisible unless asked for."""

    def get_queryset(self) -> RecordQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class BaseRecord(models.Model):
    """What every business record carries (DESIGN.md, "Data model")."""

    number = models.CharField(_("number"), max_length=32, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    custom = CustomValuesField(_("custom fields"), default=dict, blank=True, editable=False)
    tags = models.ManyToManyField("platform.Tag", verbose_name=_("tags"), blank=True, related_name="+")
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )

    objects: ClassVar[Any] = AliveManager()
    all_objects: ClassVar[Any] = RecordQuerySet.as_manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        name = getattr(self, "name", "")
        return f"{self.number} {name}".strip() if self.number else str(name)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        from kehu.platform.records import registry

        return reverse(f"{registry.for_model(type(self)).plural}_detail", args=[self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class NumberSequence(models.Model):
    """The last number handed out per prefix (``C`` → ``C-000123``)."""

    prefix = models.CharField(max_length=16, primary_key=True)
    last_value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last_value}"


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    RESTORE = "restore", _("Restored")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOGOUT = "logout", _("Logged out")
    EXPORT = "export", _("Exported")
    IMPORT = "import", _("Imported")
    MERGE = "merge", _("Merged")
    UNMERGE = "unmerge", _("Merge undone")
    BACKUP = "backup", _("Backed up")
    TOKEN_CREATE = "token_create", _("API token created")
    TOKEN_REVOKE = "token_revoke", _("API token revoked")
    PASSWORD_CHANGE = "password_change", _("Password changed")


class Tag(models.Model):
    """A coloured label for records: for one record type, or shared by all (``record_type``
    empty). Names are unique per record type regardless of case."""

    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=7, default="#206bc4")
    record_type = models.CharField(_("record type"), max_length=32, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "record_type", name="platform_tag_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomField(models.Model):
    """A field an admin adds to a record type without code; its values live in the record's
    ``custom`` JSON under ``name``."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        INTEGER = "integer", _("Integer")
        DECIMAL = "decimal", _("Decimal")
        MONEY = "money", _("Money")
        DATE = "date", _("Date")
        DATETIME = "datetime", _("Date and time")
        BOOLEAN = "boolean", _("Yes / no")
        CHOICE = "choice", _("Choice")
        MULTI_CHOICE = "multi_choice", _("Multiple choice")
        URL = "url", _("URL")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        USER = "user", _("User")
        LINK = "link", _("Link to a record")

    record_type = models.CharField(_("record type"), max_length=32)
    name = models.SlugField(_("key"), max_length=50, help_text=_("Letters, digits and underscores; used in the API."))
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    required = models.BooleanField(_("required"), default=False)
    default = models.JSONField(_("default"), null=True, blank=True)
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    # For choice and multi_choice: [{"value": "vip", "label": "VIP"}, ...]
    choices = models.JSONField(_("choices"), default=list, blank=True)
    # For link: the key of the record type linked to.
    target = models.CharField(_("linked record type"), max_length=32, blank=True)
    section = models.CharField(_("section"), max_length=100, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["record_type", "section", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "name"], name="platform_customfield_unique_name"),
        ]

    def __str__(self) -> str:
        return self.label


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise RuntimeError("The audit log is append-only.")

    def delete(self) -> Any:
        raise RuntimeError("The audit log is append-only.")


class AuditEntry(models.Model):
    """One thing that happened. Append-only: the model and every manager refuse updates and
    deletes; in the database a trigger refuses updates, and on PostgreSQL deletes too."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), on_delete=models.PROTECT, null=True, blank=True
    )
    object_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    object_repr = models.CharField(_("record"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    token = models.CharField(_("API token"), max_length=64, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        base_manager_name = "objects"  # no back door through _base_manager
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"], name="audit_record_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise RuntimeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("The audit log is append-only.")


class SavedView(models.Model):
    """A named list view: its filters, sort and columns, private or shared with everyone."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    record_type = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "record_type", "name"], name="savedview_unique_name")]

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """The answer to a POST made with an ``Idempotency-Key``, replayed on a retry."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    path = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return self.key


class SearchDocument(models.Model):
    """One record in the global search index (``platform/search/``): its searchable text,
    the pinyin of its title and the short terms that answer one- and two-character queries.
    Encrypted personal values are never copied here. On SQLite two FTS5 tables index these
    rows (kept in step by ``platform/search/index.py``, which alone writes documents, and by a
    trigger on delete); on PostgreSQL, pg_trgm and GIN indexes."""

    # Short columns first: ranking reads them for every hit, the long ones only for the page.
    record_type = models.CharField(max_length=32)
    record_id = models.BigIntegerField()
    number = models.CharField(max_length=32, blank=True)
    title = models.TextField(blank=True)
    pinyin = models.TextField(blank=True)
    indexed_at = models.DateTimeField(default=timezone.now)
    body = models.TextField(blank=True)
    terms = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record_type", "record_id"], name="platform_searchdoc_unique_record"),
        ]
        indexes = [  # exact title and number matches are found however many records match loosely
            models.Index(Lower("title"), name="platform_search_title_idx"),
            models.Index(Lower("number"), name="platform_search_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id}"


class TimelineEntry(models.Model):
    """One line on a record's timeline (a customer's, for now): an interaction, a task, a
    stage change, a reassignment, later an order or a ticket. Entries of registered record
    types are kept in step with their records by ``platform.timeline`` (``origin`` "record");
    facts that are not records (a stage change) are added by the service that causes them
    (``origin`` "fact") and never rewritten."""

    class Origin(models.TextChoices):
        RECORD = "record", _("record")
        FACT = "fact", _("fact")

    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()
    kind = models.CharField(max_length=32)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.FACT)
    occurred_at = models.DateTimeField()
    record_type = models.CharField(max_length=32, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "-occurred_at", "-id"], name="timeline_subject_idx"),
            models.Index(fields=["record_type", "record_id"], name="timeline_record_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Currency(models.Model):
    """An ISO 4217 currency the CRM may hold amounts in (R41). ``decimal_places`` decides how
    amounts in it are rounded (``kehu.platform.money.quantize``); only active currencies are
    offered in forms. The reporting currency is ``settings.KEHU_DEFAULT_CURRENCY``."""

    code = models.CharField(_("code"), max_length=3, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    decimal_places = models.PositiveSmallIntegerField(_("decimal places"), default=2)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        from kehu.platform import money

        self.code = self.code.upper()
        super().save(*args, **kwargs)
        money.clear_cache()

    @property
    def display_name(self) -> str:
        """The currency's name in the active language (Babel), falling back to ``name``."""
        from kehu.platform.money import currency_name

        return currency_name(self.code, default=self.name)


class ExchangeRate(models.Model):
    """How many units of the reporting currency one unit of ``currency`` is worth on
    ``rate_date``. A lookup takes the latest rate on or before the day asked for."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        CSV = "csv", _("CSV import")
        API = "api", _("API")

    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="rates")
    rate_date = models.DateField(_("date"))
    rate = models.DecimalField(_("rate"), max_digits=24, decimal_places=10)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-rate_date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date"], name="exchange_rate_unique_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency_id} {self.rate_date}: {self.rate}"


class Lease(models.Model):
    """A named lease held by one process at a time until ``expires_at`` (the scheduler's
    leadership: several ``kehu scheduler`` processes may run, one fires)."""

    name = models.CharField(_("name"), max_length=64, primary_key=True)
    holder = models.CharField(_("holder"), max_length=200)
    expires_at = models.DateTimeField(_("expires at"))
    acquired_at = models.DateTimeField(_("acquired at"), default=timezone.now)

    class Meta:
        verbose_name = _("lease")
        verbose_name_plural = _("leases")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"
