"""Pipelines with their stages, opportunities with their product lines and stage history, and
sales quotas.

Every amount is a ``Decimal`` stored next to its currency code (``currency``: the ISO 4217
code of an active ``platform.Currency``). An opportunity's stage changes only through
``services.opportunity_move`` (and ``opportunity_win`` / ``opportunity_lose`` /
``opportunity_reopen``), which check the stage's requirements and write the history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from kehu.platform.i18n import translated_default
from kehu.platform.models import BaseRecord

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]

# The pipelines and stages a new installation starts with (seeded by migration 0001 and after
# a flush). Names are stored in English and shown translated while unchanged (platform/i18n.py).
DEFAULT_PIPELINES: dict[str, str] = {
    "new_business": gettext_noop("New business"),
    "renewal": gettext_noop("Renewal"),
}
DEFAULT_STAGE_NAMES: dict[str, str] = {
    "lead": gettext_noop("Lead"),
    "qualified": gettext_noop("Qualified"),
    "proposal": gettext_noop("Proposal"),
    "negotiation": gettext_noop("Negotiation"),
    "won": gettext_noop("Won"),
    "lost": gettext_noop("Lost"),
    "renewal_due": gettext_noop("Renewal due"),
    "quoted": gettext_noop("Quoted"),
    "renewed": gettext_noop("Renewed"),
}


class StageKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("opportunity", "Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class OpportunityStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("opportunity", "Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class OpportunitySource(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EXHIBITION = "exhibition", _("Trade show")
    COLD_CALL = "cold_call", _("Cold call")
    ADVERTISING = "advertising", _("Advertising")
    PARTNER = "partner", _("Partner")
    EXISTING = "existing", _("Existing customer")
    OTHER = "other", _("Other")


# The fields a stage may require before an opportunity enters it (PipelineStage.requirements).
REQUIREMENT_FIELDS: dict[str, Any] = {
    "amount": _("Amount"),
    "expected_close_date": _("Expected close date"),
    "contact": _("Contact"),
    "next_step": _("Next step"),
    "source": _("Source"),
    "lines": _("Product lines"),
}


class Pipeline(models.Model):
    """A sales process (new business, renewal) with its ordered stages."""

    key = models.SlugField(_("key"), max_length=32, blank=True, help_text=_("Set for the default pipelines."))
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return translated_default(self.name, DEFAULT_PIPELINES, self.key)


class PipelineStage(models.Model):
    """A step of a pipeline: its default probability and forecast category, whether it is
    open, won or lost, and what an opportunity needs to enter it."""

    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages")
    key = models.SlugField(_("key"), max_length=32, blank=True, help_text=_("Set for the default stages."))
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    probability = models.DecimalField(_("probability (%)"), max_digits=5, decimal_places=2, validators=PERCENT)
    kind = models.CharField(_("kind"), max_length=8, choices=StageKind.choices, default=StageKind.OPEN)
    forecast_category = models.CharField(
        _("forecast category"), max_length=16, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    requirements = models.JSONField(
        _("required to enter"), default=list, blank=True, help_text=_("Fields an opportunity needs to enter the stage.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline stage")
        verbose_name_plural = _("pipeline stages")
        ordering = ["pipeline", "order", "id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return translated_default(self.name, DEFAULT_STAGE_NAMES, self.key)

    @property
    def is_open(self) -> bool:
        return self.kind == StageKind.OPEN


class Opportunity(BaseRecord):
    """A possible sale to a customer (R9), moving through the stages of its pipeline."""

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities"
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(PipelineStage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    probability = models.DecimalField(
        _("probability (%)"), max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    forecast_category = models.CharField(
        _("forecast category"), max_length=16, choices=ForecastCategory.choices, blank=True
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=OpportunitySource.choices, blank=True)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    needs = models.ManyToManyField(
        "customers.Need", verbose_name=_("needs addressed"), blank=True, related_name="opportunities"
    )
    next_step = models.CharField(_("next step"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN, editable=False
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    lost_reason = models.CharField(_("lost reason"), max_length=500, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["pipeline", "status", "stage"], name="opp_board_idx"),
            models.Index(fields=["status", "expected_close_date"], name="opp_close_idx"),
            models.Index(fields=["owner", "status"], name="opp_owner_idx"),
            models.Index(fields=["customer", "status"], name="opp_customer_idx"),
            models.Index(fields=["-updated_at"], name="opp_updated_idx"),
        ]

    @property
    def weighted_amount(self) -> Decimal | None:
        if self.amount is None or self.probability is None:
            return None
        from kehu.sales.opportunities.calc import weighted

        return weighted(self.amount, self.probability, self.currency)


class OpportunityLine(models.Model):
    """A product line of an opportunity: quantity × unit price less the discount, the line's
    ``amount`` rounded to the opportunity's currency; the tax is shown separately."""

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opportunity_lines",
    )
    description = models.CharField(_("description"), max_length=255, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=4, default=Decimal("1"))
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=4)
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"), validators=PERCENT
    )
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, editable=False)
    tax_amount = models.DecimalField(_("tax"), max_digits=18, decimal_places=2, default=Decimal("0"), editable=False)

    class Meta:
        verbose_name = _("opportunity line")
        verbose_name_plural = _("opportunity lines")
        ordering = ["opportunity", "position", "id"]

    def __str__(self) -> str:
        return self.description or (str(self.product) if self.product_id else "")


class OpportunityStageChange(models.Model):
    """One move of an opportunity between stages, with the time it spent in the stage it
    left. Append-only."""

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        PipelineStage, verbose_name=_("from stage"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(PipelineStage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    seconds_in_previous = models.BigIntegerField(_("seconds in the previous stage"), null=True, blank=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["opportunity", "-at"], name="opp_stagechange_idx")]

    def __str__(self) -> str:
        before = self.from_stage.display_name if self.from_stage is not None else "—"
        return f"{before} → {self.to_stage.display_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise RuntimeError("The stage history is append-only.")
        super().save(*args, **kwargs)


class Quota(models.Model):
    """What a salesperson is expected to win in a month (``period_start``: its first day)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateField(_("month"))
    amount = models.DecimalField(_("quota"), max_digits=18, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(_("currency"), max_length=3)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["period_start", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "period_start"], name="opp_quota_unique_month")]

    def __str__(self) -> str:
        return f"{self.user} {self.period_start:%Y-%m}: {self.amount} {self.currency}"
