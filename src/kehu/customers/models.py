"""Customers (companies and people) and their contacts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from kehu.platform.context import Source
from kehu.platform.fields import EncryptedField
from kehu.platform.i18n import translated_default
from kehu.platform.models import BaseRecord


class CustomerKind(models.TextChoices):
    COMPANY = "company", _("Company")
    PERSON = "person", _("Person")


class CompanySize(models.TextChoices):
    MICRO = "1-9", _("1–9 employees")
    SMALL = "10-49", _("10–49 employees")
    MEDIUM = "50-199", _("50–199 employees")
    LARGE = "200-999", _("200–999 employees")
    ENTERPRISE = "1000+", _("1000+ employees")


class CustomerSource(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EXHIBITION = "exhibition", _("Trade show")
    COLD_CALL = "cold_call", _("Cold call")
    ADVERTISING = "advertising", _("Advertising")
    PARTNER = "partner", _("Partner")
    SOCIAL = "social", _("Social media")
    OTHER = "other", _("Other")


# ---------------------------------------------------------------- lifecycle and grades

# The stages and grades a new installation starts with. Names are stored in English; one
# still carrying its default English name is shown translated (``display_name``), one an
# admin renamed is shown as typed.
DEFAULT_STAGES: dict[str, str] = {
    "lead": gettext_noop("Lead"),
    "prospect": gettext_noop("Prospect"),
    "active": gettext_noop("Active customer"),
    "at_risk": gettext_noop("At risk"),
    "churned": gettext_noop("Churned"),
}
DEFAULT_GRADES: dict[str, str] = {
    "A": gettext_noop("High value"),
    "B": gettext_noop("Potential"),
    "C": gettext_noop("Ordinary"),
    "D": gettext_noop("Low frequency"),
}


_translated = translated_default  # shared with the sales pipelines (platform/i18n.py)


class LifecycleStage(models.Model):
    """A step of the customer lifecycle (lead → prospect → active customer → at risk →
    churned by default). Admins add, rename, reorder and deactivate stages and say which
    stages may follow each one; the key never changes once made."""

    key = models.SlugField(_("key"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    allowed_next = models.ManyToManyField(
        "self",
        verbose_name=_("allowed next stages"),
        symmetrical=False,
        blank=True,
        related_name="+",
        help_text=_("Stages a customer may move to from this one; none chosen means any stage."),
    )
    is_lead = models.BooleanField(_("lead stage"), default=False, help_text=_("Not yet qualified."))
    is_won = models.BooleanField(
        _("won stage"), default=False, help_text=_("An active customer: the first won deal or order moves here.")
    )
    is_lost = models.BooleanField(
        _("lost stage"), default=False, help_text=_("A churned customer: moving here needs a reason.")
    )

    class Meta:
        verbose_name = _("lifecycle stage")
        verbose_name_plural = _("lifecycle stages")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return _translated(self.name, DEFAULT_STAGES, self.key)


class Grade(models.Model):
    """A customer grade (A high value … D low frequency by default), set by hand or by the
    rule: the first grade (by order) whose every threshold set is met."""

    key = models.SlugField(_("key"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    description = models.CharField(_("description"), max_length=255, blank=True)
    min_amount = models.DecimalField(
        _("minimum purchase amount"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Purchases over the last year at least this much."),
    )
    min_orders = models.PositiveIntegerField(
        _("minimum number of orders"), null=True, blank=True, help_text=_("At least this many orders in the last year.")
    )
    max_days_since_last = models.PositiveIntegerField(
        _("maximum days since last order"), null=True, blank=True, help_text=_("Last order at most this many days ago.")
    )

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_description(self) -> str:
        return _translated(self.description, DEFAULT_GRADES, self.key)

    @property
    def has_rule(self) -> bool:
        return any(v is not None for v in (self.min_amount, self.min_orders, self.max_days_since_last))


DEFAULT_STAGE = "lead"


def default_stage_key() -> str:
    """A new customer's stage when none is given: the first active stage (``lead`` unless an
    admin deactivated it)."""
    found = LifecycleStage.objects.filter(is_active=True).order_by("order", "id").values_list("key", flat=True).first()
    return found or "lead"


class GradeSource(models.TextChoices):
    MANUAL = "manual", _("Set by hand")
    RULE = "rule", _("Computed by the rule")


class CreditRating(models.TextChoices):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    BBB = "BBB", "BBB"
    BB = "BB", "BB"
    B = "B", "B"
    C = "C", "C"


class Customer(BaseRecord):
    kind = models.CharField(_("type"), max_length=16, choices=CustomerKind.choices, default=CustomerKind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=16, choices=CompanySize.choices, blank=True)
    source = models.CharField(_("source"), max_length=32, choices=CustomerSource.choices, blank=True)
    phone = EncryptedField(_("phone"), kind="phone", blank=True)
    email = EncryptedField(_("email"), kind="email", blank=True)
    website = models.URLField(_("website"), blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    province = models.CharField(_("province / state"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    district = models.CharField(_("district"), max_length=100, blank=True)
    street = models.CharField(_("street address"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    stage: models.ForeignKey[LifecycleStage, LifecycleStage] = models.ForeignKey(
        LifecycleStage,
        verbose_name=_("lifecycle stage"),
        on_delete=models.PROTECT,
        to_field="key",
        default=DEFAULT_STAGE,
        db_default=DEFAULT_STAGE,  # type: ignore[arg-type]  # rows written by plain SQL too
        related_name="customers",
    )
    grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade"),
        on_delete=models.PROTECT,
        to_field="key",
        null=True,
        blank=True,
        related_name="customers",
    )
    grade_source = models.CharField(
        _("grade set"),
        max_length=8,
        choices=GradeSource.choices,
        default=GradeSource.MANUAL,
        db_default=GradeSource.MANUAL,
        editable=False,
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent company"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subsidiaries",
        help_text=_("The group this customer belongs to."),
    )
    credit_limit = models.DecimalField(_("credit limit"), max_digits=18, decimal_places=2, null=True, blank=True)
    credit_rating = models.CharField(
        _("credit rating"), max_length=8, choices=CreditRating.choices, blank=True, default="", db_default=""
    )

    # The grade as read from the database: a different one given by a person is a manual grade.
    _kehu_loaded_grade: str | None = None

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="customer_owner_updated_idx"),
            models.Index(fields=["team", "-updated_at"], name="customer_team_updated_idx"),
            models.Index(fields=["-updated_at"], name="customer_updated_idx"),
            models.Index(fields=["name"], name="customer_name_idx"),
            models.Index(fields=["stage", "-updated_at"], name="customer_stage_idx"),
        ]

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Customer:
        customer = super().from_db(db, field_names, values)
        customer._kehu_loaded_grade = customer.__dict__.get("grade_id")  # a grade given by hand: manual
        return customer

    @property
    def address(self) -> str:
        parts = [self.country, self.province, self.city, self.district, self.street]
        return " ".join(p for p in parts if p)


class TransitionQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise RuntimeError("The lifecycle history is append-only.")

    def delete(self) -> Any:
        raise RuntimeError("The lifecycle history is append-only.")


class LifecycleTransition(models.Model):
    """One move of a customer from one stage to another (append-only): who, when, why."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="transitions"
    )
    from_stage = models.ForeignKey(
        LifecycleStage,
        verbose_name=_("from"),
        on_delete=models.PROTECT,
        to_field="key",
        null=True,
        blank=True,
        related_name="+",
    )
    to_stage = models.ForeignKey(
        LifecycleStage, verbose_name=_("to"), on_delete=models.PROTECT, to_field="key", related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.WEB)

    objects = TransitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("lifecycle transition")
        verbose_name_plural = _("lifecycle transitions")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at", "-id"], name="transition_customer_idx")]

    def __str__(self) -> str:
        before = self.from_stage.display_name if self.from_stage is not None else "—"
        return f"{before} → {self.to_stage.display_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise RuntimeError("The lifecycle history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("The lifecycle history is append-only.")


# ---------------------------------------------------------------- contacts


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    CHAMPION = "champion", _("Champion")
    BLOCKER = "blocker", _("Blocker")
    OTHER = "other", _("Other")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    MOBILE = "mobile", _("Mobile")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Visit")
    ANY = "any", _("Any")


class Contact(BaseRecord):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contacts"
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=200)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    mobile = EncryptedField(_("mobile"), kind="phone", blank=True)
    phone = EncryptedField(_("phone"), kind="phone", blank=True)
    email = EncryptedField(_("email"), kind="email", blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    decision_role = models.CharField(_("decision role"), max_length=16, choices=DecisionRole.choices, blank=True)
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        help_text=_("Their manager at the same customer."),
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    qq = models.CharField(_("QQ"), max_length=20, blank=True)
    linkedin = models.URLField(_("LinkedIn"), blank=True)
    other_accounts = models.CharField(
        _("other accounts"), max_length=255, blank=True, help_text=_("Other social or messaging accounts.")
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=8, choices=ContactChannel.choices, blank=True
    )
    best_time = models.CharField(
        _("best time to contact"), max_length=100, blank=True, help_text=_("For example: weekday mornings.")
    )
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    do_not_contact_reason = models.CharField(_("do-not-contact reason"), max_length=255, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-is_primary", "name"], name="contact_customer_idx"),
            models.Index(fields=["-updated_at"], name="contact_updated_idx"),
            models.Index(fields=["name"], name="contact_name_idx"),
        ]


# ---------------------------------------------------------------- needs


class NeedKind(models.TextChoices):
    PRODUCT = "product", pgettext_lazy("kind of need", "Product")
    SERVICE = "service", pgettext_lazy("kind of need", "Service")


class NeedPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    MET = "met", _("Met")
    DROPPED = "dropped", _("Dropped")


class Need(BaseRecord):
    """What a customer needs (R5): a product or a service, with priority and status."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="needs")
    kind = models.CharField(_("type"), max_length=16, choices=NeedKind.choices, default=NeedKind.PRODUCT)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    product = models.CharField(_("product"), max_length=200, blank=True)
    priority = models.CharField(_("priority"), max_length=8, choices=NeedPriority.choices, default=NeedPriority.NORMAL)
    status = models.CharField(_("status"), max_length=16, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    due_date = models.DateField(_("needed by"), null=True, blank=True)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"], name="need_customer_idx"),
            models.Index(fields=["-updated_at"], name="need_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip() if self.number else self.title
